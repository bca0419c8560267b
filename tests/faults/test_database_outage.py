"""PostgreSQL stopped and started again while a real gunicorn is under load."""

import json
import threading
import time

from tests.faults.conftest import NO_ANSWER, UNLIMITED, signed_in

READERS = 4
RECOVERY_LIMIT = 5.0


class Load:
    """Threads that read the API as fast as it answers, noting every answer."""

    def __init__(self, server, database):
        self.server = server
        self.headers = signed_in(database)
        self.answers = []  # (sent at, answered at, status, headers, body)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._read) for _ in range(READERS)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _read(self):
        while not self.stopping.is_set():
            sent_at = time.monotonic()
            try:
                answer = self.server.get("/api/v1/projects/", self.headers)
            except NO_ANSWER as error:
                answer = (type(error).__name__, {}, b"")
            self.answers.append((sent_at, time.monotonic(), *answer))

    def wait_until_served(self, *, since, timeout, in_a_row=40):
        """Until the last `in_a_row` answers since `since` were all served."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = [status for _, _, status, *_ in self.within(since, deadline)]
            if len(latest) >= in_a_row and set(latest[-in_a_row:]) == {200}:
                return
            time.sleep(0.1)

    def within(self, start, end):
        """The answers to the requests sent and answered between the two."""
        return [
            answer for answer in self.answers if start <= answer[0] <= answer[1] < end
        ]


def test_a_database_restart_is_answered_with_503s_and_served_again_at_once(
    postgres, postgres_database, serve
):
    server = serve(postgres_database, **UNLIMITED)
    workers = server.wait_for_workers(2)

    with Load(server, postgres_database) as load:
        time.sleep(1)
        stopping_at = time.monotonic()
        postgres.stop()
        down_at = time.monotonic()
        time.sleep(1.5)
        ready = server.get("/health/ready")
        live = server.get("/health/live")
        starting_at = time.monotonic()
        postgres.start()
        up_at = time.monotonic()
        load.wait_until_served(since=up_at, timeout=RECOVERY_LIMIT + 1)

    # Requests sent while PostgreSQL was shutting down or starting may get
    # either answer; those of the outage itself get a 503, and none a 500.
    before = load.within(0, stopping_at)
    during = load.within(down_at, starting_at)
    after = load.within(up_at, float("inf"))
    failed_after = [sent_at for sent_at, _, status, *_ in after if status != 200]
    back_at = max(failed_after, default=up_at)
    served_again = [status for sent_at, _, status, *_ in after if sent_at > back_at]

    assert {status for _, _, status, *_ in load.answers} <= {200, 503}
    assert before
    assert {status for _, _, status, *_ in before} == {200}
    assert during
    for _, _, status, headers, body in during:
        assert status == 503, (status, body[:300])
        assert headers["Retry-After"] == "5"
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["code"] == "unavailable"
    status, headers, body = ready
    assert (status, json.loads(body)["failing"]) == (503, ["database"])
    assert headers["Retry-After"]
    assert live[0] == 200
    # Back within the limit, and every request since then served.
    assert back_at - up_at <= RECOVERY_LIMIT, back_at - up_at
    assert set(served_again) == {200}
    assert len(served_again) > 20
    # No worker died or was replaced: the same processes rode it out.
    assert server.worker_pids() == workers
    assert (
        postgres_database.rows("SELECT * FROM ops_workerevent WHERE kind = 'exit'")
        == []
    )
    assert "Worker (pid:" not in server.stdout_text()
    assert "WORKER TIMEOUT" not in server.stdout_text()
