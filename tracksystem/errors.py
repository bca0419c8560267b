"""Error pages: JSON in the API's shape under /api/, friendly pages elsewhere.

DRF's exception handler (tracksystem.api) covers errors raised inside API
views; these cover the rest (an unknown API URL, a failure outside a view),
so that no API client ever receives an HTML page. A database that does not
answer is a 503 with Retry-After, in the API and on pages alike.
"""

import structlog
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, DataError, IntegrityError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from tracksystem.request_id import current_request_id
from tracksystem.signals import error_answered

log = structlog.get_logger(__name__)

# Seconds a client is asked to wait when the database does not answer.
DATABASE_RETRY_AFTER = 5


def error_body(message, code, **extra):
    """The one shape of every API error."""
    return {"error": message, "code": code, "request_id": current_request_id(), **extra}


def _is_api(request):
    return request.path.startswith("/api/")


def _answer(request, status, message, code, template):
    if _is_api(request):
        return JsonResponse(error_body(message, code), status=status)
    context = {"message": message, "request_id": getattr(request, "request_id", "")}
    return render(request, template, context, status=status)


def bad_request(request, exception):
    return _answer(
        request, 400, "The request was not understood.", "bad_request", "400.html"
    )


def permission_denied(request, exception):
    message = str(exception) or "You do not have permission to do this."
    return _answer(request, 403, message, "permission_denied", "403.html")


def page_not_found(request, exception):
    return _answer(request, 404, "Not found.", "not_found", "404.html")


def server_error(request):
    message = "Something went wrong on our side."
    if _is_api(request):
        return JsonResponse(error_body(message, "server_error"), status=500)
    return _standalone_page(
        request,
        500,
        heading="Something went wrong on our side",
        message=message,
        advice="Try again in a moment. If it keeps happening, send the request id "
        "to support.",
    )


def _standalone_page(request, status, **context):
    # Rendered without the request: its context processors would reach for
    # the session and the database, which may be what failed.
    context["request_id"] = getattr(request, "request_id", "")
    page = loader.render_to_string("standalone_error.html", context)
    return HttpResponse(page, status=status)


def is_outage(error):
    """A database error that is no fault of the request: answered with 503.

    Integrity and data errors are bugs in what we sent, and stay 500s.
    """
    return isinstance(error, DatabaseError) and not isinstance(
        error, (IntegrityError, DataError)
    )


def database_unavailable(request, error):
    """Logs and announces the error, and asks the client to come back shortly."""
    log.error("database_unavailable", error=type(error).__name__, exc_info=error)
    error_answered.send(sender=database_unavailable, request=request, exception=error)
    # The signed-in user is read lazily, from the database; the request logger
    # would read it again on the way out and turn this answer into a 500.
    request.user = AnonymousUser()

    message = "The database is not answering just now. Try again in a few seconds."
    if _is_api(request):
        response = JsonResponse(error_body(message, "unavailable"), status=503)
    else:
        response = _standalone_page(
            request,
            503,
            heading="Back in a moment",
            message=message,
            advice="Nothing you saved is lost. This page will work again as soon "
            "as the database answers.",
        )
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


class DatabaseOutageMiddleware:
    """Answers a database error in a page with 503 and Retry-After, not 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            return database_unavailable(request, exception)
        return None
