"""Worker boots and exits, from a real gunicorn and through the database."""

import datetime
import os
import queue
import runpy
import shutil
import signal
import socket
import sqlite3
import time
from contextlib import closing, suppress
from types import SimpleNamespace

import pytest
from django.db import OperationalError, connections
from django.utils import timezone
from gunicorn.config import Config
from structlog.testing import capture_logs

from ops import workers
from ops.models import WorkerEvent
from tests.server import ROOT, Server, migrated_sqlite
from tracksystem.server_logs import Logger

# A real server ------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory):
    return migrated_sqlite(tmp_path_factory.mktemp("workers")).removeprefix(
        "sqlite:///"
    )


@pytest.fixture
def database(migrated_template, tmp_path):
    """A migrated SQLite file of this test's own, shared with its gunicorn.

    Copied from one migrated file: migrating for each test costs seconds.
    """
    path = tmp_path / "db.sqlite3"
    shutil.copy(migrated_template, path)
    return path


@pytest.fixture
def serve(database, tmp_path):
    servers = []

    def start(**env):
        server = Server(f"sqlite:///{database}", tmp_path / "gunicorn.log", **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def events(database, **match):
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM ops_workerevent ORDER BY id")
        found = [dict(row) for row in rows]
    return [row for row in found if match.items() <= row.items()]


def wait_for(find, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := find():
            return found
        time.sleep(0.05)
    pytest.fail(f"nothing found in {timeout}s")


def test_a_worker_killed_with_sigkill_is_recorded_and_so_is_its_replacement(
    serve, database
):
    server = serve()
    first = server.wait_for_workers(2)
    wait_for(lambda: len(events(database, kind="boot")) == 2)
    victim = min(first)

    os.kill(victim, signal.SIGKILL)
    [exit_row] = wait_for(lambda: events(database, kind="exit", pid=victim))
    [boot_row] = wait_for(
        lambda: [e for e in events(database, kind="boot") if e["pid"] not in first]
    )

    assert exit_row["cause"] == "signal"
    assert exit_row["detail"] == "SIGKILL"
    assert exit_row["planned"] == 0
    assert exit_row["uptime"] > 0
    assert exit_row["master_pid"] == server.process.pid
    assert exit_row["host"] == socket.gethostname()
    assert boot_row["cause"] == "booted"
    assert boot_row["pid"] in server.worker_pids()
    assert boot_row["id"] > exit_row["id"]
    # The replacement takes over the slot of the worker it replaces.
    victim_boot = events(database, kind="boot", pid=victim)[0]
    assert boot_row["slot"] == exit_row["slot"] == victim_boot["slot"]


def test_a_worker_that_stops_answering_is_recorded_as_timed_out(serve, database):
    server = serve(
        WEB_CONCURRENCY="1", GUNICORN_TIMEOUT="2", GUNICORN_GRACEFUL_TIMEOUT="2"
    )
    [frozen] = server.wait_for_workers(1)

    os.kill(frozen, signal.SIGSTOP)
    try:
        [row] = wait_for(lambda: events(database, kind="exit", pid=frozen))
    finally:
        with suppress(ProcessLookupError):
            os.kill(frozen, signal.SIGCONT)

    assert (row["cause"], row["detail"], row["planned"]) == ("timeout", "SIGKILL", 0)
    assert row["uptime"] > 2


def test_a_worker_recycled_after_max_requests_is_planned_and_no_restart(
    serve, database
):
    server = serve(
        WEB_CONCURRENCY="1",
        GUNICORN_MAX_REQUESTS="5",
        GUNICORN_MAX_REQUESTS_JITTER="0",
    )
    [first] = server.wait_for_workers(1)

    def recycled():
        server.get("/health/live")
        return events(database, kind="exit", pid=first)

    [row] = wait_for(recycled)
    wait_for(lambda: [e for e in events(database, kind="boot") if e["pid"] != first])

    assert row["cause"] == "max_requests"
    assert row["detail"] == "after 5 requests"
    assert row["planned"] == 1
    assert events(database, kind="exit", planned=0) == []


def test_a_graceful_reload_records_the_old_workers_as_stopped(serve, database):
    server = serve()
    old = server.wait_for_workers(2)

    def old_workers_booted_and_exited():
        found = [e for e in events(database) if e["pid"] in old]
        return found if len(found) == 4 else None

    server.process.send_signal(signal.SIGHUP)
    rows = wait_for(old_workers_booted_and_exited)

    exits = [(e["cause"], e["planned"]) for e in rows if e["kind"] == "exit"]
    assert exits == [("stopped", 1), ("stopped", 1)]
    assert server.get("/health/live")[0] == 200


def test_gunicorn_writes_its_lines_as_json_once_each_with_the_request_id(serve):
    server = serve()
    server.get("/health/live?json", {"X-Request-ID": "json-line-1"})
    server.stop()

    lines = server.log_lines()
    [access] = [
        line
        for line in lines
        if line["event"] == "gunicorn_access" and line["request_id"] == "json-line-1"
    ]
    gunicorn_errors = [
        line["event"] for line in lines if line["logger"] == "gunicorn.error"
    ]

    assert access["logger"] == "gunicorn.access"
    assert (access["method"], access["path"], access["query"]) == (
        "GET",
        "/health/live",
        "json",
    )
    assert access["status"] == 200
    assert access["duration_ms"] > 0
    assert access["remote_addr"] == "127.0.0.1"
    assert access["timestamp"]
    assert len(gunicorn_errors) == len(set(gunicorn_errors))
    assert sum(e.startswith("Booting worker with pid") for e in gunicorn_errors) == 2
    assert sum(line["event"] == "worker_booted" for line in lines) == 2
    assert server.stderr_text().strip() == ""


# The master's side, through the test database ------------------------------


@pytest.fixture
def recording(db, settings, monkeypatch):
    """Fresh crash-loop memory and a reachable database for each test."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    settings.OPS_RESTART_THRESHOLD = 100
    settings.OPS_CRASH_LOOP_EXITS = 3
    settings.OPS_CRASH_LOOP_UPTIME = 10.0
    settings.OPS_CRASH_LOOP_PERIOD = 120.0
    monkeypatch.setattr(workers, "crash_loops", workers.CrashLoopWatch())
    monkeypatch.setattr(workers, "_database_down_until", 0.0)


def exited(pid=4000, slot=0, uptime=60.0, status=("signal", "SIGKILL"), **facts):
    workers.record_exit(
        pid=pid,
        master_pid=1,
        slot=slot,
        uptime=uptime,
        status=status,
        aborted=facts.pop("aborted", False),
        note=facts.pop("note", None),
    )


@pytest.mark.parametrize(
    ("status", "aborted", "note", "expected"),
    [
        (("signal", "SIGKILL"), False, None, ("signal", "SIGKILL", False)),
        (("signal", "SIGKILL"), True, None, ("timeout", "SIGKILL", False)),
        (("exit_code", 1), True, {"reason": "stopped"}, ("timeout", "code 1", False)),
        (None, True, {"reason": "stopped"}, ("timeout", "code 0", False)),
        (("exit_code", 1), False, None, ("exit_code", "code 1", False)),
        (("exit_code", 3), False, None, ("boot_failed", "code 3", False)),
        (("exit_code", 4), False, None, ("boot_failed", "code 4", False)),
        (
            None,
            False,
            {"reason": "max_requests", "requests": 7},
            ("max_requests", "after 7 requests", True),
        ),
        (None, False, {"reason": "stopped"}, ("stopped", "code 0", True)),
        (None, False, None, ("unknown", "", False)),
    ],
)
def test_the_cause_comes_from_the_status_the_timeout_mark_and_the_note(
    status, aborted, note, expected
):
    assert workers.exit_cause(status, aborted=aborted, note=note) == expected


def test_past_the_threshold_the_administrators_get_one_mail_an_hour(
    recording, mailoutbox, settings
):
    settings.OPS_RESTART_THRESHOLD = 3
    for pid in range(4000, 4003):
        exited(pid=pid)
    for pid in range(4100, 4110):
        exited(pid=pid, status=None, note={"reason": "max_requests", "requests": 9})
    assert mailoutbox == []

    with capture_logs() as logged:
        exited(pid=4003)
        exited(pid=4004)

    today = timezone.localdate().isoformat()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.endswith(f"4 worker restarts on {today}")
    assert mailoutbox[0].to == ["ops@example.com"]
    over = [e for e in logged if e["event"] == "worker_restarts_over_threshold"]
    assert [e["restarts"] for e in over] == [4, 5]
    assert workers.over_threshold(timezone.localdate())
    assert workers.restarts_per_day(timezone.now() - datetime.timedelta(hours=1)) == {
        timezone.localdate(): 5
    }


def test_one_slot_dying_soon_after_each_boot_is_a_crash_loop(recording, mailoutbox):
    with capture_logs() as logged:
        exited(pid=5000, slot=0, uptime=1.0)
        exited(pid=5001, slot=1, uptime=1.0)
        exited(pid=5002, slot=0, uptime=2.0)
        exited(pid=5003, slot=0, uptime=0.5)
        exited(pid=5004, slot=0, uptime=0.5)

    loops = [e for e in logged if e["event"] == "worker_crash_loop"]
    assert [(e["slot"], e["exits"]) for e in loops] == [(0, 3), (0, 4)]
    assert [mail.subject for mail in mailoutbox] == [
        f"[Django] Workers on {socket.gethostname()} are crash-looping"
    ]


def test_a_worker_that_lived_long_ends_the_loop_of_its_slot(recording, mailoutbox):
    exited(pid=5000, uptime=1.0)
    exited(pid=5001, uptime=1.0)
    exited(pid=5002, uptime=600.0)
    exited(pid=5003, uptime=1.0)
    exited(pid=5004, status=None, uptime=1.0, note={"reason": "stopped"})
    exited(pid=5005, uptime=1.0)

    assert mailoutbox == []


def test_a_failing_database_costs_the_row_but_never_raises(recording, monkeypatch):
    def fail(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(WorkerEvent, "save", fail)

    with capture_logs() as logged:
        exited(pid=6000)
        exited(pid=6001)
        workers.record_boot(pid=6002, master_pid=1, slot=0)

    names = [e["event"] for e in logged]
    assert names.count("worker_exited") == 2
    assert "worker_booted" in names
    assert [e["error"] for e in logged if e["event"] == "worker_event_not_saved"] == [
        "OperationalError",
        "recently_down",
        "recently_down",
    ]


def test_a_worker_that_fails_to_boot_is_recorded_as_the_server_halts(
    recording, tmp_path, monkeypatch
):
    # The master closes its connection after writing; the test's must stay.
    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    logger = Logger(Config())
    server = SimpleNamespace(log=logger, pid=os.getpid(), exit_notes=str(tmp_path))
    logger.error("Worker (pid:%s) exited with code %s.", 7001, 3)

    hooks["on_exit"](server)

    row = WorkerEvent.objects.get()
    assert (row.pid, row.cause, row.detail, row.planned) == (
        7001,
        "boot_failed",
        "code 3",
        False,
    )
    assert row.uptime is None
    assert closed == [True]
    assert not tmp_path.exists()


def booted_after(early_signal, hooks):
    """A worker that `early_signal` reached before its own handlers did."""
    signals = queue.SimpleQueue()
    signals.put(early_signal)
    worker = SimpleNamespace(pid=11, ppid=1, slot=0, alive=True)
    hooks["post_fork"](SimpleNamespace(SIG_QUEUE=signals), worker)
    hooks["post_worker_init"](worker)
    return worker


def test_a_stop_signal_that_comes_before_the_workers_handlers_is_not_lost(
    recording,
):
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert booted_after(signal.SIGTERM, hooks).alive is False
    assert booted_after(signal.SIGHUP, hooks).alive is True
    assert WorkerEvent.objects.filter(kind="boot").count() == 2


def test_the_logger_keeps_each_status_for_one_taker():
    logger = Logger(Config())

    logger.error("Worker (pid:%s) was sent %s! Perhaps out of memory?", 8, "SIGKILL")
    logger.info("Worker (pid:%s) was sent %s!", 9, "SIGTERM")

    assert logger.take_exit_status(8) == ("signal", "SIGKILL")
    assert logger.take_exit_status(8) is None
    assert logger.take_all_exit_statuses() == {9: ("signal", "SIGTERM")}


# Admin ----------------------------------------------------------------------


def restart(pid, cause="signal", planned=False, at=None):
    return WorkerEvent.objects.create(
        kind="exit",
        pid=pid,
        cause=cause,
        detail="SIGKILL" if cause == "signal" else "",
        planned=planned,
        uptime=12.5,
        host="web-1",
        master_pid=100,
        at=at or timezone.now(),
    )


def test_the_admin_warns_when_today_passes_the_threshold(
    client, administrator, settings
):
    settings.OPS_RESTART_THRESHOLD = 2
    for pid in (301, 302, 303):
        restart(pid)
    restart(304, cause="max_requests", planned=True)
    client.force_login(administrator)

    page = client.get("/admin/ops/workerevent/").content.decode()

    assert "3 unplanned worker restarts today, past the threshold of 2." in page
    assert "<td>3</td><td>1</td><td><strong>past the threshold</strong>" in page
    assert "12.5 s" in page
    assert "web-1" in page
    assert "max_requests" in page


def test_the_admin_says_nothing_under_the_threshold(client, administrator, settings):
    settings.OPS_RESTART_THRESHOLD = 2
    restart(301)
    restart(302, at=timezone.now() - datetime.timedelta(days=1))
    client.force_login(administrator)

    page = client.get("/admin/ops/workerevent/?planned__exact=0").content.decode()

    assert "past the threshold" not in page
    assert "<td>1</td><td>0</td><td></td>" in page


def test_the_admin_costs_the_same_queries_whatever_the_events(
    client, administrator, django_assert_num_queries
):
    client.force_login(administrator)
    restart(301)
    with django_assert_num_queries(ADMIN_QUERIES):
        client.get("/admin/ops/workerevent/")

    for pid in range(400, 430):
        restart(pid, cause="timeout" if pid % 2 else "signal")
    with django_assert_num_queries(ADMIN_QUERIES):
        assert client.get("/admin/ops/workerevent/").status_code == 200


# Session, user, the summary's two queries, the page's count and its events.
ADMIN_QUERIES = 6


def test_worker_events_are_read_only_and_for_staff(client, administrator, engineer):
    event = restart(301)
    client.force_login(engineer)
    assert client.get("/admin/ops/workerevent/").status_code == 302

    client.force_login(administrator)
    assert "web-1" in client.get("/admin/ops/workerevent/?q=301").content.decode()
    assert client.get("/admin/ops/workerevent/add/").status_code == 403
    page = client.get(f"/admin/ops/workerevent/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
