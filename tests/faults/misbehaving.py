"""The real URLs plus a view that hangs, and answers that are slow to leave.

`FAULTS_ANSWER_DELAY` (seconds) holds every answer back after it is made, as
a slow network would: a worker killed then has done the work and committed
it, but its client never hears so.
"""

import os
import time

import structlog
from django.urls import path

from tracksystem.urls import (  # noqa: F401 the handlers are looked up here
    handler400,
    handler403,
    handler404,
    handler500,
)
from tracksystem.urls import urlpatterns as real_urlpatterns

log = structlog.get_logger(__name__)

ANSWER_DELAY = float(os.environ.get("FAULTS_ANSWER_DELAY", "0"))


def hang(request):
    log.info("faults_hanging", pid=os.getpid())
    # Far past any worker timeout of the tests, yet not forever.
    time.sleep(120)


class SlowAnswers:
    """Names the worker in a header, and waits before letting an answer go."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers["X-Worker-Pid"] = str(os.getpid())
        if ANSWER_DELAY and request.method == "POST":
            time.sleep(ANSWER_DELAY)
        return response


urlpatterns = [
    path("faults/hang/", hang),
    *real_urlpatterns,
]
