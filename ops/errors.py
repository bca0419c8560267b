"""Grouping unhandled exceptions by where they happen in our own code."""

import atexit
import datetime
import functools
import hashlib
import json
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ops.alerts import alert
from ops.models import ErrorGroup, ErrorHour, ErrorSample
from ops.retention import DailyPrune
from tracksystem.request_id import current_request_id

log = structlog.get_logger(__name__)

# The innermost frames of our own code that make a fingerprint. Module and
# function, not line: an edit that moves a line keeps its group.
FINGERPRINT_FRAMES = 3
AFFECTED_KEPT = 20
# After the first few samples of a group, a worker adds one at most this often.
SAMPLE_INTERVAL = 10.0
ROOT = Path(settings.BASE_DIR).resolve()

_sampled_at = {}
_prune_hours = DailyPrune(ErrorHour, "hour")


@dataclass(frozen=True)
class Occurrence:
    fingerprint: str
    exception: str
    message: str
    location: str
    function: str
    request_id: str
    method: str
    path: str
    user_id: int | None
    username: str
    error: BaseException

    @property
    def traceback(self):
        # Formatted only when a sample is kept: most of a storm is not.
        return "".join(traceback.format_exception(self.error))[-20000:]

    @classmethod
    def of(cls, error, request):
        frames = traceback.extract_tb(error.__traceback__)
        own = [frame for frame in frames if _own_file(frame.filename)] or frames[-1:]
        innermost = own[-1] if own else None
        places = [f"{_module(frame.filename)}.{frame.name}" for frame in own]
        exception = _qualified_name(type(error))
        key = "|".join([exception, *places[-FINGERPRINT_FRAMES:]])
        user = _user_of(request)
        return cls(
            fingerprint=hashlib.sha256(key.encode()).hexdigest(),
            exception=exception,
            message=str(error)[:2000],
            location=_location(innermost),
            function=places[-1] if places else "",
            request_id=getattr(request, "request_id", "") or current_request_id(),
            method=getattr(request, "method", "") or "",
            path=(getattr(request, "path", "") or "")[:500],
            user_id=user.pk if user else None,
            username=user.get_username() if user else "",
            error=error,
        )


def record(error, request):
    """Counts `error` in its group; never raises, whatever broke."""
    if not settings.OPS_RECORD_ERRORS:
        return
    try:
        occurrence = Occurrence.of(error, request)
    except Exception as failure:  # a broken request object must not hide the error
        log.error("error_not_recorded", error=type(failure).__name__, stage="read")
        return

    if pending.hold(occurrence):
        flush_if_due()
        return
    _write_safely(occurrence, 1, {occurrence.username}, {occurrence.path})
    pending.written(occurrence.fingerprint)


class Pending:
    """Repeats of the groups this worker has written, counted in memory.

    The first occurrence of a group in a worker is written at once, so a new
    error or a regression is seen and alerted without delay; its repeats are
    added up here and written together at most every
    OPS_ERROR_FLUSH_SECONDS. An error storm costs the failing requests a
    dictionary update instead of a database write each. A worker killed
    outright loses at most that long of repeats; one that exits normally
    writes them first.
    """

    KNOWN_KEPT = 1000

    def __init__(self):
        self.lock = threading.Lock()
        self.known = OrderedDict()
        self.repeats = {}
        self.flushed_at = time.monotonic()

    def hold(self, occurrence):
        if settings.OPS_ERROR_FLUSH_SECONDS <= 0:
            return False
        with self.lock:
            if occurrence.fingerprint not in self.known:
                return False
            repeat = self.repeats.setdefault(occurrence.fingerprint, Repeat())
            repeat.add(occurrence)
        return True

    def written(self, fingerprint):
        with self.lock:
            self.known[fingerprint] = True
            self.known.move_to_end(fingerprint)
            while len(self.known) > self.KNOWN_KEPT:
                self.known.popitem(last=False)

    def due(self):
        elapsed = time.monotonic() - self.flushed_at
        return bool(self.repeats) and elapsed >= settings.OPS_ERROR_FLUSH_SECONDS

    def take(self):
        with self.lock:
            repeats, self.repeats = self.repeats, {}
            self.flushed_at = time.monotonic()
        return repeats.values()

    def forget(self):
        with self.lock:
            self.known.clear()
            self.repeats.clear()


