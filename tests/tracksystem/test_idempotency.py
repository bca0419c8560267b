"""Idempotency-Key: a retried write is done once and answered as the first time."""

import datetime
import json
import os
import signal
import threading
import time

import psycopg
import pytest
import yaml
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test.client import encode_multipart
from django.utils import timezone
from structlog.testing import capture_logs

from tests.conftest import log_hours
from tests.server import Server, manage, postgres_database
from tracksystem.idempotency import run_once
from tracksystem.models import IdempotencyKey
from worklogs import services
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db

KEY = "3f1c2a9e-8b7d-4c61-9e0f-5a4b3c2d1e0f"


@pytest.fixture
def api(api):
    api.default_format = "json"
    return api


@pytest.fixture
def signed_in(client, engineer):
    client.force_login(engineer)
    return client


def post_entry(api, body, key=KEY):
    return api.post("/api/v1/worklogs/", body, headers={"Idempotency-Key": key})


def submit_form(client, body, key=KEY):
    return client.post("/worklogs/new/", body, headers={"Idempotency-Key": key})


def left_running(started_at):
    """As if the worker doing the first request had died before committing."""
    WorkLog.objects.all().delete()
    IdempotencyKey.objects.update(
        status=IdempotencyKey.Status.RUNNING,
        owner="a-worker-that-died",
        started_at=started_at,
        response_status=None,
        response_headers=[],
        response_body=b"",
    )


def events_named(logs, name):
    return [entry for entry in logs if entry["event"] == name]


# Retries


def test_a_retried_entry_is_created_once_and_answered_as_the_first_time(
    api, engineer, body
):
    api.as_user(engineer)
    first = post_entry(api, body)

    with capture_logs() as logs:
        retry = post_entry(api, body)

    assert first.status_code == 201, first.content
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert WorkLog.objects.count() == 1
    (replayed,) = events_named(logs, "idempotent_replay")
    assert replayed["key_prefix"] == KEY[:8]
    assert all(KEY not in str(entry) for entry in logs)


def test_a_key_sent_again_with_another_body_is_refused(api, engineer, body):
    api.as_user(engineer)
    post_entry(api, body)

    with capture_logs() as logs:
        response = post_entry(api, {**body, "hours": "2.00"})

    assert response.status_code == 422
    refusal = response.json()
    assert refusal["code"] == "idempotency_key_reused"
    assert "different request" in refusal["error"]
    assert refusal["request_id"] == response.headers["X-Request-ID"]
    assert WorkLog.objects.count() == 1
    assert events_named(logs, "idempotency_key_reused")


def test_another_users_same_key_is_a_key_of_their_own(
    api, engineer, other_engineer, body
):
    first = post_entry(api.as_user(engineer), body)

    theirs = post_entry(api.as_user(other_engineer), body)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.json()["username"] == "omar"
    assert WorkLog.objects.filter(user=engineer).count() == 1
    assert WorkLog.objects.filter(user=other_engineer).count() == 1


def test_the_key_may_come_as_a_quoted_string(api, engineer, body):
    api.as_user(engineer)
    post_entry(api, body)

    retry = post_entry(api, body, key=f'"{KEY}"')

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert WorkLog.objects.count() == 1


