"""Writes to work logs. Pages, the API and admin all go through here."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from tracksystem.formats import format_hours
from worklogs.models import MAX_HOURS_PER_DAY, WorkLog

EDITABLE_FIELDS = ("project", "phase", "date", "hours", "description")
DONE_PROJECT_MESSAGE = "This project is done; its entries can no longer change."


def create_worklog(*, user, project, date, hours, description, phase=None):
    worklog = WorkLog(
        user=user,
        project=project,
        phase=phase,
        date=date,
        hours=hours,
        description=description,
    )
    return save_worklog(worklog)


def update_worklog(worklog, **changes):
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    if not worklog.project.is_open_for_logging:
        raise ValidationError({"project": DONE_PROJECT_MESSAGE})

    for field, value in changes.items():
        setattr(worklog, field, value)
    return save_worklog(worklog)


def delete_worklog(worklog):
    if not worklog.project.is_open_for_logging:
        raise ValidationError({"project": DONE_PROJECT_MESSAGE})
    worklog.delete()


def save_worklog(worklog):
    """Validates the entry and saves it, holding its owner's day under a lock."""
    worklog.full_clean()

    with transaction.atomic():
        # Locking the person's row serialises their writes, so two entries
        # sent at once cannot both pass the daily check. SQLite ignores the
        # lock but its IMMEDIATE transactions (see settings) serialise all
        # writes anyway.
        get_user_model().objects.select_for_update().filter(pk=worklog.user_id).first()
        check_day_total(worklog)
        worklog.save()

    return worklog


def check_day_total(worklog):
    others = WorkLog.objects.exclude(pk=worklog.pk).hours_on(
        worklog.user_id, worklog.date
    )
    if others + worklog.hours > MAX_HOURS_PER_DAY:
        room = MAX_HOURS_PER_DAY - others
        raise ValidationError(
            {
                "hours": (
                    f"{format_hours(others)} hours are already logged on "
                    f"{worklog.date:%Y-%m-%d}; at most {format_hours(room)} more "
                    "fit in that day."
                )
            }
        )
