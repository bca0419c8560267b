"""What the benches share: real gunicorns, the database, and the load.

A bench starts servers from gunicorn.conf.py with an environment of its own,
drives them with wrk (bench/load.lua) or, without it, Python processes with
one connection each, and gets back what every response was, so it can stop
on the first unexpected one instead of measuring errors.
"""

import contextlib
import http.client
import json
import multiprocessing
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK_SCRIPT = Path(__file__).with_name("load.lua")

# Rates nobody reaches during a bench: the limits count, never refuse.
UNREACHABLE_RATES = {
    "RATELIMIT_BURST": "1000000/10s",
    "RATELIMIT_SUSTAINED": "100000000/5m",
    "RATELIMIT_STAFF_BURST": "1000000/10s",
    "RATELIMIT_STAFF_SUSTAINED": "100000000/5m",
}


class BenchError(Exception):
    """Something broke: the numbers of this run mean nothing."""

    def __init__(self, message, details=""):
        super().__init__(message)
        self.details = details


def clean_env(**settings):
    """The environment of every command and server: ours, not the shell's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(
            ("RATELIMIT_", "GUNICORN_", "DATABASE_", "REDIS_", "DJANGO_")
        )
    }
    env.update(
        SECRET_KEY="bench",  # noqa: S106 a throwaway server's key
        HTTPS="false",
        **settings,
    )
    return env


def manage(env, *args):
    result = subprocess.run(  # noqa: S603 our own manage.py, fixed arguments
        [BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise BenchError(f"manage.py {args[0]} failed", result.stderr[-3000:])
    return result.stdout


def recreate_database(database_url, *, keep=False):
    """A new, empty PostgreSQL database; with `keep`, an existing one stays."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if keep and found:
            return
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


