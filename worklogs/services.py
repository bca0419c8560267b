"""Writes to work logs. Pages, the API and admin all go through here."""

import structlog
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from tracksystem.formats import format_hours
from worklogs.models import MAX_HOURS_PER_DAY, WorkLog, move_counted_hours

EDITABLE_FIELDS = ("project", "phase", "date", "hours", "description")
DONE_PROJECT_MESSAGE = "This project is done; its entries can no longer change."

log = structlog.get_logger(__name__)


def create_worklog(*, user, project, date, hours, description, phase=None):
    worklog = WorkLog(
        user=user,
        project=project,
        phase=phase,
        date=date,
        hours=hours,
        description=description,
    )
    save_worklog(worklog)

    log.info("worklog_created", worklog_id=worklog.pk, hours=str(worklog.hours))
    return worklog


def update_worklog(worklog, **changes):
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    _refuse_if_locked(worklog)

    for field, value in changes.items():
        setattr(worklog, field, value)
    save_worklog(worklog)

    log.info("worklog_updated", worklog_id=worklog.pk, fields=sorted(changes))
    return worklog


def delete_worklog(worklog):
    _refuse_if_locked(worklog)

    worklog_id = worklog.pk
    with transaction.atomic():
        # The stored row, not the instance: it may be stale, or already gone.
        counted = WorkLog.objects.counted_hours(worklog.pk)
        worklog.delete()
        move_counted_hours(before=counted)
    log.info("worklog_deleted", worklog_id=worklog_id)


def _refuse_if_locked(worklog):
    if worklog.is_locked:
        raise ValidationError({"project": DONE_PROJECT_MESSAGE})


def save_worklog(worklog):
    """Validates the entry and saves it, holding its owner's day under a lock,
    and moves its hours in the stored totals of projects and phases.

    The project's status is checked before the lock, so an entry sent at the
    very moment its project is closed can still be saved: locking the project
    for the whole check would serialise every entry on it, too high a price
    for so rare a race. Its stored total locks its row only from the update
    to the commit.
    """
    worklog.full_clean()

    with transaction.atomic():
        # Locking the person's row serialises their writes, so two entries
        # sent at once cannot both pass the daily check. SQLite ignores the
        # lock but its IMMEDIATE transactions (see settings) serialise all
        # writes anyway.
        get_user_model().objects.select_for_update().filter(pk=worklog.user_id).first()
        check_day_total(worklog)
        before = WorkLog.objects.counted_hours(worklog.pk) if worklog.pk else None
        worklog.save()
        # Last, so the project's row, which every writer on it updates, stays
        # locked for as short a time as the transaction allows.
        move_counted_hours(before, worklog.counted)

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
