"""Error pages: JSON in the API's shape under /api/, friendly pages elsewhere.

DRF's exception handler covers errors raised inside API views; these cover the
rest (an unknown API URL, a failure outside a view), so that no API client
ever receives an HTML page.
"""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

from tracksystem.api import error_body


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
    # Rendered without the request: its context processors would reach for
    # the session and the database, which may be what failed.
    context = {"message": message, "request_id": getattr(request, "request_id", "")}
    return HttpResponseServerError(loader.render_to_string("500.html", context))
