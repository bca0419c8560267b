import structlog
from django.db import DatabaseError
from django.dispatch import receiver

from ops.ratelimits import record_hit
from tracksystem.ratelimit.engine import rate_limited

log = structlog.get_logger(__name__)


@receiver(rate_limited, dispatch_uid="ops.record_rate_limit")
def record_rate_limit(sender, **event):
    event.pop("signal", None)
    try:
        record_hit(**event)
    except DatabaseError as error:
        # The refusal stands; the log line is the record when the database is out.
        log.error(
            "ratelimit_hit_not_recorded",
            client=event["client"],
            scope=event["scope"],
            error=type(error).__name__,
        )
