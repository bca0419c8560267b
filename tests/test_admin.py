import datetime

import pytest

from tests.conftest import log_hours
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(client, administrator):
    client.force_login(administrator)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/projects/project/",
        "/admin/projects/project/?q=villa&status__exact=active",
        "/admin/projects/phase/",
        "/admin/worklogs/worklog/",
        "/admin/worklogs/worklog/?q=ahmed",
        "/admin/auth/user/",
        "/admin/auth/group/",
    ],
)
def test_admin_lists_open_with_search_and_filters(as_admin, project, engineer, url):
    assert as_admin.get(url).status_code == 200


def test_admin_edits_a_project_with_its_phases_inline(as_admin, project):
    page = as_admin.get(
        f"/admin/projects/project/{project.pk}/change/"
    ).content.decode()

    assert "phases-TOTAL_FORMS" in page
    assert "Structural Design" in page


def test_admin_adds_a_phase_to_a_project_without_phases(
    as_admin, project_without_phases
):
    response = as_admin.post(
        f"/admin/projects/project/{project_without_phases.pk}/change/",
        {
            "name": "Villa Extension",
            "code": "VEX",
            "status": "active",
            "budget_hours": "",
            "description": "",
            "phases-TOTAL_FORMS": "1",
            "phases-INITIAL_FORMS": "0",
            "phases-0-position": "1",
            "phases-0-name": "Survey",
            "phases-0-budget_hours": "10",
        },
    )

    assert response.status_code == 302
    assert list(project_without_phases.phases.values_list("name", flat=True)) == [
        "Survey"
    ]


def test_admin_refuses_an_entry_that_overfills_a_day(
    as_admin, engineer, project, structural, today
):
    log_hours(engineer, project, structural, today, "20")

    response = as_admin.post(
        "/admin/worklogs/worklog/add/",
        {
            "user": engineer.pk,
            "project": project.pk,
            "phase": structural.pk,
            "date": today.isoformat(),
            "hours": "5",
            "description": "Too much",
        },
    )

    assert response.status_code == 200
    assert "already logged" in response.content.decode()
    assert WorkLog.objects.count() == 1


def test_admin_shows_entries_of_done_projects_read_only(
    as_admin, engineer, done_project
):
    entry = log_hours(
        engineer,
        done_project,
        done_project.phases.get(),
        datetime.date(2026, 1, 5),
        "4",
    )

    page = as_admin.get(f"/admin/worklogs/worklog/{entry.pk}/change/").content.decode()

    assert 'name="hours"' not in page
    assert (
        as_admin.post(
            f"/admin/worklogs/worklog/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert WorkLog.objects.filter(pk=entry.pk).exists()


def test_engineers_cannot_open_admin(client, engineer):
    client.force_login(engineer)

    assert client.get("/admin/")["Location"].startswith("/admin/login/")
