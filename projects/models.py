from decimal import Decimal

from django.apps import apps
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

ZERO_HOURS = Decimal("0.00")
POSITIVE_BUDGET = "A budget must be more than zero hours; leave it empty for none."
# Ten digits, as the API shows them: a busy project's all-time total outgrows
# the eight of a budget within a few years.
HOURS_FIELD = models.DecimalField(max_digits=10, decimal_places=2)


def _stored_hours_field():
    return models.DecimalField(
        max_digits=10, decimal_places=2, default=ZERO_HOURS, editable=False
    )


class StoredHoursQuerySet(models.QuerySet):
    """Rows that keep the hours logged on them in `hours_logged`.

    `worklogs.services` adds and takes off the hours of every entry it saves
    or deletes, in the same transaction, so all-time totals scan no history.
    A write that skips the services (bulk_create, update(), SQL by hand)
    leaves them wrong until `recount_hours()` or `manage.py recount_totals`.
    """

    worklog_key = None  # the name of the work log's foreign key to these rows

    def add_hours(self, hours):
        """Adds `hours`, or takes them off when negative, without a read."""
        return self.update(hours_logged=F("hours_logged") + hours)

    def recount_hours(self):
        """Sets the stored totals from the work logs, in one UPDATE.

        The rows are locked first, so that on PostgreSQL an entry saved
        meanwhile is either in the recount or added after it, never lost.
        """
        with transaction.atomic():
            list(self.select_for_update().order_by("pk").values_list("pk"))
            return self.update(hours_logged=self._hours_of(self._worklogs_of_each()))

    def _worklogs_of_each(self, start=None, end=None):
        """Each row's work logs in the range, for a subquery on that row."""
        # Looked up by name: worklogs imports this module.
        WorkLog = apps.get_model("worklogs", "WorkLog")
        logs = WorkLog.objects.filter(**{self.worklog_key: OuterRef("pk")})
        return logs.between(start, end).order_by()

    def _hours_of(self, logs):
        """The sum of `logs`, a subquery on one row, in a single group."""
        total = logs.values(self.worklog_key).annotate(total=Sum("hours"))
        return Coalesce(
            Subquery(total.values("total")), ZERO_HOURS, output_field=HOURS_FIELD
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


class ProjectQuerySet(StoredHoursQuerySet):
    worklog_key = "project"

    def with_totals(self, start=None, end=None):
        """Hours logged and the last activity, in all or within a date range.

        Each figure reads at most the range's rows, or one row, through the
        work logs' (project, date) index; all time is the stored total.
        """
        logs = self._worklogs_of_each(start, end)
        # PostgreSQL may walk the (date) index back instead, which costs the
        # rows logged since a project's last entry: a lot for one long idle.
        last = logs.order_by("-date").values("date")[:1]
        logged = self._hours_of(logs) if start or end else F("hours_logged")
        return self.annotate(logged_hours=logged, last_activity=Subquery(last))

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
    hours_logged = _stored_hours_field()
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


class PhaseQuerySet(StoredHoursQuerySet):
    worklog_key = "phase"

    def with_totals(self, start=None, end=None):
        if not (start or end):
            return self.annotate(logged_hours=F("hours_logged"))

        # Narrowed by project too, so the range is read through the project's
        # (project, date) index rather than every entry of the phase.
        logs = self._worklogs_of_each(start, end)
        logs = logs.filter(project=OuterRef("project_id"))
        return self.annotate(logged_hours=self._hours_of(logs))


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
    hours_logged = _stored_hours_field()

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
