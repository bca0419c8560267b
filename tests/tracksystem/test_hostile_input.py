"""Hostile text in every field a person types: kept as typed or refused, never a 500.

What is kept is shown escaped on every page that shows it. PostgreSQL cannot
store a null byte in text, so a NUL is refused up front, on every database.
"""

import json

import pytest
from django.utils.html import escape

from projects.models import Phase, Project
from tests.conftest import PASSWORD, log_hours
from tests.worklogs.test_worklog_pages import submit
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db

KEPT = {
    "html": '<script>alert("x")</script><img src=x onerror="alert(1)">',
    "sql": "'; DROP TABLE worklogs_worklog; -- \" OR 1=1",
    "right-to-left": "\u202etxt.exe\u202c \u200fמשרד\u200e",
    "emoji": "👷🏽‍♀️ 🏗️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "control": "tab\tbell\x07escape\x1b[31m delete\x7f",
}
NUL = "before\x00after"
NUL_MESSAGE = "Null characters are not allowed."
LONG = "x" * 10_000
# Only a JSON body can carry one: a form or a query string is UTF-8 bytes,
# which Django decodes with replacement characters.
LONE_SURROGATE = "before\ud800after"

kept = pytest.mark.parametrize("text", KEPT.values(), ids=KEPT.keys())
not_dates = pytest.mark.parametrize(
    "text", [*KEPT.values(), NUL, LONG], ids=[*KEPT, "nul", "long"]
)


def post_json(client, url, body):
    # Serialised here, so that a lone surrogate goes out as its \ud800 escape.
    return client.post(url, json.dumps(body), content_type="application/json")


def assert_refused(response, field, message):
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["fields"], body
    assert message in body["error"], body


# Work-log descriptions, through the API and the form


@kept
def test_api_keeps_a_hostile_description_as_sent(api, engineer, body, text):
    response = post_json(
        api.as_user(engineer), "/api/v1/worklogs/", {**body, "description": text}
    )

    assert response.status_code == 201, response.content
    assert response.json()["description"] == text
    assert WorkLog.objects.get().description == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (NUL, NUL_MESSAGE),
        (LONG, "no more than 2000 characters"),
        (LONE_SURROGATE, "Surrogate characters are not allowed"),
    ],
    ids=["nul", "long", "lone-surrogate"],
)
def test_api_refuses_a_description_it_cannot_keep(api, engineer, body, text, message):
    response = post_json(
        api.as_user(engineer), "/api/v1/worklogs/", {**body, "description": text}
    )

    assert_refused(response, "description", message)
    assert not WorkLog.objects.exists()


@kept
def test_form_keeps_a_hostile_description_and_the_pages_show_it_escaped(
    client, engineer, manager, project, structural, today, text
):
    client.force_login(engineer)
    assert submit(client, project, structural, today, "1", text).status_code == 302
    worklog = WorkLog.objects.get()
    assert worklog.description == text

    pages = [
        (engineer, "/worklogs/"),
        (engineer, f"/worklogs/{worklog.pk}/delete/"),
        (manager, f"/projects/{project.pk}/"),
    ]
    for user, url in pages:
        client.force_login(user)
        assert_shown_escaped(client.get(url), text)


@pytest.mark.parametrize(
    ("text", "message"),
    [(NUL, NUL_MESSAGE), (LONG, "at most 2000 characters")],
    ids=["nul", "long"],
)
def test_form_refuses_a_description_it_cannot_keep(
    client, engineer, project, structural, today, text, message
):
    client.force_login(engineer)

    response = submit(client, project, structural, today, "1", text)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WorkLog.objects.exists()


def assert_shown_escaped(response, text):
    assert response.status_code == 200, response.request["PATH_INFO"]
    page = response.content.decode()
    assert escape(text) in page, response.request["PATH_INFO"]
    assert "<script>alert" not in page


# Project and phase names, typed by an administrator


def add_project_in_admin(client, name, phase_name):
    return client.post(
        "/admin/projects/project/add/",
        {
            "name": name,
            "code": "HOST",
            "status": "active",
            "budget_hours": "",
            "description": name,
            "phases-TOTAL_FORMS": "1",
            "phases-INITIAL_FORMS": "0",
            "phases-0-position": "1",
            "phases-0-name": phase_name,
            "phases-0-budget_hours": "",
        },
    )


