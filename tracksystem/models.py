from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """One client-chosen key of one user: who is doing its work, or its answer.

    The rules live in tracksystem.idempotency.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="sha256 of the method, path and body"
    )
    status = models.CharField(max_length=9, choices=Status, default=Status.RUNNING)
    owner = models.CharField(
        max_length=32, help_text="Token of the request doing the work"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(help_text="When the owner took the key")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=list, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="one_idempotency_key_per_user"
            )
        ]
        # Expired keys are deleted per user whenever that user claims one.
        indexes = [
            models.Index(fields=["user", "created_at"], name="idempotency_key_expiry")
        ]

    def __str__(self):
        return f"{self.key[:8]}… · {self.status}"
