"""gunicorn workers that boot and exit, as the hooks in gunicorn.conf.py see them.

A worker records its own boot; the master records each exit, with the cause
it could know. Recording never raises into gunicorn: every event is logged
first, and a database that fails costs the row, not the server.
"""

import datetime
import socket
import time
from collections import defaultdict, deque

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from gunicorn.arbiter import Arbiter

from ops.alerts import alert
from ops.models import WorkerEvent
from ops.retention import DailyPrune, start_of

log = structlog.get_logger(__name__)

Cause = WorkerEvent.Cause
HOST = socket.gethostname()

# gunicorn halts the whole server when a worker exits with one of these.
BOOT_ERROR_CODES = {Arbiter.WORKER_BOOT_ERROR, Arbiter.APP_LOAD_ERROR}

# After a failed write the database is left alone for this long: in the
# master each attempt can wait for the connect timeout, and no replacement
# worker is forked while it waits.
DATABASE_RETRY_AFTER = 30.0
_database_down_until = 0.0
_prune = DailyPrune(WorkerEvent, "at")


def record_boot(*, pid, master_pid, slot):
    """Called in a worker once the application is loaded, before it serves."""
    try:
        log.info("worker_booted", pid=pid, master_pid=master_pid, slot=slot)
        event = WorkerEvent(
            kind=WorkerEvent.Kind.BOOT,
            pid=pid,
            cause=Cause.BOOTED,
            host=HOST,
            master_pid=master_pid,
            slot=slot,
            at=timezone.now(),
        )
        _save(event)
    except Exception:
        log.exception("worker_event_not_recorded", pid=pid, kind="boot")


def record_exit(*, pid, master_pid, slot, uptime, status, aborted, note):
    """Called in the master for a worker that is gone; see exit_cause()."""
    try:
        _record_exit(pid, master_pid, slot, uptime, status, aborted, note)
    except Exception:
        log.exception("worker_event_not_recorded", pid=pid, kind="exit")


def exit_cause(status, *, aborted, note):
    """What ended a worker, as (cause, detail, planned).

    `status` is the wait status as gunicorn decoded it into its log,
    ("signal", "SIGKILL") or ("exit_code", 1), and None when it logged none,
    which it does for exit code 0 alone. `aborted` is the master's mark of a
    worker it killed for silence. `note` is what a worker that was asked to
    stop (or chose to, after max_requests) wrote down as it left.
    """
    detail = _status_detail(status)
    if aborted:
        # A sync worker hung in a request turns the master's SIGABRT into an
        # exception, ends the request and leaves its loop: code 0, unlogged.
        return Cause.TIMEOUT, detail or "code 0", False
    if status is None:
        return _clean_exit_cause(note)

    kind, value = status
    if kind == "signal":
        return Cause.SIGNAL, detail, False
    if value in BOOT_ERROR_CODES:
        return Cause.BOOT_FAILED, detail, False
    return Cause.EXIT_CODE, detail, False


def _status_detail(status):
    if status is None:
        return ""
    kind, value = status
    return value if kind == "signal" else f"code {value}"


def _clean_exit_cause(note):
    reason = (note or {}).get("reason")
    if reason == "max_requests":
        return Cause.MAX_REQUESTS, f"after {note['requests']} requests", True
    if reason == "stopped":
        return Cause.STOPPED, "code 0", True
    # A clean exit nobody asked for, or a worker that left without its note.
    return Cause.UNKNOWN, "", False


def _record_exit(pid, master_pid, slot, uptime, status, aborted, note):
    cause, detail, planned = exit_cause(status, aborted=aborted, note=note)
    event = WorkerEvent(
        kind=WorkerEvent.Kind.EXIT,
        pid=pid,
        cause=cause,
        detail=detail,
        planned=planned,
        uptime=None if uptime is None else round(uptime, 3),
        host=HOST,
        master_pid=master_pid,
        slot=slot,
        at=timezone.now(),
    )
    _log_exit(event, slot)
    loop_length = crash_loops.exited(slot, uptime=uptime, planned=planned)
    if loop_length:
        log.error("worker_crash_loop", slot=slot, exits=loop_length, host=HOST)

    # Alerts need the database too: their once-an-hour claim lives there.
    if not _save(event):
        return
    _prune(event.at)
    if loop_length:
        _alert_crash_loop(event, loop_length)
    if not planned:
        _alert_past_threshold(timezone.localdate(event.at))


