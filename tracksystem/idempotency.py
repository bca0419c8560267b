"""Idempotency-Key: a retried write is done once and its first answer replayed.

A signed-in client that sends the header with a write gets, for the same key
and the same request within IDEMPOTENCY_KEY_TTL, the first answer again,
marked `Idempotent-Replayed: true`, instead of the work done twice. Keys
belong to their user: another user's same key is a key of their own. Only
answers that did the work are kept (under 400 in the API, a redirect from a
page); any other answer or an exception frees the key, so that a corrected
retry runs for real.

Exactly once, even when a worker is killed at any moment: the key is claimed
in a short transaction of its own; the view then runs in a second one, which
also stores the answer on condition that the request still owns the key. The
work and its stored answer commit together or not at all. A claim still
running after IDEMPOTENCY_LOCK_TIMEOUT, which outlasts gunicorn's worker
timeout, was left by a dead worker and is taken over by the next retry.

drf-idempotency and django-idempotency-key were considered and not used:
both store the answer in a step apart from the view's transaction, so a
worker killed between the two lets a later retry do the work again, and both
keep one key space for all users.
"""

import hashlib
import json
import re
import uuid
from datetime import timedelta
from functools import wraps

import structlog
from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema

from tracksystem.errors import error_body
from tracksystem.models import IdempotencyKey

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
# What a replay carries of the first answer. The rest (cookies, request id,
# rate limits) belongs to the request that receives the replay.
STORED_HEADERS = ("content-type", "location")
STORED_HEADER_PREFIX = "hx-"

INVALID_MESSAGE = (
    "The Idempotency-Key header must be 1 to 255 visible ASCII characters."
)
REUSED_MESSAGE = (
    "This Idempotency-Key was already used for a different request. Send a new "
    "key with a new request."
)
BUSY_MESSAGE = (
    "A request with this Idempotency-Key is still being processed. Try again in "
    "a moment."
)

RUNNING = IdempotencyKey.Status.RUNNING
COMPLETED = IdempotencyKey.Status.COMPLETED


class KeyReused(Exception):
    """The key was first sent with another method, path or body."""


class KeyBusy(Exception):
    """Another request is doing the key's work right now."""


class KeyLost(Exception):
    """Another request took the key over while this one was doing the work."""


def idempotent(view):
    """Does a page's write once per Idempotency-Key of the signed-in user."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return run_once(
            request,
            request.user,
            lambda: view(request, *args, **kwargs),
            done=_page_done,
        )

    return wrapper


def _page_done(response):
    # A page's write that went through redirects, plainly or through htmx; a
    # form sent back with its errors (200) saved nothing, and its corrected
    # version may come with the same key.
    return response.status_code < 400 and (
        response.status_code >= 300 or "HX-Redirect" in response.headers
    )


def _api_done(response):
    return response.status_code < 400


class IdempotentCreate:
    """Does a viewset's create once per Idempotency-Key of the caller.

    It wraps create rather than dispatch so that DRF has authenticated the
    caller and counted the request first; DRF's errors still reach its
    exception handler, and free the key on their way.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter(
                HEADER,
                str,
                OpenApiParameter.HEADER,
                pattern=f"^{KEY_PATTERN.pattern}$",
                description="Sent again with a retry, the first answer comes "
                "back instead of a second entry.",
            )
        ]
    )
    def create(self, request, *args, **kwargs):
        create = super().create

        def work():
            response = create(request, *args, **kwargs)
            # Rendered now, to be stored with the entry it reports; dispatch
            # finalizes it once more, which changes nothing.
            return self.finalize_response(request, response, *args, **kwargs)

        return run_once(request._request, request.user, work)


def run_once(request, user, work, done=_api_done):
    """Answers with `work()`, done at most once per Idempotency-Key of `user`.

    Requests without the header, anonymous ones and reads are answered as if
    this were not here.
    """
    raw_key = request.headers.get(HEADER)
    if raw_key is None or request.method in SAFE_METHODS:
        return work()
    if not user.is_authenticated:
        return work()

    key = parse_key(raw_key)
    if key is None:
        return _refused(400, INVALID_MESSAGE, "idempotency_key_invalid")

    try:
        entry, token = claim(user, key, fingerprint(request))
    except KeyReused:
        log.warning("idempotency_key_reused", key_prefix=key[:8])
        return _refused(422, REUSED_MESSAGE, "idempotency_key_reused")
    except KeyBusy:
        log.warning("idempotency_conflict", key_prefix=key[:8], reason="running")
        return _busy()

    if token is None:
        log.info("idempotent_replay", key_prefix=key[:8], status=entry.response_status)
        return replay(entry)
    return _work_and_store(entry, token, work, done)


