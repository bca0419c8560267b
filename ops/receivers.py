import sys

import structlog
from django.core.signals import got_request_exception, request_finished
from django.db import DatabaseError
from django.dispatch import receiver

from ops import errors
from ops.ratelimits import record_hit
from tracksystem.ratelimit.engine import rate_limited
from tracksystem.signals import error_answered

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


@receiver(got_request_exception, dispatch_uid="ops.record_unhandled_error")
def record_unhandled_error(sender, request=None, **kwargs):
    error = sys.exc_info()[1]
    if error is not None:
        errors.record(error, request)


@receiver(error_answered, dispatch_uid="ops.record_answered_error")
def record_answered_error(sender, request=None, exception=None, **kwargs):
    errors.record(exception, request)


@receiver(request_finished, dispatch_uid="ops.flush_error_repeats")
def flush_error_repeats(sender, **kwargs):
    errors.flush_if_due()
