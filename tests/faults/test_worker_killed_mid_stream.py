"""Work-log submissions, each retried with its own Idempotency-Key, as workers die.

What a careful client does: it sends each entry with a key of its own and
sends it again, with the same key, after no answer, a 5xx or a 409, until
the server confirms it. Whatever the moment a worker is killed, each entry
must then be stored exactly once.
"""

import datetime
import json
import os
import queue
import random
import signal
import threading
import time
import uuid
from collections import Counter

from tests.faults.conftest import FAULTS_SETTINGS, NO_ANSWER, UNLIMITED, signed_in

SUBMISSIONS = 60
CLIENTS = 4
KILLS = 4
MOST_KILLS = 10
# Every answer is held back this long after its work has committed, so that
# most kills land between the commit and the answer: the case a retry would
# double without the key.
ANSWER_DELAY = 0.2
GUNICORN_TIMEOUT = 4


def entries(database):
    """Entries spread over days, two hours each, four a day.

    Eight hours a day: a doubled entry would still fit in the 24-hour rule,
    so the rule cannot hide one.
    """
    yesterday = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(1)
    for number in range(SUBMISSIONS):
        yield {
            "project": database.project,
            "phase": database.phases[number % 2],
            "date": (yesterday - datetime.timedelta(number // 4)).isoformat(),
            "hours": "2.00",
            "description": f"Fault stream entry {number:03d}",
        }


class Submitter:
    """Sends every entry until the server confirms it, as a browser tab would."""

    def __init__(self, server, database):
        self.server = server
        self.database = database
        self.waiting = queue.Queue()
        self.confirmed = {}  # description: the id the server answered
        self.attempts = Counter()  # what answers came back, retries included
        self.failures = []

    def run(self, entries):
        for entry in entries:
            self.waiting.put(entry)
        clients = [threading.Thread(target=self._work) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        return clients

    def _work(self):
        while True:
            try:
                entry = self.waiting.get_nowait()
            except queue.Empty:
                return
            try:
                self.confirmed[entry["description"]] = self._submit(entry)
            except AssertionError as error:
                self.failures.append(str(error))

    def _submit(self, entry):
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, headers, body = self.server.post_json(
                    "/api/v1/worklogs/",
                    entry,
                    {**signed_in(self.database), "Idempotency-Key": key},
                )
            except NO_ANSWER:
                self.attempts["no answer"] += 1
                time.sleep(0.05)
                continue
            replayed = headers.get("Idempotent-Replayed") == "true"
            self.attempts[f"{status} replayed" if replayed else status] += 1
            if status == 201:
                return json.loads(body)["id"]
            if status == 409 or status >= 500:
                time.sleep(0.2)
                continue
            raise AssertionError(f"{entry['description']}: {status} {body[:300]}")
        raise AssertionError(f"{entry['description']}: never confirmed")


def kill_workers(server, submitter, clients):
    """SIGKILLs a random worker every so often while the clients send.

    At least KILLS times, and on until one kill has come after a commit
    (a retry was answered with a replay), at most MOST_KILLS times. Only
    workers that have served a while are chosen: a fresh one spends its first
    request warming up, before any commit.
    """
    killed = []
    first_seen = {}

    def done():
        return len(killed) >= KILLS and submitter.attempts["201 replayed"]

    while any(client.is_alive() for client in clients) and not done():
        if len(killed) == MOST_KILLS:
            break
        time.sleep(random.uniform(0.3, 0.6))
        now = time.monotonic()
        for pid in server.wait_for_workers(2):
            first_seen.setdefault(pid, now)
        seasoned = {pid for pid, seen in first_seen.items() if now - seen > 1}
        if victims := sorted(seasoned & server.worker_pids()):
            victim = random.choice(victims)
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
    return killed


def test_every_entry_is_stored_once_when_workers_are_killed_mid_stream(
    postgres_database, serve
):
    server = serve(
        postgres_database,
        **UNLIMITED,
        DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS,
        FAULTS_ANSWER_DELAY=str(ANSWER_DELAY),
        GUNICORN_TIMEOUT=str(GUNICORN_TIMEOUT),
        # A key left running by a killed worker is taken over this soon.
        IDEMPOTENCY_LOCK_TIMEOUT=str(GUNICORN_TIMEOUT + 1),
    )
    server.wait_for_workers(2)
    sent = list(entries(postgres_database))

    submitter = Submitter(server, postgres_database)
    clients = submitter.run(sent)
    killed = kill_workers(server, submitter, clients)
    for client in clients:
        client.join()

    stored = postgres_database.rows("SELECT id, description FROM worklogs_worklog")
    stored_ids = {row["description"]: row["id"] for row in stored}
    copies = Counter(row["description"] for row in stored)
    exits = postgres_database.wait_for_rows(
        "SELECT pid FROM ops_workerevent WHERE kind = 'exit' AND detail = 'SIGKILL'",
        count=len(killed),
    )

    assert submitter.failures == []
    assert len(killed) >= KILLS
    # The kills landed mid-request, and some after the work had committed.
    assert submitter.attempts["no answer"] >= 1, submitter.attempts
    assert submitter.attempts["201 replayed"] >= 1, submitter.attempts
    # Every entry sent is stored, once, under the id its confirmation named.
    assert set(copies) == {entry["description"] for entry in sent}
    assert [d for d, count in copies.items() if count > 1] == []
    assert stored_ids == submitter.confirmed
    assert sorted(row["pid"] for row in exits) == sorted(killed)