def parse_key(value):
    """The key in the header, or None when it is not one."""
    # The header is a structured-field string, in double quotes; many
    # clients send it bare.
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value if KEY_PATTERN.fullmatch(value) else None


def fingerprint(request):
    """sha256 of the method, the path with its query string, and the body."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode()):
        digest.update(part)
        digest.update(b"\n")
    digest.update(_body(request))
    return digest.hexdigest()


def _body(request):
    # A multipart body is framed by a boundary the client picks anew for each
    # send, so the same form sent twice differs in its bytes: its fields are
    # compared instead (and Django keeps no raw bytes once it has parsed them).
    if request.content_type != "multipart/form-data":
        return request.body
    files = [
        (name, [(upload.name, _digest(upload)) for upload in uploads])
        for name, uploads in request.FILES.lists()
    ]
    return json.dumps([sorted(request.POST.lists()), sorted(files)]).encode()


def _digest(upload):
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def claim(user, key, request_fingerprint):
    """Takes the key for this request, or says why not.

    Returns the row and this request's owner token when the work is this
    request's to do, or the row and None when it is done and to be replayed.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    # Committed before the work starts, so a retry finds the key from here on;
    # durable, so no caller's transaction can hold the claim back.
    with transaction.atomic(durable=True):
        # The user's expired keys, a few rows found through an index: the
        # table stays small without a scheduled job.
        expired = now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
        IdempotencyKey.objects.filter(user=user, created_at__lt=expired).delete()
        entry, created = IdempotencyKey.objects.get_or_create(
            user=user,
            key=key,
            defaults={
                "fingerprint": request_fingerprint,
                "owner": token,
                "created_at": now,
                "started_at": now,
            },
        )

    if created:
        return entry, token
    if entry.fingerprint != request_fingerprint:
        raise KeyReused
    if entry.status == COMPLETED:
        return entry, None
    if entry.started_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT):
        raise KeyBusy
    return entry, _take_over(entry, token, now)


def _take_over(entry, token, now):
    # On condition of the owner seen: of two retries at once, one wins.
    taken = IdempotencyKey.objects.filter(
        pk=entry.pk, owner=entry.owner, status=RUNNING
    ).update(owner=token, started_at=now)
    if not taken:
        raise KeyBusy

    log.warning(
        "idempotency_key_taken_over",
        key_prefix=entry.key[:8],
        abandoned_at=entry.started_at.isoformat(),
    )
    return token


def _work_and_store(entry, token, work, done):
    try:
        with transaction.atomic(durable=True):
            response = _rendered(work())
            if done(response):
                _store(entry, token, response)
    except KeyLost:
        # The work is rolled back: the request that took the key does it.
        log.warning("idempotency_conflict", key_prefix=entry.key[:8], reason="lost")
        return _busy()
    except BaseException:
        _release(entry, token)
        raise

    # An answer that did not do the work keeps whatever it wrote (a refusal
    # counted for ops) and frees the key: the retry, corrected or not, runs
    # for real.
    if not done(response):
        _release(entry, token)
    return response


def _rendered(response):
    # A template response renders on its way out, after the transaction; its
    # body is needed now, to be stored with the work.
    if callable(getattr(response, "render", None)):
        response.render()
    if response.streaming:
        raise TypeError("A streamed response cannot be stored for replay.")
    return response


def _store(entry, token, response):
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name.lower() in STORED_HEADERS
        or name.lower().startswith(STORED_HEADER_PREFIX)
    ]
    stored = IdempotencyKey.objects.filter(
        pk=entry.pk, owner=token, status=RUNNING
    ).update(
        status=COMPLETED,
        response_status=response.status_code,
        response_headers=headers,
        response_body=response.content,
    )
    if not stored:
        raise KeyLost


def _release(entry, token):
    """Frees the key for a retry, unless another request has taken it since."""
    try:
        IdempotencyKey.objects.filter(pk=entry.pk, owner=token).delete()
    except DatabaseError as error:
        # The request's own error is the one to answer; the key frees itself
        # once its lock times out.
        log.error(
            "idempotency_release_failed",
            key_prefix=entry.key[:8],
            error=type(error).__name__,
        )


def replay(entry):
    response = HttpResponse(bytes(entry.response_body), status=entry.response_status)
    for name, value in entry.response_headers:
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _refused(status, message, code):
    return JsonResponse(error_body(message, code), status=status)


def _busy():
    response = _refused(409, BUSY_MESSAGE, "idempotency_in_progress")
    response.headers["Retry-After"] = "1"
    return response
