from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models, transaction
from django.db.models import F, Sum
from django.utils import timezone

from projects.models import Phase, Project
from tracksystem.roles import can_read_all

MAX_HOURS_PER_DAY = Decimal("24")
DESCRIPTION_MAX_LENGTH = 2000


@dataclass(frozen=True)
class CountedHours:
    """What one entry adds to the stored totals of its project, its phase and
    its author's hours on the project."""

    user_id: int
    project_id: int
    phase_id: int | None
    hours: Decimal


def move_counted_hours(before=None, after=None):
    """Takes an entry's hours off the totals that counted them, `before` it
    changed, and adds them to the totals that count them `after`.

    Rows change in key order, projects first, so two entries moved in opposite
    directions at once wait for each other instead of deadlocking.
    """
    projects, phases = defaultdict(Decimal), defaultdict(Decimal)
    people = defaultdict(Decimal)
    for counted, sign in ((before, -1), (after, 1)):
        if counted is None:
            continue
        projects[counted.project_id] += sign * counted.hours
        if counted.phase_id is not None:
            phases[counted.phase_id] += sign * counted.hours
        people[counted.user_id, counted.project_id] += sign * counted.hours

    for model, changes in ((Project, projects), (Phase, phases)):
        for pk, hours in sorted(changes.items()):
            if hours:
                model.objects.filter(pk=pk).add_hours(hours)
    for (user_id, project_id), hours in sorted(people.items()):
        if hours:
            PersonHours.objects.add(user_id, project_id, hours)


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

    def counted_hours(self, pk):
        """The entry's hours as the stored totals hold them, locked until the
        transaction ends; None when it is gone."""
        row = (
            self.select_for_update()
            .filter(pk=pk)
            .values_list("user_id", "project_id", "phase_id", "hours")
            .first()
        )
        return CountedHours(*row) if row else None

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
    def counted(self):
        return CountedHours(self.user_id, self.project_id, self.phase_id, self.hours)

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


class PersonHoursQuerySet(models.QuerySet):
    def add(self, user_id, project_id, hours):
        """Adds `hours` (or takes them off) to one person's total on a project."""
        # Every write of one person's entries runs under the lock on their
        # user row (services.save_worklog), so the row cannot be made twice.
        changed = self.filter(user_id=user_id, project_id=project_id).update(
            hours_logged=F("hours_logged") + hours
        )
        if not changed:
            self.create(user_id=user_id, project_id=project_id, hours_logged=hours)

    def recount(self):
        """Sets every person's totals from the work logs."""
        totals = (
            WorkLog.objects.order_by()
            .values("user_id", "project_id")
            .annotate(hours=Sum("hours"))
        )
        with transaction.atomic():
            self.all().delete()
            return len(
                self.bulk_create(
                    PersonHours(
                        user_id=row["user_id"],
                        project_id=row["project_id"],
                        hours_logged=row["hours"],
                    )
                    for row in totals.iterator()
                )
            )


class PersonHours(models.Model):
    """The hours one person has logged on one project, kept by the services,
    so that a project's hours per engineer scan no history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="person_hours"
    )
    hours_logged = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), editable=False
    )

    objects = PersonHoursQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "person hours"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"], name="one_total_per_person_and_project"
            )
        ]

    def __str__(self):
        return f"{self.user_id} on {self.project_id}: {self.hours_logged}"
