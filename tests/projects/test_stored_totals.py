"""The hours kept on each project and phase follow every write to work logs,
and the totals read from them match what the work logs add up to."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Max, Q, Sum

from projects.models import Phase, Project
from tests.conftest import log_hours
from worklogs import services
from worklogs.models import PersonHours, WorkLog

pytestmark = pytest.mark.django_db


def stored_hours(item):
    return type(item).objects.values_list("hours_logged", flat=True).get(pk=item.pk)


def assert_stored_totals_match_the_worklogs():
    for model in (Project, Phase):
        counted = {
            item.pk: item.counted or 0
            for item in model.objects.annotate(counted=Sum("worklogs__hours"))
        }
        assert dict(model.objects.values_list("pk", "hours_logged")) == counted

    per_person = WorkLog.objects.values_list("user", "project").annotate(
        hours=Sum("hours")
    )
    stored = PersonHours.objects.filter(hours_logged__gt=0).values_list(
        "user", "project", "hours_logged"
    )
    assert sorted(stored) == sorted(per_person)


@pytest.fixture
def concept(project):
    return project.phases.get(name="Concept")


def create(user, project, phase, date, hours, description="Work"):
    """An entry saved through the services, as pages, the API and admin do."""
    return services.create_worklog(
        user=user,
        project=project,
        phase=phase,
        date=date,
        hours=Decimal(hours),
        description=description,
    )


def test_an_entry_adds_its_hours_to_its_project_and_phase(
    engineer, project, structural, concept, today
):
    create(engineer, project, structural, today, "8")

    assert stored_hours(project) == Decimal("8")
    assert stored_hours(structural) == Decimal("8")
    assert stored_hours(concept) == 0


def test_a_changed_entry_moves_its_hours_to_its_new_project_and_phase(
    engineer, project, structural, project_without_phases, today
):
    worklog = create(engineer, project, structural, today, "8")
    create(engineer, project, structural, today, "2")

    services.update_worklog(
        worklog, project=project_without_phases, phase=None, hours=Decimal("5")
    )

    assert stored_hours(project) == Decimal("2")
    assert stored_hours(structural) == Decimal("2")
    assert stored_hours(project_without_phases) == Decimal("5")
    assert_stored_totals_match_the_worklogs()


def test_an_entry_moved_to_another_phase_moves_its_hours_within_the_project(
    engineer, project, structural, concept, today
):
    worklog = create(engineer, project, structural, today, "8")

    services.update_worklog(worklog, phase=concept, hours=Decimal("6.25"))

    assert stored_hours(project) == Decimal("6.25")
    assert stored_hours(structural) == 0
    assert stored_hours(concept) == Decimal("6.25")


def test_a_deleted_entry_takes_off_the_hours_it_was_counted_with(
    engineer, project, structural, today
):
    worklog = create(engineer, project, structural, today, "8")
    create(engineer, project, structural, today, "3")
    stale = WorkLog.objects.get(pk=worklog.pk)
    services.update_worklog(worklog, hours=Decimal("4"))

    services.delete_worklog(stale)

    assert stored_hours(project) == Decimal("3")
    assert stored_hours(structural) == Decimal("3")


def test_entries_saved_from_stale_copies_of_a_project_both_count(
    engineer, other_engineer, project, structural, today
):
    first, second = (
        Project.objects.get(pk=project.pk),
        Project.objects.get(pk=project.pk),
    )

    create(engineer, first, structural, today, "8")
    create(other_engineer, second, structural, today, "7.5")

    assert stored_hours(project) == Decimal("15.5")
    assert stored_hours(structural) == Decimal("15.5")


def test_entries_created_changed_and_deleted_through_the_api_keep_the_totals(
    api, engineer, project, structural, concept, project_without_phases, body
):
    api.as_user(engineer)
    created = api.post("/api/v1/worklogs/", body).json()
    api.post("/api/v1/worklogs/", {**body, "phase": concept.pk, "hours": "2"})
    moved = api.post("/api/v1/worklogs/", {**body, "hours": "3"}).json()

    api.patch(f"/api/v1/worklogs/{created['id']}/", {"hours": "6.5"})
    response = api.patch(
        f"/api/v1/worklogs/{moved['id']}/",
        {"project": project_without_phases.pk, "phase": None},
        format="json",
    )
    assert response.status_code == 200
    assert stored_hours(project) == Decimal("8.5")
    assert stored_hours(project_without_phases) == Decimal("3")

    assert api.delete(f"/api/v1/worklogs/{created['id']}/").status_code == 204

    assert stored_hours(project) == Decimal("2")
    assert stored_hours(structural) == 0
    assert_stored_totals_match_the_worklogs()


def test_entries_changed_and_deleted_in_admin_keep_the_totals(
    client, administrator, engineer, project, structural, concept, today, yesterday
):
    client.force_login(administrator)
    kept = create(engineer, project, structural, yesterday, "4")
    changed = create(engineer, project, structural, today, "8")
    deleted = [create(engineer, project, concept, today, h) for h in ("1", "2")]

    response = client.post(
        f"/admin/worklogs/worklog/{changed.pk}/change/",
        {
            "user": engineer.pk,
            "project": project.pk,
            "phase": concept.pk,
            "date": today.isoformat(),
            "hours": "5",
            "description": "Moved in admin",
        },
    )
    assert response.status_code == 302
    client.post(
        "/admin/worklogs/worklog/",
        {
            "action": "delete_selected",
            "_selected_action": [entry.pk for entry in deleted],
            "post": "yes",
        },
    )

    assert list(WorkLog.objects.order_by("pk")) == [kept, changed]
    assert stored_hours(project) == Decimal("9")
    assert stored_hours(structural) == Decimal("4")
    assert stored_hours(concept) == Decimal("5")


def test_recount_totals_repairs_totals_changed_by_hand(
    engineer, project, structural, project_without_phases, today
):
    create(engineer, project, structural, today, "8")
    Project.objects.update(hours_logged=Decimal("999"))
    Phase.objects.filter(pk=structural.pk).update(hours_logged=0)
    WorkLog.objects.update(hours=Decimal("7"))

    out = io.StringIO()
    call_command("recount_totals", stdout=out)

    assert stored_hours(project) == Decimal("7")
    assert stored_hours(structural) == Decimal("7")
    assert stored_hours(project_without_phases) == 0
    assert_stored_totals_match_the_worklogs()
    assert "Recounted 2 projects, 2 phases and 1 people's hours" in out.getvalue()


def test_each_persons_hours_on_a_project_follow_their_entries(
    engineer, other_engineer, project, structural, project_without_phases, today
):
    mine = create(engineer, project, structural, today, "8")
    create(other_engineer, project, structural, today, "3")
    services.update_worklog(mine, project=project_without_phases, phase=None)
    moved_back = create(engineer, project, structural, today, "2")
    services.delete_worklog(moved_back)

    rows = PersonHours.objects.values_list(
        "user__username", "project__code", "hours_logged"
    )
    hours = {(username, code): total for username, code, total in rows}
    assert hours == {
        ("ahmed", project.code): 0,
        ("omar", project.code): Decimal("3"),
        ("ahmed", project_without_phases.code): Decimal("8"),
    }
    assert_stored_totals_match_the_worklogs()


@pytest.fixture
def history(engineer, other_engineer, project, structural, concept):
    """Entries over two months on two projects, some without a phase."""
    other = Project.objects.create(name="Harbour Tower", code="HHT")
    survey = Phase.objects.create(project=other, name="Survey", position=1)
    loose = Project.objects.create(name="Villa Extension", code="VEX")
    for day, hours in ((3, "8"), (12, "4.5"), (20, "2"), (40, "6"), (55, "1.25")):
        date = datetime.date(2026, 9, 1) + datetime.timedelta(days=day)
        log_hours(engineer, project, structural, date, hours)
        log_hours(other_engineer, project, concept, date, "1")
        log_hours(engineer, other, survey, date, "3")
        log_hours(other_engineer, loose, None, date, hours)
    return [project, other, loose]


def figures_counted_from_the_worklogs(start=None, end=None):
    """Every total as the work logs add it up, for comparing."""
    logs = Q()
    if start:
        logs &= Q(worklogs__date__gte=start)
    if end:
        logs &= Q(worklogs__date__lte=end)
    projects = Project.objects.annotate(
        hours=Sum("worklogs__hours", filter=logs),
        last=Max("worklogs__date", filter=logs),
    )
    phases = Phase.objects.annotate(hours=Sum("worklogs__hours", filter=logs))
    return (
        {p.code: (p.hours or 0, p.last) for p in projects},
        {p.pk: p.hours or 0 for p in phases},
    )


def figures_of_with_totals(start=None, end=None):
    projects = Project.objects.with_totals(start, end)
    phases = Phase.objects.with_totals(start, end)
    return (
        {p.code: (p.logged_hours, p.last_activity) for p in projects},
        {p.pk: p.logged_hours for p in phases},
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (datetime.date(2026, 9, 10), datetime.date(2026, 10, 1)),
        (datetime.date(2026, 10, 1), None),
        (None, datetime.date(2026, 9, 13)),
        (datetime.date(2027, 1, 1), None),
    ],
)
def test_totals_match_the_worklogs_with_and_without_a_range(history, start, end):
    assert figures_of_with_totals(start, end) == figures_counted_from_the_worklogs(
        start, end
    )


def test_totals_of_a_range_leave_out_the_hours_outside_it(history):
    projects, _ = figures_of_with_totals(
        datetime.date(2026, 9, 10), datetime.date(2026, 10, 1)
    )

    assert projects["VDP"] == (Decimal("8.5"), datetime.date(2026, 9, 21))
    assert projects["HHT"] == (Decimal("6"), datetime.date(2026, 9, 21))
