from django.conf import settings
from django.db import models


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


class ErrorGroupQuerySet(models.QuerySet):
    def needing_attention(self):
        return self.filter(status=ErrorGroup.Status.OPEN)


class ErrorGroup(models.Model):
    """Every unhandled exception with one fingerprint: its type and own frames."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        IGNORED = "ignored"

    fingerprint = models.CharField(max_length=64, unique=True)
    exception = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    location = models.CharField(
        max_length=300, help_text="path/to/file.py:LINE of the innermost own frame"
    )
    function = models.CharField(max_length=300, blank=True)
    count = models.PositiveBigIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    regressed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it came back after being resolved"
    )
    users = models.JSONField(default=list, blank=True)
    paths = models.JSONField(default=list, blank=True)

    objects = ErrorGroupQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["status", "-last_seen"])]

    def __str__(self):
        return f"{self.exception} at {self.location}"

    @property
    def is_regression(self):
        return self.regressed_at is not None and self.status == self.Status.OPEN


class ErrorSample(models.Model):
    """One recent occurrence of a group; a group keeps a few, in a ring."""

    group = models.ForeignKey(
        ErrorGroup, on_delete=models.CASCADE, related_name="samples"
    )
    slot = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    request_id = models.CharField(max_length=128, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    message = models.TextField(blank=True)
    traceback = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "slot"], name="one_sample_per_slot"
            )
        ]
        ordering = ["-at"]

    def __str__(self):
        return f"{self.group.exception} at {self.at:%Y-%m-%d %H:%M:%S}"


class ErrorHour(models.Model):
    """How many times a group happened in one hour: the errors-per-hour chart."""

    group = models.ForeignKey(
        ErrorGroup, on_delete=models.CASCADE, related_name="hours"
    )
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "hour"], name="one_row_per_group_hour"
            )
        ]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self):
        return f"{self.group_id} at {self.hour:%Y-%m-%d %H:00}: {self.count}"


class WorkerEventQuerySet(models.QuerySet):
    def exits(self):
        return self.filter(kind=WorkerEvent.Kind.EXIT)

    def restarts(self):
        """Exits that nobody planned: crashes, kills, timeouts."""
        return self.exits().filter(planned=False)


class WorkerEvent(models.Model):
    """A gunicorn worker that booted or exited, as its master saw it."""

    class Kind(models.TextChoices):
        BOOT = "boot"
        EXIT = "exit"

    class Cause(models.TextChoices):
        BOOTED = "booted"
        SIGNAL = "signal", "killed by a signal"
        EXIT_CODE = "exit_code", "exited with an error code"
        TIMEOUT = "timeout", "timed out"
        BOOT_FAILED = "boot_failed", "failed to boot"
        MAX_REQUESTS = "max_requests", "recycled after max_requests"
        STOPPED = "stopped", "stopped by the master (reload or shutdown)"
        UNKNOWN = "unknown"

    kind = models.CharField(max_length=4, choices=Kind)
    pid = models.PositiveIntegerField()
    cause = models.CharField(max_length=12, choices=Cause)
    detail = models.CharField(
        max_length=100, blank=True, help_text="SIGKILL, code 1, ..."
    )
    planned = models.BooleanField(default=False)
    uptime = models.FloatField(null=True, blank=True, help_text="Seconds")
    host = models.CharField(max_length=255, blank=True)
    master_pid = models.PositiveIntegerField(null=True, blank=True)
    slot = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Which of its master's workers: a replacement takes the slot "
        "of the one it replaces",
    )
    at = models.DateTimeField()

    objects = WorkerEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["kind", "at"])]

    def __str__(self):
        return f"worker {self.pid} {self.kind} ({self.cause})"


class AlertSent(models.Model):
    """When the administrators were last mailed about one cause."""

    cause = models.CharField(max_length=200, unique=True)
    last_sent_at = models.DateTimeField()
    subject = models.CharField(max_length=300)

    def __str__(self):
        return self.cause
