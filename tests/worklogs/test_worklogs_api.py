"""/api/v1/worklogs/: who sees and changes which entries, and the rules of a day."""

import datetime
from decimal import Decimal

import pytest

from projects.models import Phase, Project
from tests.conftest import log_hours
from worklogs.models import WorkLog


@pytest.fixture
def api(api):
    """The shared client, sending bodies as JSON as real API clients do."""
    api.default_format = "json"
    return api


@pytest.fixture
def tomorrow(today):
    return today + datetime.timedelta(days=1)


def assert_refused(response, field):
    """A 400 in the API's error shape, naming the field at fault."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"]
    assert body["code"] == "invalid"
    assert body["request_id"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert field in body["fields"], body


# Creating, reading, changing, deleting


def test_engineer_creates_an_entry(api, engineer, body, project, structural, today):
    response = api.as_user(engineer).post("/api/v1/worklogs/", body)

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["hours"] == "8.00"
    assert created["user"] == engineer.pk
    assert created["username"] == "ahmed"
    worklog = WorkLog.objects.get(pk=created["id"])
    assert (worklog.user, worklog.project, worklog.phase) == (
        engineer,
        project,
        structural,
    )
    assert worklog.date == today
    assert worklog.hours == Decimal("8")


def test_entry_is_logged_as_the_signed_in_user_whatever_the_body_says(
    api, engineer, other_engineer, body
):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "user": other_engineer.pk}
    )

    assert WorkLog.objects.get(pk=response.json()["id"]).user == engineer


def test_manager_creates_their_own_entry(api, manager, body):
    response = api.as_user(manager).post("/api/v1/worklogs/", body)

    assert response.status_code == 201
    assert WorkLog.objects.get().user == manager


def test_worklog_list_is_paginated_with_a_count(
    api, engineer, project, structural, today
):
    for days_ago in range(3):
        day = today - datetime.timedelta(days=days_ago)
        log_hours(engineer, project, structural, day, "8")

    response = api.as_user(engineer).get("/api/v1/worklogs/?page_size=2")

    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]


def test_engineer_reads_their_own_entry(api, engineer, project, structural, today):
    worklog = log_hours(engineer, project, structural, today, "7.25")

    response = api.as_user(engineer).get(f"/api/v1/worklogs/{worklog.pk}/")

    assert response.status_code == 200
    assert response.json()["hours"] == "7.25"


def test_engineer_patches_their_own_entry(api, engineer, project, structural, today):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"hours": "6.50", "description": "Slabs"}
    )

    assert response.status_code == 200
    worklog.refresh_from_db()
    assert (worklog.hours, worklog.description) == (Decimal("6.50"), "Slabs")


def test_engineer_deletes_their_own_entry(api, engineer, project, structural, today):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).delete(f"/api/v1/worklogs/{worklog.pk}/")

    assert response.status_code == 204
    assert not WorkLog.objects.exists()


def test_put_is_not_allowed(api, engineer, body, project, structural, today):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).put(f"/api/v1/worklogs/{worklog.pk}/", body)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "PUT" not in response.headers["Allow"]


@pytest.mark.parametrize("worklog_id", ["999999", "abc", "99999999999999999999"])
def test_unknown_entry_is_404_in_the_error_shape(api, engineer, worklog_id):
    response = api.as_user(engineer).get(f"/api/v1/worklogs/{worklog_id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# Who sees what


def test_engineer_lists_only_their_own_entries(
    api, engineer, other_engineer, project, structural, today
):
    own = log_hours(engineer, project, structural, today, "8")
    log_hours(other_engineer, project, structural, today, "8")

    response = api.as_user(engineer).get("/api/v1/worklogs/")

    assert response.json()["count"] == 1
    assert response.json()["results"][0]["id"] == own.pk


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_engineer_cannot_reach_another_engineers_log(
    api, engineer, other_engineer, project, structural, today, method
):
    theirs = log_hours(other_engineer, project, structural, today, "8")

    response = getattr(api.as_user(engineer), method)(
        f"/api/v1/worklogs/{theirs.pk}/", {"hours": "1"}
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.hours == Decimal("8")


def test_manager_lists_every_entry(
    api, manager, engineer, other_engineer, project, structural, today
):
    log_hours(engineer, project, structural, today, "8")
    log_hours(other_engineer, project, structural, today, "8")

    response = api.as_user(manager).get("/api/v1/worklogs/")

    assert response.json()["count"] == 2


def test_manager_reads_another_engineers_log(
    api, manager, engineer, project, structural, today
):
    theirs = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(manager).get(f"/api/v1/worklogs/{theirs.pk}/")

    assert response.status_code == 200
    assert response.json()["username"] == "ahmed"


def test_manager_cannot_edit_another_engineers_log(
    api, manager, engineer, project, structural, today
):
    theirs = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(manager).patch(
        f"/api/v1/worklogs/{theirs.pk}/", {"hours": "1"}
    )

    assert response.status_code == 403
    assert response.json()["error"] == "You can only change your own entries."
    theirs.refresh_from_db()
    assert theirs.hours == Decimal("8")


def test_manager_cannot_delete_another_engineers_log(
    api, manager, engineer, project, structural, today
):
    theirs = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(manager).delete(f"/api/v1/worklogs/{theirs.pk}/")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert WorkLog.objects.filter(pk=theirs.pk).exists()


def test_user_without_a_role_cannot_log_hours(api, no_role_user, body):
    response = api.as_user(no_role_user).post("/api/v1/worklogs/", body)

    assert response.status_code == 403
    assert not WorkLog.objects.exists()


# Filters


def test_list_filters_by_project(
    api, engineer, project, structural, project_without_phases, today
):
    log_hours(engineer, project, structural, today, "4")
    other = log_hours(engineer, project_without_phases, None, today, "4")

    response = api.as_user(engineer).get(
        f"/api/v1/worklogs/?project={project_without_phases.pk}"
    )

    assert [e["id"] for e in response.json()["results"]] == [other.pk]


def test_manager_filters_the_list_by_user(
    api, manager, engineer, other_engineer, project, structural, today
):
    log_hours(engineer, project, structural, today, "4")
    theirs = log_hours(other_engineer, project, structural, today, "4")

    response = api.as_user(manager).get(f"/api/v1/worklogs/?user={other_engineer.pk}")

    assert [e["id"] for e in response.json()["results"]] == [theirs.pk]


def test_engineer_filtering_by_another_user_sees_nothing(
    api, engineer, other_engineer, project, structural, today
):
    log_hours(other_engineer, project, structural, today, "4")

    response = api.as_user(engineer).get(f"/api/v1/worklogs/?user={other_engineer.pk}")

    assert response.json()["count"] == 0


def test_list_filters_by_start_and_end_dates_inclusive(
    api, engineer, project, structural
):
    for day in (1, 2, 3, 4):
        log_hours(engineer, project, structural, datetime.date(2024, 5, day), "4")

    response = api.as_user(engineer).get(
        "/api/v1/worklogs/?start=2024-05-02&end=2024-05-03"
    )

    dates = [e["date"] for e in response.json()["results"]]
    assert dates == ["2024-05-03", "2024-05-02"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("project=abc", "project"),
        ("project=999999", "project"),
        ("project=99999999999999999999", "project"),
        ("user=ahmed", "user"),
        ("start=2024-13-01", "start"),
        ("end=soon", "end"),
        ("start=%00", "start"),
    ],
)
def test_invalid_filter_value_is_400_in_the_error_shape(api, engineer, query, field):
    response = api.as_user(engineer).get(f"/api/v1/worklogs/?{query}")

    assert_refused(response, field)


# Hours


@pytest.mark.parametrize("hours", ["0", "0.00", "-1", "24.01", "25"])
def test_hours_outside_a_single_day_are_refused(api, engineer, body, hours):
    response = api.as_user(engineer).post("/api/v1/worklogs/", {**body, "hours": hours})

    assert_refused(response, "hours")
    assert not WorkLog.objects.exists()


@pytest.mark.parametrize("hours", ["1.234", "eight", "", "NaN", "Infinity", "1e400"])
def test_hours_that_are_not_a_two_decimal_number_are_refused(
    api, engineer, body, hours
):
    response = api.as_user(engineer).post("/api/v1/worklogs/", {**body, "hours": hours})

    assert_refused(response, "hours")
    assert not WorkLog.objects.exists()


def test_smallest_and_largest_single_entries_are_accepted(api, engineer, body, today):
    api.as_user(engineer)
    earlier = (today - datetime.timedelta(days=3)).isoformat()

    small = api.post("/api/v1/worklogs/", {**body, "hours": "0.01"})
    full_day = api.post("/api/v1/worklogs/", {**body, "hours": "24", "date": earlier})

    assert (small.status_code, full_day.status_code) == (201, 201)


# 24 hours a day


def test_entry_that_pushes_the_day_over_24_hours_is_refused(
    api, engineer, body, project, structural, today
):
    log_hours(engineer, project, structural, today, "20")

    response = api.as_user(engineer).post("/api/v1/worklogs/", {**body, "hours": "5"})

    assert_refused(response, "hours")
    assert "20 hours are already logged" in response.json()["error"]
    assert WorkLog.objects.count() == 1


def test_entries_adding_up_to_exactly_24_hours_are_accepted(
    api, engineer, body, project, structural, today
):
    log_hours(engineer, project, structural, today, "20")

    response = api.as_user(engineer).post("/api/v1/worklogs/", {**body, "hours": "4"})

    assert response.status_code == 201
    assert WorkLog.objects.hours_on(engineer, today) == Decimal("24")


def test_day_total_counts_only_the_engineers_own_entries(
    api, engineer, other_engineer, body, project, structural, today
):
    log_hours(other_engineer, project, structural, today, "20")

    response = api.as_user(engineer).post("/api/v1/worklogs/", body)

    assert response.status_code == 201


def test_patch_that_pushes_the_day_over_24_hours_is_refused(
    api, engineer, project, structural, today
):
    log_hours(engineer, project, structural, today, "20")
    worklog = log_hours(engineer, project, structural, today, "2")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"hours": "5"}
    )

    assert_refused(response, "hours")
    worklog.refresh_from_db()
    assert worklog.hours == Decimal("2")


def test_patch_of_an_entry_to_its_own_hours_is_accepted(
    api, engineer, project, structural, today
):
    worklog = log_hours(engineer, project, structural, today, "24")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"hours": "24.00"}
    )

    assert response.status_code == 200


def test_patch_moving_an_entry_onto_a_full_day_is_refused(
    api, engineer, project, structural, today, yesterday
):
    log_hours(engineer, project, structural, yesterday, "20")
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"date": yesterday.isoformat()}
    )

    assert_refused(response, "hours")
    worklog.refresh_from_db()
    assert worklog.date == today


# Dates


def test_entry_dated_tomorrow_is_refused(api, engineer, body, tomorrow):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "date": tomorrow.isoformat()}
    )

    assert_refused(response, "date")
    assert not WorkLog.objects.exists()


def test_entry_dated_yesterday_is_accepted(api, engineer, body, yesterday):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "date": yesterday.isoformat()}
    )

    assert response.status_code == 201


def test_patch_moving_an_entry_to_tomorrow_is_refused(
    api, engineer, project, structural, today, tomorrow
):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"date": tomorrow.isoformat()}
    )

    assert_refused(response, "date")
    worklog.refresh_from_db()
    assert worklog.date == today


@pytest.mark.parametrize("date", ["2024-02-30", "03/12/2024", "yesterday", ""])
def test_entry_with_an_invalid_date_is_refused(api, engineer, body, date):
    response = api.as_user(engineer).post("/api/v1/worklogs/", {**body, "date": date})

    assert_refused(response, "date")
    assert not WorkLog.objects.exists()


# Projects and phases


def test_phase_of_another_project_is_refused(api, engineer, body):
    elsewhere = Project.objects.create(name="Harbour Bridge", code="HB")
    foreign = Phase.objects.create(project=elsewhere, name="Survey")

    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "phase": foreign.pk}
    )

    assert_refused(response, "phase")
    assert not WorkLog.objects.exists()


@pytest.mark.parametrize("phase", ["missing", None])
def test_project_with_phases_needs_a_phase(api, engineer, body, phase):
    if phase == "missing":
        del body["phase"]
    else:
        body["phase"] = phase

    response = api.as_user(engineer).post("/api/v1/worklogs/", body)

    assert_refused(response, "phase")
    assert not WorkLog.objects.exists()


def test_project_without_phases_takes_entries_without_one(
    api, engineer, body, project_without_phases
):
    del body["phase"]
    body["project"] = project_without_phases.pk

    response = api.as_user(engineer).post("/api/v1/worklogs/", body)

    assert response.status_code == 201
    assert response.json()["phase"] is None


def test_logging_on_a_done_project_is_refused(api, engineer, body, done_project):
    body.update(project=done_project.pk, phase=done_project.phases.get().pk)

    response = api.as_user(engineer).post("/api/v1/worklogs/", body)

    assert_refused(response, "project")
    assert not WorkLog.objects.exists()


def test_entry_on_a_done_project_cannot_be_patched(
    api, engineer, done_project, yesterday
):
    phase = done_project.phases.get()
    worklog = log_hours(engineer, done_project, phase, yesterday, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"hours": "2"}
    )

    assert_refused(response, "project")
    worklog.refresh_from_db()
    assert worklog.hours == Decimal("8")


def test_entry_on_a_done_project_cannot_be_deleted(
    api, engineer, done_project, yesterday
):
    phase = done_project.phases.get()
    worklog = log_hours(engineer, done_project, phase, yesterday, "8")

    response = api.as_user(engineer).delete(f"/api/v1/worklogs/{worklog.pk}/")

    assert_refused(response, "project")
    assert WorkLog.objects.filter(pk=worklog.pk).exists()


def test_entry_cannot_be_moved_onto_a_done_project(
    api, engineer, project, structural, done_project, today
):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/",
        {"project": done_project.pk, "phase": done_project.phases.get().pk},
    )

    assert_refused(response, "project")
    worklog.refresh_from_db()
    assert worklog.project == project


@pytest.mark.parametrize("project_id", [999999, 99999999999999999999, "VDP", None])
def test_unknown_project_is_refused(api, engineer, body, project_id):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "project": project_id}
    )

    assert_refused(response, "project")
    assert not WorkLog.objects.exists()


# Descriptions


@pytest.mark.parametrize("description", ["", "   \n"])
def test_empty_description_is_refused(api, engineer, body, description):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "description": description}
    )

    assert_refused(response, "description")
    assert not WorkLog.objects.exists()


def test_description_of_2000_characters_is_accepted(api, engineer, body):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "description": "x" * 2000}
    )

    assert response.status_code == 201


def test_description_over_2000_characters_is_refused(api, engineer, body):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "description": "x" * 2001}
    )

    assert_refused(response, "description")
    assert not WorkLog.objects.exists()


def test_description_with_a_null_byte_is_refused(api, engineer, body):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", {**body, "description": "Beams\x00"}
    )

    assert_refused(response, "description")
    assert not WorkLog.objects.exists()


def test_patch_with_a_null_byte_in_the_description_is_refused(
    api, engineer, project, structural, today
):
    worklog = log_hours(engineer, project, structural, today, "8")

    response = api.as_user(engineer).patch(
        f"/api/v1/worklogs/{worklog.pk}/", {"description": "\x00"}
    )

    assert_refused(response, "description")
    worklog.refresh_from_db()
    assert worklog.description == "Work"


# Queries

# Two for sign-in (token, groups), then the page's count and its rows.
LIST_QUERIES = 4


def test_worklog_list_queries_do_not_grow_with_entries(
    api, manager, engineer, project, structural, today, django_assert_num_queries
):
    def add_entries(count):
        for days_ago in range(count):
            day = today - datetime.timedelta(days=days_ago)
            log_hours(engineer, project, structural, day, "1")
            log_hours(manager, project, structural, day, "1")

    api.as_user(manager)
    add_entries(2)
    with django_assert_num_queries(LIST_QUERIES):
        assert api.get("/api/v1/worklogs/").json()["count"] == 4

    add_entries(20)
    with django_assert_num_queries(LIST_QUERIES):
        assert api.get("/api/v1/worklogs/").json()["count"] == 44
