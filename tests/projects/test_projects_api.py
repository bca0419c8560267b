"""/api/v1/projects/: projects with their hours, and phases on the detail."""

import datetime

import pytest

from projects.models import Phase, Project
from tests.conftest import log_hours


def add_projects(count, engineer, day):
    """`count` more projects, each with two phases and an entry on each phase."""
    first = Project.objects.count()
    for number in range(first, first + count):
        project = Project.objects.create(name=f"Tower {number}", code=f"T{number}")
        for position in (1, 2):
            phase = Phase.objects.create(
                project=project, name=f"Phase {position}", position=position
            )
            log_hours(engineer, project, phase, day, "2")


def add_phases_and_logs(project, count, engineer, day):
    """`count` more phases on `project`, each with two entries."""
    first = project.phases.count()
    for number in range(first, first + count):
        phase = Phase.objects.create(project=project, name=f"Extra {number}")
        log_hours(engineer, project, phase, day, "1")
        log_hours(engineer, project, phase, day, "0.5")


def assert_not_found(response):
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert body["error"]
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_project_list_is_paginated(api, engineer, project, project_without_phases):
    response = api.as_user(engineer).get("/api/v1/projects/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["next"] is None
    assert body["previous"] is None
    assert [p["code"] for p in body["results"]] == ["VDP", "VEX"]


def test_project_list_accepts_a_page_size(api, engineer, today):
    add_projects(3, engineer, today)

    response = api.as_user(engineer).get("/api/v1/projects/?page_size=2")

    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


def test_project_list_caps_the_page_size_at_200(api, engineer):
    Project.objects.bulk_create(
        Project(name=f"Tower {n}", code=f"T{n}") for n in range(201)
    )

    response = api.as_user(engineer).get("/api/v1/projects/?page_size=1000")

    assert len(response.json()["results"]) == 200


@pytest.mark.parametrize("page", ["2", "0", "last-but-one"])
def test_project_list_page_out_of_range_is_404_in_the_error_shape(
    api, engineer, project, page
):
    response = api.as_user(engineer).get(f"/api/v1/projects/?page={page}")

    assert_not_found(response)


def test_project_list_filters_by_status(api, engineer, project, done_project):
    response = api.as_user(engineer).get("/api/v1/projects/?status=done")

    assert [p["code"] for p in response.json()["results"]] == ["OLD"]


def test_project_list_refuses_an_unknown_status(api, engineer, project):
    response = api.as_user(engineer).get("/api/v1/projects/?status=finished")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "status" in response.json()["fields"]


def test_project_list_totals_every_entry_whatever_its_date(
    api, engineer, other_engineer, project, structural, today
):
    long_ago = datetime.date(2019, 3, 4)
    log_hours(engineer, project, structural, long_ago, "7.5")
    log_hours(other_engineer, project, structural, today, "2.25")

    response = api.as_user(engineer).get("/api/v1/projects/")

    (listed,) = response.json()["results"]
    assert listed["logged_hours"] == "9.75"
    assert listed["last_activity"] == today.isoformat()
    assert listed["is_over_budget"] is False


def test_project_over_its_budget_is_flagged(api, engineer, project, structural, today):
    for days_ago in range(5):
        day = today - datetime.timedelta(days=days_ago)
        log_hours(engineer, project, structural, day, "20.5")

    response = api.as_user(engineer).get(f"/api/v1/projects/{project.pk}/")

    assert response.json()["logged_hours"] == "102.50"
    assert response.json()["is_over_budget"] is True


def test_project_detail_lists_phases_with_their_totals(
    api, engineer, other_engineer, project, structural, today, yesterday
):
    concept = project.phases.get(name="Concept")
    log_hours(engineer, project, concept, datetime.date(2020, 1, 2), "3")
    log_hours(engineer, project, structural, yesterday, "8")
    log_hours(other_engineer, project, structural, today, "4.5")

    response = api.as_user(engineer).get(f"/api/v1/projects/{project.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["logged_hours"] == "15.50"
    assert body["phases"] == [
        {
            "id": concept.pk,
            "name": "Concept",
            "position": 1,
            "budget_hours": "40.00",
            "logged_hours": "3.00",
        },
        {
            "id": structural.pk,
            "name": "Structural Design",
            "position": 2,
            "budget_hours": "60.00",
            "logged_hours": "12.50",
        },
    ]


def test_project_detail_totals_phases_with_no_entries_as_zero(api, engineer, project):
    response = api.as_user(engineer).get(f"/api/v1/projects/{project.pk}/")

    body = response.json()
    assert body["logged_hours"] == "0.00"
    assert body["last_activity"] is None
    assert [p["logged_hours"] for p in body["phases"]] == ["0.00", "0.00"]


def test_project_without_phases_has_an_empty_phase_list(
    api, engineer, project_without_phases, today
):
    log_hours(engineer, project_without_phases, None, today, "6")

    response = api.as_user(engineer).get(
        f"/api/v1/projects/{project_without_phases.pk}/"
    )

    body = response.json()
    assert body["phases"] == []
    assert body["logged_hours"] == "6.00"
    assert body["budget_hours"] is None


def test_project_detail_totals_only_that_projects_entries(
    api, engineer, project, structural, project_without_phases, today
):
    log_hours(engineer, project, structural, today, "5")
    log_hours(engineer, project_without_phases, None, today, "3")

    response = api.as_user(engineer).get(f"/api/v1/projects/{project.pk}/")

    assert response.json()["logged_hours"] == "5.00"


def test_unknown_project_is_404_in_the_error_shape(api, engineer):
    response = api.as_user(engineer).get("/api/v1/projects/999999/")

    assert_not_found(response)


def test_projects_are_read_only(api, manager, project):
    response = api.as_user(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"name": "Renamed"}, format="json"
    )

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# Two for sign-in (token, groups), then the page's count and its rows.
LIST_QUERIES = 4


def test_project_list_queries_do_not_grow_with_projects(
    api, engineer, today, django_assert_num_queries
):
    api.as_user(engineer)
    add_projects(2, engineer, today)
    with django_assert_num_queries(LIST_QUERIES):
        assert api.get("/api/v1/projects/").json()["count"] == 2

    add_projects(20, engineer, today)
    with django_assert_num_queries(LIST_QUERIES):
        assert api.get("/api/v1/projects/").json()["count"] == 22


# Two for sign-in, then the project and its phases.
DETAIL_QUERIES = 4


def test_project_detail_queries_do_not_grow_with_phases_and_entries(
    api, engineer, project_without_phases, today, django_assert_num_queries
):
    api.as_user(engineer)
    url = f"/api/v1/projects/{project_without_phases.pk}/"
    add_phases_and_logs(project_without_phases, 2, engineer, today)
    with django_assert_num_queries(DETAIL_QUERIES):
        assert len(api.get(url).json()["phases"]) == 2

    add_phases_and_logs(project_without_phases, 20, engineer, today)
    with django_assert_num_queries(DETAIL_QUERIES):
        assert len(api.get(url).json()["phases"]) == 22
