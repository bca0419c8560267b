import datetime
from decimal import Decimal

import pytest

from tests.conftest import PASSWORD, log_hours
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, engineer):
    client.force_login(engineer)
    return client


def submit(
    client, project, phase, date, hours, description="Completed foundation plans"
):
    return client.post(
        "/worklogs/new/",
        {
            "project": project.pk,
            "phase": phase.pk if phase else "",
            "date": date.isoformat(),
            "hours": hours,
            "description": description,
        },
    )


def test_engineer_logs_eight_hours_through_the_form(
    signed_in, engineer, project, structural, today
):
    response = submit(signed_in, project, structural, today, "8")

    assert response.status_code == 302
    entry = WorkLog.objects.get()
    assert (entry.user, entry.phase, entry.hours) == (
        engineer,
        structural,
        Decimal("8"),
    )
    page = signed_in.get(response["Location"])
    assert "Work log added: 8 hours." in page.content.decode()


def test_form_refuses_more_than_24_hours_in_a_day_and_keeps_what_was_typed(
    signed_in, engineer, project, structural, today
):
    log_hours(engineer, project, structural, today, "20")

    response = submit(signed_in, project, structural, today, "5", "Overtime")

    assert response.status_code == 200
    page = response.content.decode()
    assert "20 hours are already logged" in page
    assert "at most 4 more" in page
    assert "Overtime" in page
    assert WorkLog.objects.count() == 1


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "Hours must be more than zero."),
        ("-1", "Hours must be more than zero."),
        ("24.5", "One entry can hold at most 24 hours."),
        ("abc", "Enter a number."),
    ],
)
def test_form_refuses_bad_hours_with_a_message(
    signed_in, project, structural, today, hours, message
):
    response = submit(signed_in, project, structural, today, hours)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WorkLog.objects.exists()


def test_form_refuses_a_date_in_the_future(signed_in, project, structural, today):
    response = submit(
        signed_in, project, structural, today + datetime.timedelta(days=1), "8"
    )

    assert "The date cannot be in the future." in response.content.decode()
    assert not WorkLog.objects.exists()


def test_form_refuses_a_phase_of_another_project(
    signed_in, project, project_without_phases, structural, today
):
    response = submit(signed_in, project_without_phases, structural, today, "8")

    assert "This phase belongs to another project." in response.content.decode()
    assert not WorkLog.objects.exists()


def test_form_asks_for_a_phase_when_the_project_has_phases(signed_in, project, today):
    response = submit(signed_in, project, None, today, "8")

    assert "Choose a phase of this project." in response.content.decode()


def test_form_accepts_no_phase_on_a_project_without_phases(
    signed_in, project_without_phases, today
):
    response = submit(signed_in, project_without_phases, None, today, "3")

    assert response.status_code == 302
    assert WorkLog.objects.get().phase is None


def test_form_does_not_offer_done_projects(signed_in, done_project, project):
    page = signed_in.get("/worklogs/new/").content.decode()

    assert "Villa Design Phase" in page
    assert "Old Tower" not in page


def test_form_refuses_logging_on_a_done_project(signed_in, done_project, today):
    response = submit(signed_in, done_project, done_project.phases.get(), today, "2")

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not WorkLog.objects.exists()


def test_week_shows_hours_per_day_and_the_total(
    signed_in, engineer, other_engineer, project, structural
):
    monday = datetime.date(2026, 11, 23)
    log_hours(engineer, project, structural, monday, "8", "Foundation plans")
    log_hours(engineer, project, structural, monday, "1.5", "Review")
    log_hours(engineer, project, structural, monday + datetime.timedelta(days=2), "6")
    log_hours(other_engineer, project, structural, monday, "7", "Someone else's work")

    response = signed_in.get("/worklogs/?week=2026-11-25")

    week = response.context["week"]
    assert week.start == monday
    assert [day["hours"] for day in week.days][:3] == [Decimal("9.5"), 0, Decimal("6")]
    assert week.total == Decimal("15.5")
    page = response.content.decode()
    assert "Foundation plans" in page
    assert "Someone else&#x27;s work" not in page


def test_week_with_a_malformed_date_shows_the_current_week(signed_in, today):
    response = signed_in.get("/worklogs/?week=not-a-date")

    assert response.status_code == 200
    assert response.context["week"].start <= today <= response.context["week"].end
    assert "That week could not be read" in response.content.decode()


def test_engineer_corrects_an_own_entry(
    signed_in, engineer, project, structural, yesterday
):
    entry = log_hours(engineer, project, structural, yesterday, "8")

    response = signed_in.post(
        f"/worklogs/{entry.pk}/edit/",
        {
            "project": project.pk,
            "phase": structural.pk,
            "date": yesterday.isoformat(),
            "hours": "7.5",
            "description": "Corrected",
        },
    )

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.hours, entry.description) == (Decimal("7.5"), "Corrected")


