"""Recording the rate limits' refusals, bounded whatever the traffic."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ops.models import RateLimitHit
from ops.retention import DailyPrune

# Past this many clients for one scope on one day, further clients share one
# row: a flood from many addresses adds to a count instead of to the table.
OVERFLOW_CLIENT = "others"

_prune = DailyPrune(RateLimitHit, "day")


def record_hit(*, client, user_id, ip, scope, window, at):
    """Adds one refused window of `client` in `scope` to its day's row."""
    day = timezone.localdate(at)
    if _count_in(client, scope, day, at):
        return

    clients_today = RateLimitHit.objects.filter(day=day, scope=scope).count()
    if clients_today >= settings.OPS_RATELIMIT_CLIENTS_PER_DAY:
        client, user_id, ip = OVERFLOW_CLIENT, None, None
        if _count_in(client, scope, day, at):
            return

    try:
        with transaction.atomic():
            RateLimitHit.objects.create(
                client=client,
                user_id=user_id,
                ip=ip,
                scope=scope,
                window=window,
                day=day,
                first_at=at,
                last_at=at,
            )
    except IntegrityError:
        # Another worker made the row between our update and our insert.
        _count_in(client, scope, day, at)
    _prune(at)


def _count_in(client, scope, day, at):
    rows = RateLimitHit.objects.filter(client=client, scope=scope, day=day)
    return rows.update(count=F("count") + 1, last_at=at) > 0
