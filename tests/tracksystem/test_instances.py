"""Two app instances behind one load balancer, on one database and one store.

Each instance is a gunicorn master of its own with two workers. They share
what a load balancer needs them to share: the database (a migrated SQLite
file, or a PostgreSQL database of their own when the suite runs on
PostgreSQL) and the cache (Redis when REDIS_URL is set, which the servers
inherit, else the disk cache both are pointed at).
"""

import json
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie

import pytest
from django.conf import settings

from tests.server import Server, manage, migrated_sqlite, postgres_database

PASSWORD = "correct-horse-battery"
KEY = "6b0e4f7a-2c1d-4e8b-9a3f-0d5c7e1b2a46"

SET_UP = f"""
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from projects.models import Project
tokens = {{}}
for name, role in [("ahmed", "engineer"), ("sarah", "manager")]:
    user = User.objects.create_user(name, password="{PASSWORD}")
    user.groups.add(Group.objects.get(name=role))
    tokens[name] = Token.objects.create(user=user).key
project = Project.objects.create(name="Villa Extension", code="VEX")
print(json.dumps({{"tokens": tokens, "project": project.pk}}))
"""

COUNT_ROWS = """
import json
from ops.models import AlertSent
from tracksystem.models import IdempotencyKey
from worklogs.models import WorkLog
print(json.dumps({
    "worklogs": WorkLog.objects.count(),
    "idempotency_keys": IdempotencyKey.objects.count(),
    "alerts": list(AlertSent.objects.values_list("cause", flat=True)),
}))
"""


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    suite = settings.DATABASES["default"]
    if suite["ENGINE"] == "django.db.backends.sqlite3":
        yield migrated_sqlite(tmp_path_factory.mktemp("instances-db"))
        return
    with postgres_database(suite, "instances") as (url, _):
        yield url


@pytest.fixture(scope="module")
def people(database_url):
    return json.loads(manage(database_url, "shell", "-c", SET_UP).splitlines()[-1])


@pytest.fixture(scope="module")
def instances(database_url, tmp_path_factory):
    # One folder for both logs: Server puts the shared disk cache beside them.
    logs = tmp_path_factory.mktemp("instances")
    env = {
        "WEB_CONCURRENCY": "2",
        "RATELIMIT_BURST": "10/1m",
        "RATELIMIT_SUSTAINED": "1000/5m",
        # Every unplanned exit today is past the threshold and worth a mail.
        "OPS_RESTART_THRESHOLD": "0",
        "ADMINS": "Operations <ops@example.com>",
    }
    first = Server(database_url, logs / "first.log", **env)
    second = Server(database_url, logs / "second.log", **env)
    try:
        yield first.start(), second.start()
    finally:
        for server in (second, first):
            if server.process:
                server.stop()


def test_both_instances_are_ready_on_the_store_the_suite_uses(instances):
    for server in instances:
        status, _, body = server.get("/health/ready")
        checks = json.loads(body)["checks"]

        assert status == 200
        # /health/ready checks Redis only where the server was given it.
        assert ("cache" in checks) == bool(settings.REDIS_URL)


def test_a_person_signed_in_on_one_instance_is_signed_in_on_the_other(
    instances, people
):
    first, second = instances
    browser = Browser()
    browser.request(first, "/accounts/login/")
    form = {"username": "ahmed", "password": PASSWORD}
    assert browser.post_form(first, "/accounts/login/", form)[0] == 302

    status, _, page = browser.request(second, "/worklogs/")
    assert status == 200
    assert '<span class="who">ahmed</span>' in page

    # Without the cookie the same page asks for a sign-in.
    status, headers, _ = Browser().request(second, "/worklogs/")
    assert (status, headers["Location"]) == (302, "/accounts/login/?next=/worklogs/")

    # Signing out on the second ends the session for the first too, even for
    # a client that sends the old cookie again.
    session = browser.cookies["sessionid"]
    assert browser.post_form(second, "/accounts/logout/", {})[0] == 302
    assert "sessionid" not in browser.cookies
    browser.cookies["sessionid"] = session
    assert browser.request(first, "/worklogs/")[0] == 302