def test_editing_an_entry_to_its_own_hours_is_not_counted_twice(
    signed_in, engineer, project, structural, yesterday
):
    entry = log_hours(engineer, project, structural, yesterday, "24")

    response = signed_in.post(
        f"/worklogs/{entry.pk}/edit/",
        {
            "project": project.pk,
            "phase": structural.pk,
            "date": yesterday.isoformat(),
            "hours": "24",
            "description": "Long day",
        },
    )

    assert response.status_code == 302


def test_engineer_deletes_an_own_entry_after_confirming(
    signed_in, engineer, project, structural, yesterday
):
    entry = log_hours(engineer, project, structural, yesterday, "8")

    assert signed_in.get(f"/worklogs/{entry.pk}/delete/").status_code == 200
    assert WorkLog.objects.exists()

    response = signed_in.post(f"/worklogs/{entry.pk}/delete/")

    assert response.status_code == 302
    assert not WorkLog.objects.exists()


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_engineer_cannot_open_another_engineers_entry(
    signed_in, other_engineer, project, structural, yesterday, action
):
    entry = log_hours(other_engineer, project, structural, yesterday, "8")

    assert signed_in.get(f"/worklogs/{entry.pk}/{action}/").status_code == 404
    assert (
        signed_in.post(f"/worklogs/{entry.pk}/{action}/", {"hours": "1"}).status_code
        == 404
    )
    entry.refresh_from_db()
    assert entry.hours == Decimal("8")


def test_manager_cannot_change_an_engineers_entry_from_the_pages(
    client, manager, engineer, project, structural, yesterday
):
    entry = log_hours(engineer, project, structural, yesterday, "8")
    client.force_login(manager)

    assert client.post(f"/worklogs/{entry.pk}/delete/").status_code == 404
    assert WorkLog.objects.filter(pk=entry.pk).exists()


def test_entry_of_a_done_project_cannot_be_deleted(
    signed_in, engineer, done_project, yesterday
):
    entry = log_hours(engineer, done_project, done_project.phases.get(), yesterday, "4")

    response = signed_in.post(f"/worklogs/{entry.pk}/delete/", follow=True)

    assert "This project is done" in response.content.decode()
    assert WorkLog.objects.filter(pk=entry.pk).exists()


def test_pages_send_a_signed_out_visitor_to_sign_in_and_back(client, engineer):
    response = client.get("/worklogs/?week=2026-11-23")

    assert response.status_code == 302
    assert (
        response["Location"] == "/accounts/login/?next=/worklogs/%3Fweek%3D2026-11-23"
    )

    response = client.post(
        "/accounts/login/",
        {
            "username": "ahmed",
            "password": PASSWORD,
            "next": "/worklogs/?week=2026-11-23",
        },
    )
    assert response["Location"] == "/worklogs/?week=2026-11-23"


def test_a_user_without_a_role_is_refused_the_pages(client, no_role_user):
    client.force_login(no_role_user)

    response = client.get("/worklogs/")

    assert response.status_code == 403
    assert "Ask an administrator" in response.content.decode()


HOSTILE = '<script>alert("x")</script> \u202eevil\u202c \'; DROP TABLE worklogs; --'


def test_hostile_text_is_stored_verbatim_and_shown_escaped(
    signed_in, engineer, project, structural, today
):
    submit(signed_in, project, structural, today, "1", HOSTILE)

    assert WorkLog.objects.get().description == HOSTILE
    page = signed_in.get("/worklogs/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_a_null_byte_in_the_description_is_a_form_error(
    signed_in, project, structural, today
):
    response = submit(signed_in, project, structural, today, "1", "before\x00after")

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not WorkLog.objects.exists()


def test_a_form_sent_by_htmx_is_answered_with_a_whole_page_redirect(
    signed_in, project, structural, today
):
    response = signed_in.post(
        "/worklogs/new/",
        {
            "project": project.pk,
            "phase": structural.pk,
            "date": today.isoformat(),
            "hours": "3",
            "description": "Sent by htmx",
        },
        headers={"HX-Request": "true"},
    )

    # The browser loads the week as a page, which shows the message and lets
    # the page clear the draft it kept.
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/worklogs/?week={today:%Y-%m-%d}"
    assert WorkLog.objects.get().description == "Sent by htmx"


def test_the_form_carries_its_draft_name_and_restores_only_when_empty(
    signed_in, engineer, project, structural, today
):
    empty = signed_in.get("/worklogs/new/").content.decode()
    refused = submit(signed_in, project, structural, today, "30").content.decode()

    assert f'data-draft="{engineer.pk}:worklog-new"' in empty
    assert 'data-draft-restore="true"' in empty
    # A form the server sent back holds what was typed; no draft overrides it.
    assert 'data-draft-restore="false"' in refused
