"""`duration_ms` on django-structlog's request_finished and request_failed lines.

django-structlog 11 logs no duration; its signals let us add one field
without a second event per request.
"""

import time

from django.dispatch import receiver
from django_structlog import signals


@receiver(signals.bind_extra_request_metadata, dispatch_uid="request_timing.start")
def start_clock(request, **kwargs):
    request.started_at = time.perf_counter()


@receiver(
    signals.bind_extra_request_finished_metadata, dispatch_uid="request_timing.finished"
)
@receiver(
    signals.bind_extra_request_failed_metadata, dispatch_uid="request_timing.failed"
)
def add_duration(request, log_kwargs, **kwargs):
    started_at = getattr(request, "started_at", None)
    if started_at is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter() - started_at) * 1000, 2)
