"""The real server, as `gunicorn -c gunicorn.conf.py` starts it."""

import json
import os
import signal
import subprocess
import time

import pytest

from tests.server import Server, manage, migrated_sqlite


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    return migrated_sqlite(tmp_path_factory.mktemp("server"))


@pytest.fixture
def server(database_url, tmp_path):
    server = Server(database_url, tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def test_server_runs_two_workers_and_answers_health(server):
    status, headers, body = server.get("/health/ready")

    assert status == 200
    assert json.loads(body)["checks"]["database"] == "ok"
    assert headers["X-Request-ID"]
    assert len(server.wait_for_workers(2)) == 2


def test_server_returns_the_incoming_request_id(server):
    status, headers, _ = server.get("/health/live", {"X-Request-ID": "trace-123"})

    assert status == 200
    assert headers["X-Request-ID"] == "trace-123"


def test_a_killed_worker_is_replaced_while_the_other_keeps_serving(server):
    before = server.wait_for_workers(2)
    victim = min(before)

    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert server.get("/health/live")[0] == 200
        after = server.worker_pids()
        if len(after) == 2 and victim not in after:
            break
        time.sleep(0.05)

    assert len(after) == 2
    assert victim not in after


def test_two_instances_on_one_host_do_not_collide(database_url, tmp_path):
    first = Server(database_url, tmp_path / "first.log").start()
    second = Server(database_url, tmp_path / "second.log").start()
    try:
        assert first.get("/health/live")[0] == 200
        assert second.get("/health/live")[0] == 200
    finally:
        second.stop()
        first.stop()


def test_ready_names_the_database_when_it_cannot_be_reached(tmp_path):
    unreachable = "postgres://postgres@127.0.0.1:9/none"
    server = Server(unreachable, tmp_path / "gunicorn.log").start()
    try:
        status, headers, body = server.get("/health/ready")
        live_status = server.get("/health/live")[0]
    finally:
        server.stop()

    assert status == 503
    assert headers["Retry-After"]
    assert json.loads(body)["failing"] == ["database"]
    assert live_status == 200


def test_the_master_opens_no_database_connection_before_the_fork(tmp_path):
    # With the database unreachable, a connection attempt during loading
    # would stop the master from starting at all.
    server = Server("postgres://postgres@127.0.0.1:9/none", tmp_path / "g.log").start()
    server.stop()

    assert "Booting worker" in (tmp_path / "g.log").read_text()


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: set DATABASE_URL to a postgres:// URL",
)
def test_connections_survive_postgresql_dropping_them(tmp_path):
    database = f"reconnect_{os.getpid()}"
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {database}"], check=True)
    url = f"{base}/{database}"
    try:
        manage(url, "migrate", "--noinput", "-v0")
        server = Server(url, tmp_path / "gunicorn.log", WEB_CONCURRENCY="1").start()
        try:
            assert server.get("/health/ready")[0] == 200
            # What a PostgreSQL restart does to the worker's kept connection.
            subprocess.run(
                [
                    *psql,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{database}'",
                ],
                check=True,
            )
            statuses = [server.get("/health/ready")[0] for _ in range(3)]
        finally:
            server.stop()
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])

    assert statuses == [200, 200, 200]


def test_the_server_logs_to_stdout_each_line_once(database_url, tmp_path):
    server = Server(database_url, tmp_path / "gunicorn.log")
    server.start()
    server.get("/health/live?once", {"X-Request-ID": "log-check-1"})
    server.stop()
    lines = server.log_lines()

    # Every line is JSON; the request shows once in Django's log and once in
    # gunicorn's access log, both with its id.
    for_request = [line for line in lines if line.get("request_id") == "log-check-1"]
    assert sorted(line["event"] for line in for_request) == [
        "gunicorn_access",
        "request_finished",
    ]
    assert any(line["event"].startswith("Booting worker") for line in lines)
    assert server.stderr_text().strip() == ""


def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500(tmp_path):
    server = Server("postgres://postgres@127.0.0.1:9/none", tmp_path / "g.log").start()
    try:
        api = server.get("/api/v1/projects/", {"Authorization": "Token " + "a" * 40})
        page = server.get("/projects/", {"Cookie": "sessionid=" + "b" * 32})
        workers_after = server.wait_for_workers(2)
    finally:
        server.stop()

    status, headers, body = api
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert json.loads(body)["code"] == "unavailable"
    status, headers, body = page
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert b"Back in a moment" in body
    assert len(workers_after) == 2
