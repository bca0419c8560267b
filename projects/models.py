from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Max, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

ZERO_HOURS = Decimal("0.00")
POSITIVE_BUDGET = "A budget must be more than zero hours; leave it empty for none."
HOURS_FIELD = models.DecimalField(max_digits=8, decimal_places=2)


def _worklogs_between(start, end):
    """The filter that narrows totals to the work logs of a date range."""
    condition = Q()
    if start:
        condition &= Q(worklogs__date__gte=start)
    if end:
        condition &= Q(worklogs__date__lte=end)
    return condition


def _logged_hours(logged):
    return Coalesce(
        Sum("worklogs__hours", filter=logged), ZERO_HOURS, output_field=HOURS_FIELD
    )


class BudgetProgress:
    """Budget figures for an object annotated with `logged_hours`."""

    @property
    def budget_percent(self):
        if self.budget_hours is None:
            return None
        return round(self.logged_hours / self.budget_hours * 100)

    @property
    def bar_percent(self):
        """The width of a progress bar, which stops at full."""
        return min(self.budget_percent or 0, 100)

    @property
    def is_over_budget(self):
        return self.budget_hours is not None and self.logged_hours > self.budget_hours


class ProjectQuerySet(models.QuerySet):
    def with_totals(self, start=None, end=None):
        """Hours logged and the last activity, computed by the database."""
        logged = _worklogs_between(start, end)
        return self.annotate(
            logged_hours=_logged_hours(logged),
            last_activity=Max("worklogs__date", filter=logged),
        )

    def open_for_logging(self):
        return self.exclude(status=Project.Status.DONE)


class Project(BudgetProgress, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        DONE = "done", "Done"

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=32, unique=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    budget_hours = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"), POSITIVE_BUDGET)],
        help_text="Leave empty when the project has no budget.",
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("project-detail", args=[self.pk])

    @property
    def is_open_for_logging(self):
        return self.status != self.Status.DONE


class PhaseQuerySet(models.QuerySet):
    def with_totals(self, start=None, end=None):
        return self.annotate(logged_hours=_logged_hours(_worklogs_between(start, end)))


class Phase(BudgetProgress, models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="phases"
    )
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(
        default=0, help_text="Order within the project."
    )
    budget_hours = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"), POSITIVE_BUDGET)],
    )

    objects = PhaseQuerySet.as_manager()

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name"], name="phase_name_unique_in_project"
            )
        ]

    def __str__(self):
        return self.name
