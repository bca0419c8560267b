"""Days in the firm's time zone, and keeping each record only so long."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


def start_of(day):
    """The first moment of `day` in the firm's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


class DailyPrune:
    """Deletes a model's rows older than OPS_RETENTION_DAYS, once a day a process.

    Called from the paths that write the rows, so no scheduler is needed; the
    first write of each day pays for one DELETE.
    """

    def __init__(self, model, field):
        self.model = model
        self.field = field
        self.pruned_on = None

    def __call__(self, now=None):
        now = now or timezone.now()
        today = timezone.localdate(now)
        if self.pruned_on == today:
            return

        cutoff = now - datetime.timedelta(days=settings.OPS_RETENTION_DAYS)
        if not isinstance(self.model._meta.get_field(self.field), models.DateTimeField):
            cutoff = timezone.localdate(cutoff)
        self.model.objects.filter(**{f"{self.field}__lt": cutoff}).delete()
        self.pruned_on = today
