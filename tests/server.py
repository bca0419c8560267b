"""A real gunicorn, started from gunicorn.conf.py, for tests that need one."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(database_url, *args):
    """Runs a management command against `database_url`; answers its stdout."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test"}
    result = subprocess.run(
        [BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env={**env, "HTTPS": "false"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def migrated_sqlite(directory):
    """A fresh SQLite database file with every migration applied."""
    url = f"sqlite:///{directory / 'db.sqlite3'}"
    manage(url, "migrate", "--noinput", "-v0")
    return url


@contextlib.contextmanager
def postgres_database(suite, suffix):
    """A migrated PostgreSQL database beside the suite's, for real servers.

    `suite` is the suite's database settings; the new one is named after it
    with `suffix`, so no test has to commit to the suite's own and flush it.
    Yields its URL and psycopg's connection arguments; drops it afterwards.
    """
    name = f"{suite['NAME']}_{suffix}"
    server = {
        "host": suite["HOST"] or "127.0.0.1",
        "port": suite["PORT"] or 5432,
        "user": suite["USER"],
        "password": suite["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    url = (
        f"postgres://{server['user']}{password}@{server['host']}:{server['port']}"
        f"/{name}"
    )
    try:
        manage(url, "migrate", "--noinput", "-v0")
        yield url, {**server, "dbname": name}
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class Server:
    def __init__(self, database_url, log_path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.errors_path = log_path.with_suffix(".stderr")
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test",
            "HTTPS": "false",
            "PORT": str(self.port),
            # Servers started beside each other share one disk cache, as the
            # workers of one machine do; Redis, when REDIS_URL is set, wins.
            "CACHE_DIR": str(log_path.parent / "cache"),
            **env,
        }
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 closed in stop()
        self.errors = open(self.errors_path, "ab")  # noqa: SIM115 closed in stop()
        self.process = subprocess.Popen(
            [BIN / "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.errors,
        )
        self.wait_until_serving()
        return self

    def wait_until_serving(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited: {self.stderr_text()[-2000:]}")
            try:
                if self.get("/health/live")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"gunicorn did not serve in {timeout}s")

    def get(self, path, headers=None, timeout=5):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        return self._send(request, timeout)

    def post_json(self, path, body, headers=None, timeout=10):
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        return self._send(request, timeout)

    def _send(self, request, timeout):
        """(status, headers, body), whatever the status."""
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def worker_pids(self):
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return {int(pid) for pid in result.stdout.split()}

    def wait_for_workers(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == count:
                return pids
            time.sleep(0.05)
        pytest.fail(f"expected {count} workers, saw {self.worker_pids()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.errors.close()

    def stdout_text(self):
        return self.log_path.read_text()

    def log_lines(self):
        """The server's stdout, one JSON object a line, each parsed."""
        return [json.loads(line) for line in self.stdout_text().splitlines()]

    def stderr_text(self):
        return self.errors_path.read_text()
