"""The API's shared machinery: one error shape and its schema, pagination."""

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


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the API answers, with the request id of its "
    "X-Request-ID header.",
    "properties": {
        "error": {"type": "string", "description": "One sentence for a person."},
        "code": {"type": "string", "description": "Stable, for programs."},
        "request_id": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "With `invalid`: the messages of each field at fault.",
            "additionalProperties": True,
        },
        "retry_after": {
            "type": "integer",
            "description": "With `throttled`: seconds to wait before trying again.",
        },
    },
    "required": ["error", "code", "request_id"],
}

ERROR_DESCRIPTIONS = {
    "400": "The request is not valid; `fields` names what is wrong.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such object among the caller's, or no such page.",
    "409": "A request with this Idempotency-Key is still running.",
    "415": "The body is not JSON, a form or multipart.",
    "422": "This Idempotency-Key was used for a different request.",
    "429": "Too many requests; `Retry-After` says when to try again.",
    "503": "The database is not answering; `Retry-After` says when to try again.",
}


def document_errors(result, generator, request, public):
    """Adds the error answers each operation can give, in their one shape.

    A drf-spectacular postprocessing hook: the views document their successes,
    and every error is answered by this module's exception handler anyway.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = (
        ERROR_SCHEMA
    )
    for operations in result["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            for status in _error_statuses(operation):
                responses.setdefault(
                    status,
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )
    return result


def _error_statuses(operation):
    parameters = operation.get("parameters", [])
    where = {parameter["in"] for parameter in parameters}
    statuses = ["429", "503"]
    if "requestBody" in operation:
        statuses += ["400", "415"]
    elif where & {"query", "header"}:
        statuses.append("400")
    if any(operation.get("security", [{}])):
        statuses += ["401", "403"]
    if "path" in where or any(p["name"] == "page" for p in parameters):
        statuses.append("404")
    if any(p["name"] == "Idempotency-Key" for p in parameters):
        statuses += ["409", "422"]
    return sorted(statuses)
