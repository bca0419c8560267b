"""A worker stuck in a request past GUNICORN_TIMEOUT is killed and replaced."""

import threading
import time

from tests.faults.conftest import FAULTS_SETTINGS, NO_ANSWER

TIMEOUT = 2


def test_a_worker_hung_past_the_timeout_is_replaced_and_recorded_as_a_timeout(
    serve, sqlite_database
):
    server = serve(
        sqlite_database,
        DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS,
        GUNICORN_TIMEOUT=str(TIMEOUT),
        IDEMPOTENCY_LOCK_TIMEOUT=str(TIMEOUT + 1),
    )
    before = server.wait_for_workers(2)
    hung = {}

    def wait_on_the_hanging_view():
        started = time.monotonic()
        try:
            hung["answer"] = server.get("/faults/hang/", timeout=30)[0]
        except NO_ANSWER as error:
            hung["answer"] = type(error).__name__
        hung["waited"] = time.monotonic() - started

    request = threading.Thread(target=wait_on_the_hanging_view)
    request.start()
    # The other worker serves all along; the hung one is replaced.
    live = []
    while request.is_alive():
        live.append(server.get("/health/live")[0])
        time.sleep(0.05)
    [hanging_pid] = [
        line["pid"] for line in server.log_lines() if line["event"] == "faults_hanging"
    ]
    [exit_row] = sqlite_database.wait_for_rows(
        "SELECT * FROM ops_workerevent WHERE kind = 'exit'"
    )
    after = server.wait_for_workers(2)

    assert hanging_pid in before
    assert hanging_pid not in after
    assert len(after - before) == 1
    # Never the view's answer; gunicorn's own plain 500 page as the worker leaves.
    assert hung["answer"] != 200
    assert hung["waited"] >= TIMEOUT
    assert set(live) == {200}
    assert exit_row["pid"] == hanging_pid
    assert exit_row["cause"] == "timeout"
    # The master sends SIGABRT, which ends the request and the worker with
    # code 0, then SIGKILL on its next round if the worker is not gone by then.
    assert exit_row["detail"] in {"code 0", "SIGKILL"}
    assert not exit_row["planned"]
    assert exit_row["uptime"] > TIMEOUT
    [replacement] = after - before
    sqlite_database.wait_for_rows(
        f"SELECT * FROM ops_workerevent WHERE kind = 'boot' AND pid = {replacement}"
    )
    assert f"WORKER TIMEOUT (pid:{hanging_pid})" in server.stdout_text()