# --- Servers ----------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn from gunicorn.conf.py, its output in files under `logs`."""

    def __init__(self, name, env, logs):
        self.name = name
        self.port = free_port()
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log_path = logs / f"{name}.log"
        self.process = None

    def start(self):
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 our own gunicorn
                [BIN / "gunicorn", "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_until_serving()

    def wait_until_serving(self, timeout=30):
        """Until it answers and every worker is up, not only the first."""
        workers = int(self.env.get("WEB_CONCURRENCY", "2"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited", self.log_tail())
            with contextlib.suppress(OSError):
                serving = self.get("/health/live")[0] == 200
                if serving and len(self.worker_pids()) == workers:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not serve in {timeout}s", self.log_tail())

    def get(self, path, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def worker_pids(self):
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except FileNotFoundError as error:
            raise BenchError(f"{self.name} lost its master", self.log_tail()) from error
        return frozenset(int(child) for child in children.split())

    def worker_cpu(self):
        """The workers' pids, and the CPU seconds they have used so far."""
        workers = self.worker_pids()
        try:
            return workers, sum(map(cpu_seconds_of, workers))
        except FileNotFoundError as error:
            raise BenchError(f"{self.name} lost a process", self.log_tail()) from error

    def log_lines(self):
        """The server's output, one JSON object per line; anything else skipped."""
        lines = []
        for text in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(text))
        return lines

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines=30):
        return "\n".join(
            self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )


def cpu_seconds_of(pid):
    # /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after
    # the command name, which may itself hold spaces and parentheses.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def servers(variants, env, logs):
    """Starts one server per variant (name -> extra env); stops them all."""
    started = {}
    try:
        for name, extra in variants.items():
            started[name] = Server(name, {**env, **extra}, logs)
            started[name].start()
        yield started
    finally:
        for server in started.values():
            server.stop()


# --- Load -------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str = ""


@dataclass
class Load:
    """What one measurement sent and got back."""

    requests: int
    seconds: float
    ok: int
    with_header: int
    errors: int
    p50_ms: float
    p99_ms: float
    # Requests sent after every line of a send-once list was used up.
    exhausted: int = 0
    worker_cpu_seconds: float = 0.0
    # The whole Redis server's, other clients included.
    redis_cpu_seconds: float = 0.0

    @property
    def per_second(self):
        return self.requests / self.seconds

    @property
    def failed(self):
        return self.requests - self.ok + self.errors

    @property
    def worker_cpu_ms_per_request(self):
        return 1000 * self.worker_cpu_seconds / self.requests

    @property
    def redis_cpu_ms_per_request(self):
        return 1000 * self.redis_cpu_seconds / self.requests

    @property
    def cpu_ms_per_request(self):
        """Workers' and Redis's CPU per request; the database's is left out."""
        return self.worker_cpu_ms_per_request + self.redis_cpu_ms_per_request


def check(load, *, expected_header=None):
    """Problems with a measurement, as words; none when every response was right.

    `expected_header`: how many responses must carry a RateLimit field.
    """
    problems = []
    if load.requests == 0:
        problems.append("no responses")
    if load.errors:
        problems.append(f"{load.errors} socket errors")
    if load.ok != load.requests:
        problems.append(
            f"{load.requests - load.ok} of {load.requests} not the expected status"
        )
    if load.exhausted:
        problems.append(f"ran out of one-time requests ({load.exhausted} over)")
    if expected_header is not None and load.with_header != expected_header:
        problems.append(
            f"{load.with_header} of {load.requests} carry RateLimit, "
            f"expected {expected_header}"
        )
    return problems


class LoadGenerator:
    """wrk when `kind` is "wrk", else Python processes with one connection each."""

    def __init__(self, kind, connections):
        self.kind = kind
        self.connections = connections

    def run(self, port, requests, seconds, *, expected=200, once=False):
        """Sends `requests` in turn for `seconds`; with `once`, each at most once."""
        if self.kind == "wrk":
            return self._wrk(port, requests, seconds, expected, once)
        return self._python(port, requests, seconds, expected, once)

    def start_wrk(self, port, requests, seconds, *, expected=200, once=False):
        """wrk in the background, for measurements taken while it runs."""
        request_file = _request_file(requests)
        command = self._wrk_command(port, request_file, seconds, expected, once)
        process = subprocess.Popen(  # noqa: S603 wrk with our arguments
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        return process, request_file

    def finish_wrk(self, process, request_file, seconds):
        try:
            stdout, stderr = process.communicate(timeout=seconds + 30)
        finally:
            os.unlink(request_file)
        return _wrk_result(process.returncode, stdout, stderr)

    def _wrk_command(self, port, request_file, seconds, expected, once):
        threads = min(2, self.connections)
        return [
            "wrk",
            f"--threads={threads}",
            f"--connections={self.connections}",
            f"--duration={seconds}s",
            "--timeout=25s",
            f"--script={WRK_SCRIPT}",
            f"http://127.0.0.1:{port}",
            "--",
            request_file,
            str(expected),
            "once" if once else "cycle",
            str(threads),
        ]

    def _wrk(self, port, requests, seconds, expected, once):
        process, request_file = self.start_wrk(
            port, requests, seconds, expected=expected, once=once
        )
        return self.finish_wrk(process, request_file, seconds)

    def _python(self, port, requests, seconds, expected, once):
        # Every client process starts and stops on the same clock, after all forked.
        start_at = time.monotonic() + 0.5
        stop_at = start_at + seconds
        results = multiprocessing.Queue()
        clients = [
            multiprocessing.Process(
                target=_python_client,
                args=(port, requests[number :: self.connections] if once else requests),
                kwargs={
                    "first": 0 if once else number,
                    "expected": expected,
                    "once": once,
                    "start_at": start_at,
                    "stop_at": stop_at,
                    "results": results,
                },
            )
            for number in range(self.connections)
        ]
        for client in clients:
            client.start()
        counts, latencies = Counter(), []
        try:
            for _ in clients:
                client_counts, client_latencies = results.get(timeout=seconds + 30)
                counts.update(client_counts)
                latencies.extend(client_latencies)
        except queue.Empty as error:
            raise BenchError("a Python client process did not report") from error
        finally:
            for client in clients:
                client.join(timeout=5)
        return Load(
            requests=counts["requests"],
            seconds=seconds,
            ok=counts["ok"],
            with_header=counts["with_header"],
            errors=counts["errors"],
            exhausted=counts["exhausted"],
            **_percentiles(latencies),
        )


def _request_file(requests):
    # One request a line, tab-separated: method, path, body, then headers.
    with tempfile.NamedTemporaryFile(
        "w", prefix="bench-requests-", suffix=".tsv", delete=False
    ) as listing:
        for request in requests:
            headers = [f"{name}: {value}" for name, value in request.headers.items()]
            fields = [request.method, request.path, request.body, *headers]
            if any("\t" in part or "\n" in part for part in fields):
                raise BenchError(f"a request cannot hold tabs or newlines: {request}")
            listing.write("\t".join(fields) + "\n")
    return listing.name


def _wrk_result(returncode, stdout, stderr):
    line = next(
        (line for line in stdout.splitlines() if line.startswith("BENCH_RESULT ")),
        None,
    )
    if returncode or line is None:
        raise BenchError("wrk failed", f"{stdout}\n{stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    return Load(
        requests=raw["responses"],
        seconds=raw["duration_us"] / 1e6,
        ok=raw["ok"],
        with_header=raw["with_header"],
        errors=raw["errors"],
        exhausted=raw["exhausted"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
    )


def _percentiles(latencies):
    if not latencies:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def _python_client(
    port, requests, *, first, expected, once, start_at, stop_at, results
):
    """One connection's requests, sent back to back until `stop_at`."""
    counts, latencies = Counter(), []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    time.sleep(max(0.0, start_at - time.monotonic()))
    position = first
    while time.monotonic() < stop_at:
        if once and position >= len(requests):
            counts["exhausted"] += 1
        request = requests[position % len(requests)]
        started = time.perf_counter()
        try:
            # http.client reconnects by itself when the server closes.
            connection.request(
                request.method,
                request.path,
                body=request.body or None,
                headers=request.headers,
            )
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            counts["errors"] += 1
            connection.close()
            continue
        latencies.append(time.perf_counter() - started)
        position += 1
        counts["requests"] += 1
        counts["ok"] += response.status == expected
        counts["with_header"] += response.getheader("RateLimit") is not None
    connection.close()
    results.put((dict(counts), latencies))