def test_one_allowance_is_counted_across_both_instances(instances, people):
    first, second = instances
    headers = {"Authorization": f"Token {people['tokens']['sarah']}"}
    statuses = [
        server.get("/api/v1/projects/", headers)[0]
        for _ in range(15)
        for server in (first, second)
    ]
    status, response_headers, body = second.get("/api/v1/projects/", headers)

    # Four workers in two instances, one allowance: exactly ten pass.
    assert statuses.count(200) == 10
    assert set(statuses) == {200, 429}
    assert status == 429
    assert int(response_headers["Retry-After"]) >= 1
    assert json.loads(body)["code"] == "throttled"


def test_a_write_retried_on_the_other_instance_is_answered_not_done_again(
    instances, people, database_url, today
):
    first, second = instances
    body = {
        "project": people["project"],
        "date": today.isoformat(),
        "hours": "6",
        "description": "Sent to one instance, retried through the other",
    }
    token = people["tokens"]["ahmed"]
    answered = post_entry(first, token, body)
    replayed = post_entry(second, token, body)
    rows = count_rows(database_url)

    assert answered[0] == 201
    assert "Idempotent-Replayed" not in answered[1]
    assert (replayed[0], replayed[1]["Idempotent-Replayed"]) == (201, "true")
    assert json.loads(replayed[2]) == json.loads(answered[2])
    assert (rows["worklogs"], rows["idempotency_keys"]) == (1, 1)


def test_a_cause_noticed_by_both_instances_is_mailed_once(
    instances, database_url, today
):
    for server in instances:
        kill_a_worker(server)
    rows = count_rows(database_url)

    # Both masters see the day past the threshold; the first one's claim on
    # the cause holds the second one's mail back.
    noticed = [
        len(events(server, "worker_restarts_over_threshold")) for server in instances
    ]
    sent = [len(events(server, "alert_sent")) for server in instances]
    mailed = [server.stderr_text().count("worker restarts on") for server in instances]
    assert noticed == [1, 1]
    assert sent == [1, 0]
    assert mailed == [1, 0]
    assert rows["alerts"] == [f"restarts:{today.isoformat()}"]


class Browser:
    """Keeps the cookies any instance sets and sends them to every instance.

    Behind one load balancer, one host name: a cookie one instance sets comes
    back to whichever instance answers next. Redirects are not followed.
    """

    def __init__(self):
        self.cookies = {}

    def post_form(self, server, path, fields):
        """Posts a form as a page would, with the CSRF token of the cookie."""
        token = self.cookies["csrftoken"]
        return self.request(server, path, {"csrfmiddlewaretoken": token, **fields})

    def request(self, server, path, form=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(server.url + path, data=data)
        if self.cookies:
            cookie = "; ".join(
                f"{name}={value}" for name, value in self.cookies.items()
            )
            request.add_header("Cookie", cookie)
        opener = urllib.request.build_opener(NoRedirects)
        try:
            with opener.open(request, timeout=10) as response:
                status, headers, body = (
                    response.status,
                    response.headers,
                    response.read(),
                )
        except urllib.error.HTTPError as error:
            status, headers, body = error.code, error.headers, error.read()
        self._keep_cookies(headers)

        return status, headers, body.decode()

    def _keep_cookies(self, headers):
        for header in headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_entry(server, token, body):
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": KEY}
    return server.post_json("/api/v1/worklogs/", body, headers)


def count_rows(database_url):
    return json.loads(manage(database_url, "shell", "-c", COUNT_ROWS).splitlines()[-1])


def kill_a_worker(server):
    """SIGKILLs one worker and waits until its master has forked the next.

    The master records the exit, and mails about it, before it forks.
    """
    before = server.wait_for_workers(2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        workers = server.worker_pids()
        if len(workers) == 2 and victim not in workers:
            return
        time.sleep(0.05)
    pytest.fail(f"worker {victim} was not replaced in 10s")


def events(server, name):
    found = []
    for line in server.stdout_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == name:
            found.append(entry)
    return found