def _log_exit(event, slot):
    log_method = log.info if event.planned else log.warning
    log_method(
        "worker_exited",
        pid=event.pid,
        cause=event.cause,
        detail=event.detail,
        planned=event.planned,
        uptime=event.uptime,
        master_pid=event.master_pid,
        slot=slot,
    )


def _save(event):
    global _database_down_until
    if time.monotonic() < _database_down_until:
        log.error("worker_event_not_saved", pid=event.pid, error="recently_down")
        return False
    try:
        event.save()
    except DatabaseError as error:
        _database_down_until = time.monotonic() + DATABASE_RETRY_AFTER
        log.error("worker_event_not_saved", pid=event.pid, error=type(error).__name__)
        return False
    return True


class CrashLoopWatch:
    """Per worker slot, the recent unplanned exits that came soon after a boot.

    A slot is the place a worker holds among the master's workers, which its
    replacement takes over; it lives in the master's memory, not in the rows.
    """

    def __init__(self):
        self.quick_exits = defaultdict(deque)

    def exited(self, slot, *, uptime, planned):
        """How many quick exits in a row make this slot's loop; 0 for none."""
        exits = self.quick_exits[slot]
        if planned or uptime is None or uptime >= settings.OPS_CRASH_LOOP_UPTIME:
            exits.clear()
            return 0

        now = time.monotonic()
        exits.append(now)
        while now - exits[0] > settings.OPS_CRASH_LOOP_PERIOD:
            exits.popleft()
        return len(exits) if len(exits) >= settings.OPS_CRASH_LOOP_EXITS else 0


crash_loops = CrashLoopWatch()


def _alert_crash_loop(event, loop_length):
    alert(
        f"crash_loop:{HOST}",
        f"Workers on {HOST} are crash-looping",
        f"{loop_length} workers in one slot died within "
        f"{settings.OPS_CRASH_LOOP_UPTIME:g} s of booting, inside "
        f"{settings.OPS_CRASH_LOOP_PERIOD:g} s. The last: pid {event.pid}, "
        f"{event.get_cause_display()} {event.detail}, after {event.uptime} s.\n"
        "Admin: Operations > Worker events.",
    )


def _alert_past_threshold(day):
    restarts = restarts_on(day)
    threshold = settings.OPS_RESTART_THRESHOLD
    if restarts <= threshold:
        return

    log.warning(
        "worker_restarts_over_threshold",
        day=day.isoformat(),
        restarts=restarts,
        threshold=threshold,
    )
    alert(
        f"restarts:{day.isoformat()}",
        f"{restarts} worker restarts on {day.isoformat()}",
        f"{restarts} gunicorn workers exited unplanned on {day.isoformat()}, "
        f"more than the threshold of {threshold}.\n"
        "Admin: Operations > Worker events.",
    )


def restarts_on(day):
    """Unplanned exits on `day`, in the firm's time zone."""
    start, end = start_of(day), start_of(day + datetime.timedelta(days=1))
    return WorkerEvent.objects.restarts().filter(at__gte=start, at__lt=end).count()


def over_threshold(day):
    return restarts_on(day) > settings.OPS_RESTART_THRESHOLD


def exits_per_day(since):
    """{day: {"restarts": unplanned exits, "planned": planned ones}} since `since`."""
    rows = (
        WorkerEvent.objects.exits()
        .filter(at__gte=since)
        .annotate(day=TruncDate("at"))
        .values("day")
        .annotate(
            restarts=Count("id", filter=Q(planned=False)),
            planned=Count("id", filter=Q(planned=True)),
        )
        .order_by("day")
    )
    return {
        row["day"]: {"restarts": row["restarts"], "planned": row["planned"]}
        for row in rows
    }


def restarts_per_day(since):
    """{day: unplanned exits}, for the days that had any."""
    return {
        day: counts["restarts"]
        for day, counts in exits_per_day(since).items()
        if counts["restarts"]
    }


def restarts_per_worker(since):
    """Unplanned exits per worker slot of each server, with their causes.

    A replaced worker is a new process, so a pid never restarts twice; the
    slot it filled, in one master on one host, is what keeps losing workers.
    """
    rows = (
        WorkerEvent.objects.restarts()
        .filter(at__gte=since)
        .values("host", "master_pid", "slot", "cause")
        .annotate(total=Count("id"), last_at=Max("at"))
        .order_by("-last_at")
    )
    return list(rows)