@dataclass
class Repeat:
    latest: Occurrence = None
    count: int = 0
    users: set = field(default_factory=set)
    paths: set = field(default_factory=set)

    def add(self, occurrence):
        self.latest = occurrence
        self.count += 1
        if len(self.users) < AFFECTED_KEPT:
            self.users.add(occurrence.username)
        if len(self.paths) < AFFECTED_KEPT:
            self.paths.add(occurrence.path)


pending = Pending()


def flush_if_due():
    if pending.due():
        flush()


def flush():
    """Writes the repeats counted in memory; called on a timer and at exit."""
    for repeat in pending.take():
        _write_safely(repeat.latest, repeat.count, repeat.users, repeat.paths)


atexit.register(flush)


def _write_safely(occurrence, count, users, paths):
    try:
        _write(occurrence, count, users, paths)
    except Exception as failure:  # the database may be what failed
        log.error(
            "error_not_recorded",
            fingerprint=occurrence.fingerprint,
            exception=occurrence.exception,
            location=occurrence.location,
            request_id=occurrence.request_id,
            count=count,
            error=type(failure).__name__,
        )


def _write(occurrence, count, users, paths):
    now = timezone.now()
    with transaction.atomic():
        _commit_without_waiting_for_the_disk()
        group = _count(occurrence, count, now)
        _add_affected(group, users, paths)
        _sample(group, occurrence, now)
    _prune_hours(now)

    if group.count == count:
        log.warning("error_group_new", group_id=group.pk, location=occurrence.location)
        _alert(occurrence, group.pk, "new_error", "New error")
    elif group.regressed_at == now:
        log.warning(
            "error_group_regressed", group_id=group.pk, location=occurrence.location
        )
        _alert(occurrence, group.pk, "regression", "Regression")


def _commit_without_waiting_for_the_disk():
    """A storm must not queue every failing request behind a disk flush.

    Measured here, waiting for PostgreSQL's WAL flush was most of what
    recording cost. This transaction's commit returns before the flush: a
    database crash in the next fraction of a second can lose the last few
    counts, never corrupt them. SQLite in WAL mode already commits so.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


@dataclass
class Counted:
    """The group's row as this occurrence left it."""

    pk: int
    count: int
    regressed_at: object
    users: list
    paths: list


# The ORM has no upsert that increments, and a storm needs the group and its
# hour counted in as few round trips as possible: one on PostgreSQL (the hour
# rides in a data-modifying WITH), two statements in one transaction on
# SQLite, which runs in-process. A resolved group is reopened in the same
# statement, and stamped with this occurrence's time as its regression.
UPSERT_GROUP = """
    INSERT INTO ops_errorgroup (fingerprint, exception, message, location, function,
        count, first_seen, last_seen, status, users, paths)
    VALUES (%(fingerprint)s, %(exception)s, %(message)s, %(location)s, %(function)s,
        %(count)s, %(now)s, %(now)s, 'open', '[]', '[]')
    ON CONFLICT (fingerprint) DO UPDATE SET
        count = ops_errorgroup.count + excluded.count,
        last_seen = excluded.last_seen,
        location = excluded.location,
        message = excluded.message,
        status = CASE WHEN ops_errorgroup.status = 'resolved' THEN 'open'
                 ELSE ops_errorgroup.status END,
        regressed_at = CASE WHEN ops_errorgroup.status = 'resolved'
                       THEN excluded.last_seen ELSE ops_errorgroup.regressed_at END
    RETURNING id, count, regressed_at, users, paths
"""
UPSERT_HOUR = """
    INSERT INTO ops_errorhour (group_id, hour, count) {source}
    ON CONFLICT (group_id, hour) DO UPDATE SET
        count = ops_errorhour.count + excluded.count
"""
UPSERT_HOUR_VALUES = UPSERT_HOUR.format(
    source="VALUES (%(group)s, %(hour)s, %(count)s)"
)
ONE_TRIP = f"""
    WITH grp AS ({UPSERT_GROUP}),
    hour AS ({UPSERT_HOUR.format(source="SELECT id, %(hour)s, %(count)s FROM grp")})
    SELECT id, count, regressed_at, users, paths FROM grp
"""  # noqa: S608 made of the constants above; values go in as parameters


