"""The server: `gunicorn -c gunicorn.conf.py` starts everything.

The master keeps WEB_CONCURRENCY workers alive and forks a replacement the
moment one dies. The application is loaded once, in the master, before the
fork, so a replacement serves within a fraction of a second.
"""

import os

wsgi_app = "tracksystem.wsgi:application"

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{int(os.environ.get('PORT', '8000'))}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
preload_app = True

# Recycle each worker after a bounded number of requests; the jitter keeps
# the workers from all restarting at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5

# Both of gunicorn's logs go to stdout, each line once: its loggers do not
# also hand their lines to the root logger, where Django's handler sits.
accesslog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    # The root logger is Django's: its LOGGING setting fills it in at load.
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {
            "level": "INFO",
            "handlers": ["stdout"],
            "propagate": False,
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "stream": "ext://sys.stdout",
        }
    },
}

# gunicorn 27 opens a control socket at one fixed path per user by default;
# a second instance on the same host would collide with the first.
control_socket_disable = True

# The heartbeat file lives in memory where the host has /dev/shm, so a slow
# disk cannot make a healthy worker look hung.
if os.path.isdir("/dev/shm"):  # noqa: S108 a folder for gunicorn's own files
    worker_tmp_dir = "/dev/shm"  # noqa: S108


def when_ready(server):
    """Runs in the master after the app is loaded, before any worker forks."""
    from django.db import connections
    from django.urls import get_resolver

    # Import every view and serializer now rather than on each worker's
    # first request, which is what makes a fresh worker fast.
    get_resolver().resolve("/health/live")

    # A connection opened while loading would be shared by every forked
    # worker and break their requests: the workers open their own.
    connections.close_all()
