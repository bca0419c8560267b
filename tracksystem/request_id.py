import re
import uuid

import structlog

from tracksystem.ratelimit.engine import client_ip

# An incoming X-Request-ID is trusted only when it looks like an id: it goes
# into every log line and back out in a header.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id():
    return structlog.contextvars.get_contextvars().get("request_id", "")


class RequestIdMiddleware:
    """Returns the request id (bound by django-structlog) in `X-Request-ID`.

    It also binds the client's address to the request's log lines.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = current_request_id()
        if not REQUEST_ID_PATTERN.fullmatch(request_id):
            request_id = str(uuid.uuid4())
            structlog.contextvars.bind_contextvars(request_id=request_id)
        request.request_id = request_id
        structlog.contextvars.bind_contextvars(ip=client_ip(request))

        response = self.get_response(request)

        response.headers["X-Request-ID"] = request_id
        return response