def test_without_the_header_every_request_is_done(api, engineer, body):
    api.as_user(engineer)

    responses = [api.post("/api/v1/worklogs/", body) for _ in range(2)]

    assert [response.status_code for response in responses] == [201, 201]
    assert WorkLog.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_an_anonymous_request_is_answered_as_without_the_header(api, body):
    response = post_entry(api, body)

    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "two words", "clé", "tab\there"], ids=repr
)
def test_a_malformed_key_is_refused(api, engineer, body, key):
    response = post_entry(api.as_user(engineer), body, key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not WorkLog.objects.exists()
    assert not IdempotencyKey.objects.exists()


def test_a_key_of_255_visible_characters_is_accepted(api, engineer, body):
    response = post_entry(api.as_user(engineer), body, key="k" * 254 + "~")

    assert response.status_code == 201
    assert IdempotencyKey.objects.get().key == "k" * 254 + "~"


# Keys still running


def test_a_retry_while_the_first_is_still_running_is_told_to_wait(api, engineer, body):
    api.as_user(engineer)
    post_entry(api, body)
    left_running(started_at=timezone.now())

    with capture_logs() as logs:
        retry = post_entry(api, body)

    assert retry.status_code == 409
    assert retry.json()["code"] == "idempotency_in_progress"
    assert retry.headers["Retry-After"] == "1"
    assert not WorkLog.objects.exists()
    (conflict,) = events_named(logs, "idempotency_conflict")
    assert conflict["reason"] == "running"


def test_a_key_left_running_by_a_dead_worker_is_taken_over_and_done_once(
    api, engineer, body
):
    api.as_user(engineer)
    post_entry(api, body)
    lock_timeout = datetime.timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT)
    left_running(started_at=timezone.now() - lock_timeout - datetime.timedelta(1))

    with capture_logs() as logs:
        retry = post_entry(api, body)
    again = post_entry(api, body)

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == retry.json()
    assert WorkLog.objects.count() == 1
    entry = IdempotencyKey.objects.get()
    assert entry.status == IdempotencyKey.Status.COMPLETED
    assert entry.owner != "a-worker-that-died"
    assert events_named(logs, "idempotency_key_taken_over")


def test_the_work_is_rolled_back_when_another_request_takes_the_key_meanwhile(
    api, engineer, body, monkeypatch
):
    create_worklog = services.create_worklog

    def taken_over_while_saving(**fields):
        worklog = create_worklog(**fields)
        IdempotencyKey.objects.update(owner="a-retry-that-took-over")
        return worklog

    monkeypatch.setattr(services, "create_worklog", taken_over_while_saving)

    with capture_logs() as logs:
        response = post_entry(api.as_user(engineer), body)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert not WorkLog.objects.exists()
    (conflict,) = events_named(logs, "idempotency_conflict")
    assert conflict["reason"] == "lost"


# What is not kept


def test_a_refused_entry_is_not_kept_so_the_corrected_one_runs(api, engineer, body):
    api.as_user(engineer)

    refused = post_entry(api, {**body, "hours": "0"})
    assert not IdempotencyKey.objects.exists()
    corrected = post_entry(api, body)

    assert refused.status_code == 400
    assert corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected.headers
    assert WorkLog.objects.count() == 1


def test_a_throttled_request_is_not_kept(api, engineer, body, rates):
    rates(writes="1/1m")
    api.as_user(engineer)
    post_entry(api, body, key="first")

    throttled = post_entry(api, {**body, "hours": "1.00"}, key="second")
    rates(writes="20/1m")
    later = post_entry(api, {**body, "hours": "1.00"}, key="second")

    assert throttled.status_code == 429
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert WorkLog.objects.count() == 2


def test_an_exception_frees_the_key_for_a_retry(api, engineer, body, monkeypatch):
    def broken(**fields):
        raise RuntimeError("the disk is full")

    api.as_user(engineer)
    monkeypatch.setattr(services, "create_worklog", broken)
    with pytest.raises(RuntimeError):
        post_entry(api, body)
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()

    retry = post_entry(api, body)

    assert retry.status_code == 201
    assert WorkLog.objects.count() == 1


def test_an_expired_key_is_a_new_one(api, engineer, body):
    api.as_user(engineer)
    post_entry(api, body)
    expired = IdempotencyKey.objects.get()
    ttl = datetime.timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    IdempotencyKey.objects.update(created_at=timezone.now() - ttl - ttl / 100)

    retry = post_entry(api, body)

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert WorkLog.objects.count() == 2
    assert not IdempotencyKey.objects.filter(pk=expired.pk).exists()
    assert IdempotencyKey.objects.count() == 1


def test_claiming_a_key_deletes_the_users_expired_keys_only(
    api, engineer, other_engineer, body
):
    post_entry(api.as_user(engineer), body, key="old")
    post_entry(api.as_user(other_engineer), body, key="old")
    ttl = datetime.timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL)
    IdempotencyKey.objects.update(created_at=timezone.now() - ttl * 2)

    post_entry(api.as_user(engineer), {**body, "hours": "1.00"}, key="new")

    kept = IdempotencyKey.objects.values_list("user__username", "key")
    assert sorted(kept) == [("ahmed", "new"), ("omar", "old")]