@kept
def test_admin_keeps_hostile_names_and_every_page_shows_them_escaped(
    client, administrator, manager, engineer, today, text
):
    client.force_login(administrator)
    assert add_project_in_admin(client, text, text).status_code == 302
    project = Project.objects.get(code="HOST")
    assert (project.name, project.description) == (text, text)
    phase = Phase.objects.get(project=project)
    assert phase.name == text
    log_hours(engineer, project, phase, today, "1")

    pages = [
        (administrator, "/admin/projects/project/"),
        (administrator, "/admin/projects/phase/"),
        (administrator, "/admin/worklogs/worklog/"),
        (manager, "/projects/"),
        (manager, f"/projects/{project.pk}/"),
        (engineer, "/worklogs/"),
    ]
    for user, url in pages:
        client.force_login(user)
        assert_shown_escaped(client.get(url), text)


@pytest.mark.parametrize(
    ("text", "message"),
    [(NUL, NUL_MESSAGE), (LONG, "at most 200 characters")],
    ids=["nul", "long"],
)
@pytest.mark.parametrize("field", ["project", "phase"])
def test_admin_refuses_a_name_it_cannot_keep(
    client, administrator, field, text, message
):
    client.force_login(administrator)
    names = {"project": "Harbour Office", "phase": "Survey", field: text}

    response = add_project_in_admin(client, names["project"], names["phase"])

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Project.objects.filter(code="HOST").exists()


@not_dates
def test_admin_searches_for_hostile_text_without_failing(
    client, administrator, project, text
):
    client.force_login(administrator)

    for url in ["/admin/projects/project/", "/admin/worklogs/worklog/"]:
        assert client.get(url, {"q": text}).status_code == 200


# Signing in


@pytest.mark.parametrize(
    ("text", "message"),
    [
        *[(text, "Please enter a correct username") for text in KEPT.values()],
        (NUL, NUL_MESSAGE),
        # The form checks the length only in the browser.
        (LONG, "Please enter a correct username"),
    ],
    ids=[*KEPT, "nul", "long"],
)
def test_sign_in_page_refuses_a_hostile_username_and_shows_it_escaped(
    client, engineer, text, message
):
    response = client.post("/accounts/login/", {"username": text, "password": PASSWORD})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert_shown_escaped(response, text)


@pytest.mark.parametrize(
    "text",
    [*KEPT.values(), NUL, LONG, LONE_SURROGATE],
    ids=[*KEPT, "nul", "long", "lone-surrogate"],
)
def test_token_endpoint_refuses_a_hostile_username_with_a_400(client, engineer, text):
    response = post_json(
        client, "/api/v1/auth/token/", {"username": text, "password": PASSWORD}
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"


# Date ranges and filters in query strings


@not_dates
@pytest.mark.parametrize("name", ["start", "end", "project", "phase", "user"])
def test_api_refuses_a_hostile_filter_with_a_400(api, engineer, name, text):
    response = api.as_user(engineer).get("/api/v1/worklogs/", {name: text})

    assert response.status_code == 400, response.content
    assert name in response.json()["fields"]


@not_dates
def test_api_refuses_a_hostile_project_status_with_a_400(api, engineer, text):
    response = api.as_user(engineer).get("/api/v1/projects/", {"status": text})

    assert response.status_code == 400, response.content
    assert "status" in response.json()["fields"]


@not_dates
@pytest.mark.parametrize(
    "url", ["/projects/", "/projects/{pk}/", "/worklogs/", "/worklogs/new/"]
)
def test_pages_answer_a_hostile_date_without_running_it(
    client, manager, project, url, text
):
    client.force_login(manager)
    url = url.format(pk=project.pk)

    response = client.get(url, {"start": text, "end": text, "week": text, "date": text})

    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


@pytest.mark.parametrize(
    "week", ["0001-01-01", "0001-01-09", "9999-12-20", "9999-12-31"]
)
def test_week_at_the_ends_of_the_calendar_shows_this_week_instead(
    client, engineer, week
):
    client.force_login(engineer)

    response = client.get("/worklogs/", {"week": week})

    assert response.status_code == 200
    assert "That week could not be read" in response.content.decode()


@pytest.mark.parametrize("week", ["0001-01-15", "9999-12-17"])
def test_week_two_weeks_from_the_ends_of_the_calendar_opens(client, engineer, week):
    client.force_login(engineer)

    response = client.get("/worklogs/", {"week": week})

    assert response.status_code == 200
    assert "That week could not be read" not in response.content.decode()


def test_export_refuses_a_hostile_date_with_a_400(client, manager):
    client.force_login(manager)

    response = client.get("/worklogs/export.csv", {"start": KEPT["html"]})

    assert response.status_code == 400
    assert "<script>alert" not in response.content.decode()
