"""Mail to the administrators, only when a person is needed, once an hour."""

import datetime

import structlog
from django.core.mail import mail_admins
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ops.models import AlertSent

log = structlog.get_logger(__name__)

QUIET_PERIOD = datetime.timedelta(hours=1)


def alert(cause, subject, body):
    """Mails the administrators about `cause` unless they were in the last hour.

    `cause` names what went wrong ("error_group:<fingerprint>",
    "restarts:<day>"); the claim on it is one atomic update or insert, so two
    workers noticing the same cause at once send one mail. Returns whether
    this call sent it.
    """
    now = timezone.now()
    try:
        if not _claim(cause, subject, now):
            return False
    except DatabaseError as error:
        log.error("alert_not_claimed", cause=cause, error=type(error).__name__)
        return False

    mail_admins(subject, body, fail_silently=True)
    log.warning("alert_sent", cause=cause, subject=subject)
    return True


def _claim(cause, subject, now):
    stale = AlertSent.objects.filter(cause=cause, last_sent_at__lte=now - QUIET_PERIOD)
    if stale.update(last_sent_at=now, subject=subject):
        return True
    try:
        with transaction.atomic():
            AlertSent.objects.create(cause=cause, last_sent_at=now, subject=subject)
    except IntegrityError:
        return False  # sent within the hour, by us or another worker
    return True