# Pages


@pytest.fixture
def form(project, structural, today):
    return {
        "project": project.pk,
        "phase": structural.pk,
        "date": today.isoformat(),
        "hours": "8",
        "description": "Completed foundation plans",
    }


def test_a_form_sent_twice_with_one_key_saves_once_and_redirects_the_same(
    signed_in, form
):
    first = submit_form(signed_in, form)
    retry = submit_form(signed_in, form)

    assert first.status_code == 302
    assert retry.status_code == 302
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert WorkLog.objects.count() == 1


def test_a_delete_sent_twice_with_one_key_redirects_twice_instead_of_a_404(
    signed_in, engineer, project, structural, yesterday
):
    entry = log_hours(engineer, project, structural, yesterday, "8")
    url = f"/worklogs/{entry.pk}/delete/"

    first = signed_in.post(url, headers={"Idempotency-Key": KEY})
    retry = signed_in.post(url, headers={"Idempotency-Key": KEY})

    assert first.status_code == 302
    assert (retry.status_code, retry["Location"]) == (302, first["Location"])
    assert not WorkLog.objects.exists()


def test_a_form_refused_for_going_too_fast_is_not_kept(signed_in, form, rates):
    rates(writes="1/1m")
    submit_form(signed_in, form, key="first")

    too_fast = submit_form(signed_in, {**form, "hours": "1"}, key="second")
    rates(writes="20/1m")
    later = submit_form(signed_in, {**form, "hours": "1"}, key="second")

    assert too_fast.status_code == 429
    assert later.status_code == 302
    assert "Idempotent-Replayed" not in later.headers
    assert WorkLog.objects.count() == 2


def test_a_form_sent_back_with_errors_frees_its_key_for_the_correction(signed_in, form):
    refused = submit_form(signed_in, {**form, "hours": "30"})
    corrected = submit_form(signed_in, form)

    assert refused.status_code == 200
    assert "at most 24 hours" in refused.content.decode()
    assert corrected.status_code == 302
    assert "Idempotent-Replayed" not in corrected.headers
    assert WorkLog.objects.get().hours == 8


def test_a_form_sent_by_htmx_twice_replays_its_redirect(signed_in, form):
    headers = {"Idempotency-Key": KEY, "HX-Request": "true"}

    first = signed_in.post("/worklogs/new/", form, headers=headers)
    retry = signed_in.post("/worklogs/new/", form, headers=headers)

    assert first["HX-Redirect"].startswith("/worklogs/?week=")
    assert retry["HX-Redirect"] == first["HX-Redirect"]
    assert retry["Idempotent-Replayed"] == "true"
    assert WorkLog.objects.count() == 1


