"""What the administrator looks at each day, as data: for ops_report and admin."""

import datetime
import re

from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ops import workers
from ops.models import ErrorGroup, ErrorHour, RateLimitHit, WorkerEvent
from ops.retention import start_of

DURATION = re.compile(r"(?P<amount>\d+)(?P<unit>[smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text, now=None):
    """A start time from "24h", "7d", "30m", a date or a date and time."""
    now = now or timezone.now()
    text = text.strip()
    if match := DURATION.fullmatch(text):
        return now - datetime.timedelta(**{UNITS[match["unit"]]: int(match["amount"])})
    try:
        moment, day = parse_datetime(text), parse_date(text)
    except ValueError:
        moment = day = None  # well-formed, but no such day
    if moment:
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    if day:
        return start_of(day)
    raise ValueError(
        f"cannot read {text!r}: use 24h, 7d, 30m, 2026-12-01 or an ISO time"
    )


def start_of_today(now=None):
    return start_of(timezone.localdate(now or timezone.now()))


def worker_exits(since):
    exits = WorkerEvent.objects.exits().filter(at__gte=since).order_by("-at")
    return [
        {
            "pid": event.pid,
            "cause": event.cause,
            "detail": event.detail,
            "planned": event.planned,
            "uptime": event.uptime,
            "at": event.at.isoformat(),
        }
        for event in exits[:500]
    ]


def error_groups(since):
    groups = ErrorGroup.objects.filter(last_seen__gte=since).order_by("-count")
    return [
        {
            "id": group.pk,
            "exception": group.exception,
            "location": group.location,
            "count": group.count,
            "first_seen": group.first_seen.isoformat(),
            "last_seen": group.last_seen.isoformat(),
            "status": group.status,
            "regression": group.is_regression,
        }
        for group in groups[:200]
    ]


def rate_limited(since):
    rows = (
        RateLimitHit.objects.filter(day__gte=timezone.localdate(since))
        .values("client", "user__username", "ip", "scope")
        .annotate(total=Sum("count"), last_at=Max("last_at"))
        .order_by("-total")
    )
    return [
        {
            "user": row["user__username"] or row["ip"] or row["client"],
            "scope": row["scope"],
            "count": row["total"],
            "last_at": row["last_at"].isoformat(),
        }
        for row in rows[:200]
    ]


def restarts_today(now=None):
    return workers.restarts_on(timezone.localdate(now or timezone.now()))


def build(since, now=None):
    """One object with everything the daily routine reads."""
    now = now or timezone.now()
    return {
        "since": since.isoformat(),
        "generated_at": now.isoformat(),
        "restarts_today": restarts_today(now),
        "restart_threshold": settings.OPS_RESTART_THRESHOLD,
        "worker_exits": worker_exits(since),
        "error_groups": error_groups(since),
        "rate_limited": rate_limited(since),
    }


def errors_per_hour(since):
    """{hour: failures}; each row's hour is already the start of its hour."""
    rows = (
        ErrorHour.objects.filter(hour__gte=since)
        .values("hour")
        .annotate(total=Sum("count"))
        .order_by("hour")
    )
    return {row["hour"]: row["total"] for row in rows}