def _count(occurrence, count, now):
    params = {
        "count": count,
        "fingerprint": occurrence.fingerprint,
        "exception": occurrence.exception,
        "message": occurrence.message,
        "location": occurrence.location,
        "function": occurrence.function,
        "now": _stored(now),
        "hour": _stored(now.replace(minute=0, second=0, microsecond=0)),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(ONE_TRIP, params)
            row = cursor.fetchone()
        else:
            cursor.execute(UPSERT_GROUP, params)
            row = cursor.fetchone()
            cursor.execute(UPSERT_HOUR_VALUES, {**params, "group": row[0]})
    return _counted(row, now)


def _counted(row, now):
    pk, count, regressed_at, users, paths = row
    return Counted(pk, count, _aware(regressed_at), _listed(users), _listed(paths))


def _aware(moment):
    # SQLite hands back text or a naive time in UTC, as it stores them.
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return moment


def _stored(moment):
    """A time as the ORM would store it, so raw rows read back like its own."""
    return connection.ops.adapt_datetimefield_value(moment)


def _listed(value):
    return json.loads(value) if isinstance(value, str) else list(value or [])


def _add_affected(group, users, paths):
    """Adds users and paths to the group's lists, up to AFFECTED_KEPT each.

    Two workers adding different values at the same instant can lose one of
    them; the samples still show both.
    """
    new_users = _with(group.users, users)
    new_paths = _with(group.paths, paths)
    if new_users != group.users or new_paths != group.paths:
        ErrorGroup.objects.filter(pk=group.pk).update(users=new_users, paths=new_paths)


def _with(values, additions):
    room = AFFECTED_KEPT - len(values)
    fresh = sorted(value for value in additions if value and value not in values)
    return [*values, *fresh[: max(room, 0)]]


def _sample(group, occurrence, now):
    """Keeps the latest few occurrences in a ring of slots per group."""
    kept = settings.OPS_SAMPLES_PER_GROUP
    recent = time.monotonic() - _sampled_at.get(group.pk, float("-inf"))
    if group.count > kept and recent < SAMPLE_INTERVAL:
        return
    _sampled_at[group.pk] = time.monotonic()

    ErrorSample.objects.update_or_create(
        group_id=group.pk,
        slot=(group.count - 1) % kept,
        defaults={
            "at": now,
            "request_id": occurrence.request_id,
            "method": occurrence.method,
            "path": occurrence.path,
            "user_id": occurrence.user_id,
            "message": occurrence.message,
            "traceback": occurrence.traceback,
        },
    )


def _alert(occurrence, group_id, cause, title):
    group_url = f"/admin/ops/errorgroup/{group_id}/change/"
    alert(
        f"{cause}:{occurrence.fingerprint}",
        f"{title}: {occurrence.exception} at {occurrence.location}",
        "\n".join(
            [
                f"{occurrence.exception}: {occurrence.message}",
                f"At {occurrence.location} ({occurrence.function})",
                f"Request {occurrence.method} {occurrence.path}, "
                f"id {occurrence.request_id}, user {occurrence.username or '-'}",
                f"Group: {group_url}",
                "",
                occurrence.traceback,
            ]
        ),
    )


@functools.lru_cache(maxsize=1024)
def _relative(filename):
    """The file's path inside the project, or None for a library's or Python's."""
    path = Path(filename)
    if not path.is_absolute():
        return None
    try:
        return path.resolve().relative_to(ROOT)
    except ValueError:
        return None


def _own_file(filename):
    relative = _relative(filename)
    if relative is None:
        return False
    # A virtualenv inside the project is still somebody else's code.
    outside = {"site-packages", "dist-packages"} & set(relative.parts)
    return not outside and not relative.parts[0].startswith(".")


def _module(filename):
    relative = _relative(filename)
    if relative is None:
        return Path(filename).stem
    return ".".join(relative.with_suffix("").parts)


def _location(frame):
    if frame is None:
        return "unknown"
    relative = _relative(frame.filename)
    path = relative.as_posix() if relative else frame.filename
    return f"{path}:{frame.lineno}"


def _qualified_name(kind):
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _user_of(request):
    # Reading request.user may itself need the database that just failed.
    try:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
    except Exception:  # noqa: S110 the user is a detail; the error is the record
        pass
    return None