def test_a_page_answers_a_reused_key_with_its_status(signed_in, form):
    submit_form(signed_in, form)

    response = submit_form(signed_in, {**form, "hours": "2"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert WorkLog.objects.count() == 1


def test_reading_a_form_ignores_the_header(signed_in):
    response = signed_in.get("/worklogs/new/", headers={"Idempotency-Key": KEY})

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_a_replay_carries_the_htmx_headers_but_not_the_cookies(rf, engineer):
    def redirect_by_htmx():
        response = HttpResponse(status=204)
        response.headers["HX-Redirect"] = "/worklogs/?week=2026-11-23"
        response.set_cookie("messages", "Work log added")
        return response

    def not_again():
        raise AssertionError("done twice")

    def request():
        return rf.post(
            "/worklogs/new/", {"hours": "8"}, headers={"Idempotency-Key": KEY}
        )

    run_once(request(), engineer, redirect_by_htmx)
    replay = run_once(request(), engineer, not_again)

    assert replay.status_code == 204
    assert replay.headers["HX-Redirect"] == "/worklogs/?week=2026-11-23"
    assert not replay.cookies


def test_a_form_sent_again_in_another_multipart_framing_is_the_same_request(
    signed_in, form
):
    def send(boundary):
        return signed_in.post(
            "/worklogs/new/",
            encode_multipart(boundary, form),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={"Idempotency-Key": KEY},
        )

    first = send("----BrowserBoundaryOne")
    retry = send("----BrowserBoundaryTwo")

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry["Location"] == first["Location"]
    assert WorkLog.objects.count() == 1


# Around it


def test_the_api_schema_documents_the_header_on_creating_an_entry(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    parameters = schema["paths"]["/api/v1/worklogs/"]["post"]["parameters"]
    assert {"Idempotency-Key"} <= {p["name"] for p in parameters if p["in"] == "header"}


def test_admin_lists_and_shows_keys_without_changing_them(
    client, administrator, api, engineer, body
):
    post_entry(api.as_user(engineer), body)
    client.force_login(administrator)
    entry = IdempotencyKey.objects.get()

    listing = client.get("/admin/tracksystem/idempotencykey/")
    page = client.get(f"/admin/tracksystem/idempotencykey/{entry.pk}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    assert "Beam calculations" in page.content.decode()
    assert "Save" not in page.content.decode()


# A real kill

SET_UP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from projects.models import Project
user = User.objects.create_user("ahmed", password="x")
user.groups.add(Group.objects.get(name="engineer"))
project = Project.objects.create(name="P", code="P")
print(user.pk, Token.objects.create(user=user).key, project.pk)
"""


@pytest.fixture
def own_database():
    """A migrated PostgreSQL database beside the suite's, for a real server."""
    with postgres_database(connection.settings_dict, "crash") as database:
        yield database


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="holding a worker inside its transaction needs PostgreSQL's row locks",
)
def test_a_worker_killed_mid_request_leaves_the_entry_to_one_retry(
    own_database, tmp_path, today
):
    url, database = own_database
    printed = manage(url, "shell", "-c", SET_UP)
    user, token, project = printed.splitlines()[-1].split()
    body = {
        "project": int(project),
        "date": today.isoformat(),
        "hours": "8",
        "description": "Sent once, answered after a crash",
    }
    server = Server(url, tmp_path / "gunicorn.log", WEB_CONCURRENCY="1").start()
    try:
        (worker,) = server.wait_for_workers(1)
        db = psycopg.connect(autocommit=True, **database)
        with db, psycopg.connect(**database) as held:
            # Holding the user's row stops the worker inside its transaction,
            # at the lock the day's total is checked under; the claim, which
            # only needs the row to stay, commits before.
            held.execute(
                "SELECT 1 FROM auth_user WHERE id = %s FOR NO KEY UPDATE", [int(user)]
            )
            request = threading.Thread(target=_post, args=(server, token, body))
            request.start()
            _wait_until_a_query_waits_for_a_lock(db)
            os.kill(worker, signal.SIGKILL)
            held.rollback()
            request.join()

            claimed = db.execute("SELECT status FROM tracksystem_idempotencykey")
            assert claimed.fetchall() == [("running",)]
            assert _post(server, token, body)[0] == 409
            db.execute(
                "UPDATE tracksystem_idempotencykey"
                " SET started_at = started_at - interval '1 hour'"
            )
            retried = _post(server, token, body)
            replayed = _post(server, token, body)
            entries = db.execute("SELECT count(*) FROM worklogs_worklog").fetchone()
    finally:
        server.stop()

    assert retried[0] == 201, retried
    assert (replayed[0], replayed[1]["Idempotent-Replayed"]) == (201, "true")
    assert json.loads(replayed[2]) == json.loads(retried[2])
    assert entries == (1,)


def _post(server, token, body):
    headers = {"Authorization": f"Token {token}", "Idempotency-Key": KEY}
    try:
        return server.post_json("/api/v1/worklogs/", body, headers)
    except OSError:  # the worker was killed while answering
        return None, None, None


def _wait_until_a_query_waits_for_a_lock(db, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        if waiting[0]:
            return
        time.sleep(0.05)
    pytest.fail("the worker never reached the lock")
