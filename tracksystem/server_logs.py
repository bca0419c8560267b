"""gunicorn's own log lines as JSON objects, like every other line on stdout.

gunicorn loads this class in the master before the application, so nothing
here may need Django.
"""

import logging
import os

import structlog
from gunicorn import glogging

from tracksystem.logs import SHARED_PROCESSORS

# The master decodes a dead worker's wait status only into these two lines,
# then calls the child_exit hook without it. The logger is the one place that
# sees the status, so it keeps it for the hook to take.
SIGNALLED = "Worker (pid:%s) was sent %s!"
EXITED = "Worker (pid:%s) exited with code %s."


class Logger(glogging.Logger):
    """Error lines keep gunicorn's message as the event; access lines get fields."""

    def __init__(self, cfg):
        self.exit_statuses = {}
        self.access_events = structlog.wrap_logger(
            logging.getLogger("gunicorn.access"),
            processors=[
                *SHARED_PROCESSORS,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        super().__init__(cfg)

    def info(self, msg, *args, **kwargs):
        self._keep_exit_status(msg, args)
        super().info(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        self._keep_exit_status(msg, args)
        super().warning(msg, *args, **kwargs)

    def error(self, msg, *args, **kwargs):
        self._keep_exit_status(msg, args)
        super().error(msg, *args, **kwargs)

    def take_exit_status(self, pid):
        """("signal", "SIGKILL") or ("exit_code", 1); None after a clean exit."""
        return self.exit_statuses.pop(pid, None)

    def take_all_exit_statuses(self):
        """The statuses no child_exit took: a worker that halted the server."""
        statuses, self.exit_statuses = self.exit_statuses, {}
        return statuses

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return

        # As gunicorn's own access(): a line that cannot be made never fails
        # the request it describes.
        try:
            self._log_access(self.atoms(resp, req, environ, request_time))
        except Exception:
            self.exception("Access log line failed")

    def _log_access(self, atoms):
        self.access_events.info(
            "gunicorn_access",
            method=atoms["m"],
            path=atoms["U"],
            query=atoms["q"],
            status=int(atoms["s"]),
            duration_ms=atoms["D"] / 1000,
            bytes=atoms["B"],
            # The application answers every request with its id in this header.
            request_id=atoms.get("{x-request-id}o"),
            remote_addr=atoms["h"],
            user_agent=atoms["a"],
            # The worker that served it, to follow a replacement's first requests.
            pid=os.getpid(),
        )

    def _keep_exit_status(self, msg, args):
        if not isinstance(msg, str) or len(args) != 2:
            return
        pid, value = args
        if msg.startswith(SIGNALLED):
            self.exit_statuses[pid] = ("signal", str(value))
        elif msg == EXITED:
            self.exit_statuses[pid] = ("exit_code", int(value))
