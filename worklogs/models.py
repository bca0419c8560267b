from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.db.models import Sum
from django.utils import timezone

from projects.models import Phase, Project
from tracksystem.roles import can_read_all

MAX_HOURS_PER_DAY = Decimal("24")
DESCRIPTION_MAX_LENGTH = 2000


class WorkLogQuerySet(models.QuerySet):
    def visible_to(self, user):
        if can_read_all(user):
            return self
        return self.filter(user=user)

    def between(self, start=None, end=None):
        logs = self
        if start:
            logs = logs.filter(date__gte=start)
        if end:
            logs = logs.filter(date__lte=end)
        return logs

    def hours_on(self, user, date):
        total = self.filter(user=user, date=date).aggregate(total=Sum("hours"))["total"]
        return total or Decimal("0")


class WorkLog(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="worklogs"
    )
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="worklogs"
    )
    phase = models.ForeignKey(
        Phase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="worklogs",
    )
    date = models.DateField()
    hours = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        validators=[
            MinValueValidator(Decimal("0.01"), "Hours must be more than zero."),
            MaxValueValidator(
                MAX_HOURS_PER_DAY, "One entry can hold at most 24 hours."
            ),
        ],
    )
    description = models.TextField(
        max_length=DESCRIPTION_MAX_LENGTH,
        # TextField's max_length reaches forms only; the validators hold for
        # every path that calls full_clean().
        validators=[
            MaxLengthValidator(DESCRIPTION_MAX_LENGTH),
            ProhibitNullCharactersValidator(),
        ],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkLogQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "date"]),
            models.Index(fields=["project", "date"]),
            models.Index(fields=["date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=24),
                name="worklog_hours_between_0_and_24",
            )
        ]

    def __str__(self):
        return f"{self.user} {self.date} {self.hours}h {self.project.code}"

    @property
    def is_locked(self):
        """Entries of a done project no longer change."""
        return not self.project.is_open_for_logging

    def clean(self):
        """The rules one entry must follow on its own.

        The rule across entries (24 hours a day per person) needs a lock and
        lives in `worklogs.services`.
        """
        errors = {}
        if self.date and self.date > timezone.localdate():
            errors["date"] = "The date cannot be in the future."

        project = self.project if self.project_id else None
        if project is not None:
            if not project.is_open_for_logging:
                errors["project"] = (
                    "This project is done; hours can no longer be logged."
                )
            if self.phase_id is None:
                if project.phases.exists():
                    errors["phase"] = "Choose a phase of this project."
            elif self.phase.project_id != project.pk:
                errors["phase"] = "This phase belongs to another project."

        if errors:
            raise ValidationError(errors)
