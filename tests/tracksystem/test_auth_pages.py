import pytest
from django.contrib.auth.models import User

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_page_is_styled_and_asks_for_username_and_password(client):
    response = client.get("/accounts/login/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "css/app.css" in page
    assert 'name="username"' in page
    assert 'name="password"' in page


def test_wrong_password_is_a_form_error(client, engineer):
    response = client.post(
        "/accounts/login/", {"username": "ahmed", "password": "nope"}
    )

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_engineer_signs_in_and_lands_on_the_week(client, engineer):
    response = client.post(
        "/accounts/login/", {"username": "ahmed", "password": PASSWORD}
    )

    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/worklogs/"


def test_manager_lands_on_the_dashboard(client, manager):
    client.force_login(manager)

    assert client.get("/")["Location"] == "/projects/"


def test_sign_out_takes_a_post_and_ends_the_session(client, engineer):
    client.force_login(engineer)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/worklogs/").status_code == 302


def test_password_change_keeps_the_person_signed_in(client, engineer):
    client.force_login(engineer)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-and-longer-secret",
            "new_password2": "a-new-and-longer-secret",
        },
    )

    assert response["Location"] == "/accounts/password_change/done/"
    assert User.objects.get(username="ahmed").check_password("a-new-and-longer-secret")
    assert client.get("/worklogs/").status_code == 200


def test_password_change_explains_a_mismatch(client, engineer):
    client.force_login(engineer)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-and-longer-secret",
            "new_password2": "something-else-entirely",
        },
    )

    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()
