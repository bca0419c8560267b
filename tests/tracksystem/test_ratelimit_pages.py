"""Sign-in limits (django-ratelimit) and the work-log form's writes limit."""

import pytest

from tests.conftest import PASSWORD
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db


def sign_in(client, username, password="wrong", **extra):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, **extra
    )


def test_a_guessed_username_is_paused_with_a_page_that_says_how_long(
    client, engineer, rates
):
    rates(sign_in_username="3/1m")

    statuses = [sign_in(client, "ahmed").status_code for _ in range(3)]
    paused = sign_in(client, "AHMED ", PASSWORD)

    assert statuses == [200, 200, 200]
    assert paused.status_code == 429
    wait = int(paused.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert f"Wait {wait} second" in paused.content.decode()
    assert "_auth_user_id" not in client.session


def test_another_username_signs_in_while_one_is_paused(
    client, engineer, manager, rates
):
    rates(sign_in_username="2/1m")
    for _ in range(3):
        sign_in(client, "ahmed")

    response = sign_in(client, "sarah", PASSWORD)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == manager.pk


def test_one_address_trying_many_usernames_is_paused(client, rates):
    rates(sign_in_ip="3/1m")

    statuses = [sign_in(client, f"user{n}").status_code for n in range(4)]
    elsewhere = sign_in(client, "user9", REMOTE_ADDR="198.51.100.7")

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200


def test_the_token_endpoint_shares_the_sign_in_count(client, api, engineer, rates):
    rates(sign_in_username="2/1m")
    sign_in(client, "ahmed")
    sign_in(client, "ahmed")

    response = api.post(
        "/api/v1/auth/token/",
        {"username": "ahmed", "password": PASSWORD},
        format="json",
    )

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert response.json()["retry_after"] == int(response.headers["Retry-After"])


def test_the_admin_sign_in_is_limited_too(client, administrator, rates):
    rates(sign_in_username="1/1m")
    client.post("/admin/login/", {"username": "admin", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()


def test_a_form_sent_too_fast_comes_back_as_typed_and_saves_nothing(
    client, engineer, project, structural, today, rates
):
    rates(writes="1/1m")
    client.force_login(engineer)
    entry = {
        "project": project.pk,
        "phase": structural.pk,
        "date": today.isoformat(),
        "hours": "2",
        "description": "Foundation plans",
    }
    assert client.post("/worklogs/new/", entry).status_code == 302

    again = client.post("/worklogs/new/", {**entry, "description": "Second entry"})

    assert again.status_code == 429
    assert again.headers["Retry-After"]
    page = again.content.decode()
    assert "faster than the limit allows" in page
    assert "Second entry" in page
    assert WorkLog.objects.count() == 1


def test_the_form_and_the_api_count_writes_together(
    client, api, engineer, project, structural, today, rates
):
    rates(writes="1/1m")
    client.force_login(engineer)
    api.as_user(engineer).post("/api/v1/worklogs/", {}, format="json")

    response = client.post(
        "/worklogs/new/",
        {
            "project": project.pk,
            "phase": structural.pk,
            "date": today.isoformat(),
            "hours": "2",
            "description": "Typed once",
        },
    )

    assert response.status_code == 429
    assert WorkLog.objects.count() == 0
