import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import Phase, Project
from tests.conftest import log_hours, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


def test_dashboard_shows_every_project_with_its_hours_against_the_budget(
    as_manager, engineer, project, structural, project_without_phases, yesterday
):
    log_hours(engineer, project, structural, yesterday, "8")
    log_hours(engineer, project, structural, yesterday, "4.5")

    response = as_manager.get("/projects/")

    rows = {p.code: p for p in response.context["projects"]}
    assert rows["VDP"].logged_hours == Decimal("12.5")
    assert rows["VDP"].budget_percent == 12
    assert rows["VDP"].last_activity == yesterday
    assert rows["VEX"].logged_hours == 0
    page = response.content.decode()
    assert "12.5 / 100 h" in page
    assert "No phases yet" in page


def test_dashboard_marks_over_budget_projects_and_phases(
    as_manager, engineer, yesterday
):
    tower = Project.objects.create(name="Tower", code="TWR", budget_hours=10)
    phase = Phase.objects.create(project=tower, name="Facade", budget_hours=5)
    log_hours(engineer, tower, phase, yesterday, "12")

    response = as_manager.get("/projects/")

    tower = response.context["projects"].get(code="TWR")
    assert tower.is_over_budget
    page = response.content.decode()
    assert "over budget" in page
    assert '<span class="tag over">Facade</span>' in page


def test_dashboard_narrows_to_a_date_range(as_manager, engineer, project, structural):
    log_hours(engineer, project, structural, datetime.date(2026, 10, 5), "8")
    log_hours(engineer, project, structural, datetime.date(2026, 11, 5), "3")

    response = as_manager.get("/projects/?start=2026-11-01&end=2026-11-30")

    assert response.context["projects"].get(code="VDP").logged_hours == Decimal("3")
    assert "start=2026-11-01&amp;end=2026-11-30" in response.content.decode()


def test_dashboard_explains_a_reversed_date_range(as_manager, project):
    response = as_manager.get("/projects/?start=2026-11-30&end=2026-11-01")

    assert response.status_code == 200
    assert "The start date must not be after the end date." in response.content.decode()


def test_dashboard_explains_a_malformed_date(as_manager, project):
    response = as_manager.get("/projects/?start=2026-02-30")

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_engineers_cannot_open_the_dashboard(client, engineer):
    client.force_login(engineer)

    assert client.get("/projects/").status_code == 403


def test_project_page_shows_phases_engineers_and_recent_entries_to_a_manager(
    as_manager, engineer, other_engineer, project, structural, yesterday
):
    log_hours(
        engineer, project, structural, yesterday, "8", "Completed foundation plans"
    )
    log_hours(other_engineer, project, structural, yesterday, "2")

    response = as_manager.get(f"/projects/{project.pk}/")

    phases = {phase.name: phase.logged_hours for phase in response.context["phases"]}
    assert phases == {"Concept": 0, "Structural Design": Decimal("10")}
    assert list(response.context["hours_by_engineer"]) == [
        {"user__username": "ahmed", "hours": Decimal("8")},
        {"user__username": "omar", "hours": Decimal("2")},
    ]
    assert "Completed foundation plans" in response.content.decode()


def test_project_page_shows_an_engineer_progress_but_not_other_peoples_entries(
    client, engineer, other_engineer, project, structural, yesterday
):
    log_hours(
        other_engineer, project, structural, yesterday, "2", "Omar's private notes"
    )
    client.force_login(engineer)

    response = client.get(f"/projects/{project.pk}/")

    assert response.status_code == 200
    assert "hours_by_engineer" not in response.context
    assert "private notes" not in response.content.decode()


def test_project_without_phases_opens_and_says_so(
    client, engineer, project_without_phases
):
    client.force_login(engineer)

    response = client.get(f"/projects/{project_without_phases.pk}/")

    assert response.status_code == 200
    assert "No phases yet." in response.content.decode()


def test_project_without_phases_offers_an_administrator_to_add_one(
    client, administrator, project_without_phases
):
    client.force_login(administrator)

    response = client.get(f"/projects/{project_without_phases.pk}/")

    assert f"/admin/projects/project/{project_without_phases.pk}/change/" in (
        response.content.decode()
    )


def test_a_project_that_does_not_exist_is_a_404_page(as_manager):
    response = as_manager.get("/projects/999999/")

    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def _grow(size, engineer):
    """Adds `size` projects, each with three phases and entries on each."""
    day = datetime.date(2026, 1, 1)
    for n in range(size):
        project = Project.objects.create(
            name=f"Project {n}", code=f"P{Project.objects.count()}"
        )
        for position in range(3):
            phase = Phase.objects.create(
                project=project, name=f"Phase {position}", position=position
            )
            log_hours(
                engineer, project, phase, day + datetime.timedelta(days=n % 300), "1"
            )


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# Session, user and roles, then the page's own: projects and their phases on
# the dashboard; project, phases, hours per engineer and entries on its page.
@pytest.mark.parametrize(
    ("url", "queries"), [("/projects/", 5), ("/projects/{pk}/", 7)]
)
def test_page_query_count_does_not_grow_with_the_data(
    client, manager, engineer, project, url, queries
):
    other = make_user("lina", "engineer")
    client.force_login(manager)
    url = url.format(pk=project.pk)
    _grow(3, engineer)

    small = _count_queries(client, url)
    _grow(30, other)
    large = _count_queries(client, url)

    assert small == large == queries


def test_the_dashboard_switches_projects_in_a_panel(as_manager, project):
    dashboard = as_manager.get("/projects/").content.decode()
    panel = as_manager.get(
        f"/projects/{project.pk}/",
        headers={"HX-Request": "true", "HX-Target": "project-panel"},
    ).content.decode()

    # Each link asks for the panel only, and a newer click replaces the
    # queued ones.
    assert f'hx-get="/projects/{project.pk}/"' in dashboard
    assert 'hx-sync="#project-table:queue last"' in dashboard
    assert 'id="project-panel"' in panel
    assert "Structural Design" in panel
    assert "<header" not in panel
