from django.conf import settings
from django.db import models


class RateLimitHitQuerySet(models.QuerySet):
    def since(self, day):
        return self.filter(day__gte=day)


class RateLimitHit(models.Model):
    """How often one client tripped one limit on one day.

    One row per client, scope and day, counting the windows in which the
    client was refused at least once: a flood from one client adds to a
    count, never rows.
    """

    client = models.CharField(max_length=64, help_text="user:<id> or ip:<address>")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    scope = models.CharField(max_length=32)
    window = models.PositiveIntegerField(help_text="Seconds")
    day = models.DateField()
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    objects = RateLimitHitQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "scope", "day"], name="one_hit_row_per_client_day"
            )
        ]
        indexes = [models.Index(fields=["day", "scope"])]
        ordering = ["-last_at"]

    def __str__(self):
        return f"{self.client} · {self.scope} · {self.day}"
