"""Throwaway PostgreSQL, Redis and gunicorn servers for the fault tests.

Each listens on a free port of its own, so a test may stop it, kill it or
starve it without disturbing anything else on the machine: not the suite's
database, not a Redis another process counts in.
"""

import glob
import http.client
import itertools
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from tests.server import Server, free_port, manage, migrated_sqlite

# Rates no fault test reaches, for the tests whose subject is not the limits.
UNLIMITED = {
    "RATELIMIT_BURST": "100000/10s",
    "RATELIMIT_SUSTAINED": "100000/5m",
    "RATELIMIT_WRITES": "100000/1m",
}

# The test settings: a view that hangs, and answers that name their worker.
FAULTS_SETTINGS = "tests.faults.settings"

# What a request can meet when the worker answering it dies.
NO_ANSWER = (OSError, http.client.HTTPException)

SEED = """
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from projects.models import Phase, Project
user = User.objects.create_user("ahmed", password="not-used")
user.groups.add(Group.objects.get(name="engineer"))
project = Project.objects.create(name="Villa Design Phase", code="VDP")
phases = [
    Phase.objects.create(project=project, name=name, position=position).pk
    for position, name in enumerate(["Concept", "Structural Design"], start=1)
]
token = Token.objects.create(user=user).key
print(json.dumps({"token": token, "project": project.pk, "phases": phases}))
"""


@dataclass
class Database:
    """A migrated database holding one engineer (with a token) and a project."""

    url: str
    token: str
    project: int
    phases: list

    def rows(self, sql):
        """The rows of `sql`, as dicts, read outside the server under test."""
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            with closing(sqlite3.connect(path)) as connection:
                connection.row_factory = sqlite3.Row
                return [dict(row) for row in connection.execute(sql)]
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            return conn.execute(sql).fetchall()

    def wait_for_rows(self, sql, count=1, timeout=10):
        """The rows of `sql` once there are `count` of them at least."""
        deadline = time.monotonic() + timeout
        while len(rows := self.rows(sql)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {count} rows in {timeout}s: {sql}")
            time.sleep(0.05)
        return rows


def seed(url):
    printed = manage(url, "shell", "-c", SEED).splitlines()[-1]
    return json.loads(printed)


# PostgreSQL ---------------------------------------------------------------


def postgres_bindir():
    """The folder of initdb, pg_ctl and postgres, or None where they are missing."""
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True
        )
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).resolve().parent))
    for folder in candidates:
        if folder and all(
            (Path(folder) / name).is_file() for name in ("initdb", "pg_ctl", "postgres")
        ):
            return Path(folder)
    return None


class PostgresCluster:
    """A cluster made with initdb in a temporary folder, on a free port.

    PostgreSQL refuses to run as root, so under root it runs as the
    `postgres` system user, in a folder that user owns, its socket there too.
    """

    def __init__(self, bindir):
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="tracksystem-faults-pg-"))
        self.data = self.folder / "data"
        self.as_owner = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create(self):
        self._run(
            "initdb",
            *("-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync"),
            *("-E", "UTF8", "--locale=C.UTF-8"),
        )
        return self.start()

    def start(self):
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.folder / "postgres.log"
        self._run("pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")
        return self

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self):
        if (self.data / "postmaster.pid").exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def admin(self, sql):
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql)

    def _run(self, program, *args):
        command = [*self.as_owner, self.bindir / program, *map(str, args)]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def postgres():
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("needs PostgreSQL's initdb, pg_ctl and postgres binaries")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL refuses root and there is no postgres user")
    cluster = PostgresCluster(bindir).create()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def postgres_template(postgres):
    """Migrated and seeded once; each test's database is a copy of it."""
    postgres.admin("CREATE DATABASE faults_template")
    url = postgres.url("faults_template")
    manage(url, "migrate", "--noinput", "-v0")
    return seed(url)


_numbers = itertools.count(1)


@pytest.fixture
def postgres_database(postgres, postgres_template):
    name = f"faults_{next(_numbers)}"
    postgres.admin(f'CREATE DATABASE "{name}" TEMPLATE faults_template')
    yield Database(postgres.url(name), **postgres_template)
    # The cluster may have been stopped by the test.
    if (postgres.data / "postmaster.pid").exists():
        postgres.admin(f'DROP DATABASE "{name}" WITH (FORCE)')


# SQLite, for the tests that need no PostgreSQL of their own -----------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    url = migrated_sqlite(tmp_path_factory.mktemp("faults-template"))
    return url.removeprefix("sqlite:///"), seed(url)


@pytest.fixture
def sqlite_database(sqlite_template, tmp_path):
    """A copy of one migrated file: migrating for each test costs seconds."""
    template, seeded = sqlite_template
    path = tmp_path / "db.sqlite3"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}", **seeded)


# Redis --------------------------------------------------------------------


class RedisServer:
    """A redis-server that keeps nothing on disk: stopped, it forgets its counts."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def redis_server():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    server = RedisServer().start()
    yield server
    if server.running:
        server.stop()


# gunicorn -----------------------------------------------------------------


@pytest.fixture
def serve(tmp_path):
    """`serve(database, **env)` starts a real gunicorn; all are stopped after."""
    servers = []

    def start(database, **env):
        # No Redis unless the test brings its own: never one someone else uses.
        env = {"REDIS_URL": "", **env}
        server = Server(database.url, tmp_path / f"gunicorn-{len(servers)}.log", **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def signed_in(database, **headers):
    """The headers of a request by the seeded engineer, with `headers`."""
    return {"Authorization": f"Token {database.token}", **headers}
