"""The API's shared machinery: one error shape, pagination."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination
from rest_framework.fields import get_error_detail
from rest_framework.views import exception_handler as drf_exception_handler

from tracksystem.errors import database_unavailable, error_body, is_outage


def exception_handler(exc, context):
    """Every error the API answers has the shape of `error_body`."""
    if is_outage(exc):
        return database_unavailable(context["request"]._request, exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(get_error_detail(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        response.data = throttled_body(exc.wait)
    else:
        response.data = error_body(str(exc.detail), _code_of(exc))
    return response


def throttled_body(wait):
    wait = max(1, wait or 1)
    unit = "second" if wait == 1 else "seconds"
    return error_body(
        f"Too many requests. Wait {wait} {unit}, then try again.",
        "throttled",
        retry_after=wait,
    )


def validation_error_body(detail):
    fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    field, messages = next(iter(fields.items()), ("", ["The request is not valid."]))
    message = _first_message(messages)
    if field and field != "non_field_errors":
        message = f"{field}: {message}"
    return error_body(message, "invalid", fields=fields)


def _first_message(messages):
    while isinstance(messages, (list, dict)) and messages:
        messages = next(
            iter(messages.values() if isinstance(messages, dict) else messages)
        )
    return str(messages)


def _code_of(exc):
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
