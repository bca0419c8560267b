"""The server: `gunicorn -c gunicorn.conf.py` starts everything.

The master keeps WEB_CONCURRENCY workers alive and forks a replacement the
moment one dies. The application is loaded once, in the master, before the
fork, so a replacement serves within a fraction of a second. Every boot
and exit of a worker is recorded in ops, with its cause (the hooks below).
"""

import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import tempfile
import time

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

# Both of gunicorn's logs go to stdout as JSON, each line once: its loggers
# do not also hand their lines to the root logger, where Django's handler
# sits. The logger writes the access line's fields itself (access_log_format
# is not used) and keeps the exit statuses that child_exit is not given.
logger_class = "tracksystem.server_logs.Logger"
accesslog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "tracksystem.logs.json_formatter"}},
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
            "formatter": "json",
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

    from tracksystem.wsgi import warm_up

    # Import every view and serializer, compile the templates and so on now
    # rather than on each worker's first request: a fresh worker is fast.
    warm_up()

    # A connection opened while loading would be shared by every forked
    # worker and break their requests: the workers open their own.
    connections.close_all()

    # Where workers leave their exit notes: one folder of this master's own.
    server.exit_notes = tempfile.mkdtemp(
        prefix="tracksystem-exits-", dir=server.cfg.worker_tmp_dir
    )


# Worker events (ops.workers). gunicorn gives child_exit neither the exit
# status (the logger keeps it) nor why a worker that exited cleanly left: the
# worker says so itself, in a note the master reads once it is gone.


def pre_fork(server, worker):
    """In the master: the uptime's start, and the slot the worker fills."""
    worker.forked_at = time.monotonic()
    taken = {getattr(sibling, "slot", None) for sibling in server.WORKERS.values()}
    worker.slot = next(slot for slot in itertools.count() if slot not in taken)


def post_fork(server, worker):
    """In the worker, before it has signal handlers of its own."""
    # Until then a stop signal lands in the master's handler the worker
    # inherited and is lost: a stop would wait out graceful_timeout and kill
    # the worker, a planned exit recorded as a SIGKILL. post_worker_init
    # replays it.
    worker.signals_before_init = server.SIG_QUEUE


def post_worker_init(worker):
    from ops import workers

    if _stop_signal_in(worker.signals_before_init):
        worker.alive = False
    workers.record_boot(pid=worker.pid, master_pid=worker.ppid, slot=worker.slot)


def worker_exit(server, worker):
    """In the worker as it leaves; also in the master for a vanished one."""
    if os.getpid() != worker.pid:
        return
    from ops import errors

    errors.flush()  # the repeats of error groups still counted in memory
    if worker.alive:
        return  # left on an error: the exit status tells

    reason = "max_requests" if worker.nr >= worker.max_requests else "stopped"
    with open(_exit_note_path(server, worker.pid), "w") as note:
        json.dump({"reason": reason, "requests": worker.nr}, note)


def child_exit(server, worker):
    """In the master once a worker is gone, before its replacement forks."""
    from django.db import connections

    from ops import workers

    workers.record_exit(
        pid=worker.pid,
        master_pid=server.pid,
        slot=worker.slot,
        uptime=time.monotonic() - worker.forked_at,
        status=server.log.take_exit_status(worker.pid),
        aborted=worker.aborted,
        note=_take_exit_note(server, worker.pid),
    )
    connections.close_all()


def on_exit(server):
    """In the master as it stops, also when a worker that failed to boot halts it.

    gunicorn halts on exit codes 3 and 4 before calling child_exit, so that
    worker's status is still with the logger; its uptime is lost with it.
    """
    from django.db import connections

    from ops import workers

    for pid, status in server.log.take_all_exit_statuses().items():
        workers.record_exit(
            pid=pid,
            master_pid=server.pid,
            slot=None,
            uptime=None,
            status=status,
            aborted=False,
            note=None,
        )
    connections.close_all()
    shutil.rmtree(server.exit_notes, ignore_errors=True)


def _stop_signal_in(signals):
    received = []
    with contextlib.suppress(queue.Empty):
        while True:
            received.append(signals.get_nowait())
    return bool({signal.SIGTERM, signal.SIGINT, signal.SIGQUIT} & set(received))


def _exit_note_path(server, pid):
    return os.path.join(server.exit_notes, str(pid))


def _take_exit_note(server, pid):
    path = _exit_note_path(server, pid)
    try:
        with open(path) as note:
            return json.load(note)
    except (OSError, ValueError):
        return None
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
