"""seed_demo: the demo firm it puts in an empty database, and what it refuses."""

import datetime
import io
import re
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from projects.models import Phase, Project
from worklogs.management.commands import seed_demo
from worklogs.models import WorkLog

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "demo-password-55"


def seed(**options):
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def database_contents():
    return {
        "users": User.objects.count(),
        "memberships": User.groups.through.objects.count(),
        "projects": Project.objects.count(),
        "phases": Phase.objects.count(),
        "worklogs": WorkLog.objects.count(),
    }


def role_names(username):
    return list(
        User.objects.get(username=username).groups.values_list("name", flat=True)
    )


def assert_worklog_rules_hold():
    today = timezone.localdate()
    logs = WorkLog.objects.all()
    bounds = logs.aggregate(least=Min("hours"), most=Max("hours"), last=Max("date"))
    busiest_day = (
        logs.values("user", "date")
        .annotate(total=Sum("hours"))
        .aggregate(most=Max("total"))["most"]
    )
    done = next(plan for plan in seed_demo.PROJECTS if plan.status == "done")
    closed_on = today - datetime.timedelta(days=done.stopped_days_ago)

    assert bounds["least"] > 0
    assert bounds["most"] <= 24
    assert busiest_day <= 24
    assert bounds["last"] <= today
    assert not logs.exclude(phase=None).exclude(phase__project=F("project")).exists()
    assert not logs.filter(phase=None, project__phases__isnull=False).exists()
    assert not Project.objects.get(name="Villa Extension").phases.exists()
    assert logs.filter(project__status="done").exists()
    assert not logs.filter(project__status="done", date__gte=closed_on).exists()
    assert not logs.exclude(user__groups__name="engineer").exists()


def test_seed_demo_creates_ahmed_sarah_and_admin_with_their_roles():
    seed(password=DEMO_PASSWORD)

    admin = User.objects.get(username="admin")
    assert role_names("ahmed") == ["engineer"]
    assert role_names("sarah") == ["manager"]
    assert admin.is_staff
    assert admin.is_superuser
    assert not User.objects.filter(is_staff=True).exclude(username="admin").exists()


def test_seed_demo_gives_every_user_the_password_it_was_given():
    seed(password=DEMO_PASSWORD)

    users = User.objects.all()
    assert users.filter(groups__name="engineer").count() >= 5
    assert all(user.check_password(DEMO_PASSWORD) for user in users)


def test_seed_demo_prints_a_generated_password_that_works():
    output = seed()

    password = re.search(r"password: (\S+)", output).group(1)
    assert len(password) >= 16
    assert User.objects.get(username="ahmed").check_password(password)
    assert re.search(r"ahmed +engineer", output)
    assert re.search(r"sarah +manager", output)
    assert re.search(r"admin +administrator", output)


def test_seed_demo_creates_villa_extension_as_the_only_project_without_phases():
    seed(password=DEMO_PASSWORD)

    without_phases = Project.objects.annotate(phase_count=Count("phases")).filter(
        phase_count=0
    )
    assert list(without_phases.values_list("name", flat=True)) == ["Villa Extension"]


def test_seed_demo_creates_villa_design_phase_with_ordered_phases():
    seed(password=DEMO_PASSWORD)

    phases = Project.objects.get(name="Villa Design Phase").phases.order_by("position")
    names = list(phases.values_list("name", flat=True))
    positions = list(phases.values_list("position", flat=True))
    assert "Structural Design" in names
    assert positions == list(range(1, len(names) + 1))


def test_seed_demo_creates_about_ten_projects_mostly_active():
    seed(password=DEMO_PASSWORD)

    statuses = Counter(Project.objects.values_list("status", flat=True))
    assert statuses == {"active": 8, "on_hold": 1, "done": 1}
    assert Project.objects.filter(budget_hours=None).exists()
    assert Phase.objects.exclude(budget_hours=None).exists()


def test_seed_demo_leaves_one_or_two_projects_over_budget():
    seed(password=DEMO_PASSWORD)

    over_budget = [
        project for project in Project.objects.with_totals() if project.is_over_budget
    ]
    assert 1 <= len(over_budget) <= 2


@pytest.mark.parametrize("options", [{}, {"logs": 3000}], ids=["weeks", "logs"])
def test_seed_demo_entries_follow_every_rule_of_a_work_log(options):
    seed(password=DEMO_PASSWORD, **options)

    assert_worklog_rules_hold()


@pytest.mark.parametrize("options", [{}, {"logs": 3000}], ids=["weeks", "logs"])
def test_seed_demo_stores_the_hours_its_work_logs_add_up_to(options):
    seed(password=DEMO_PASSWORD, **options)

    for model in (Project, Phase):
        counted = model.objects.annotate(counted=Sum("worklogs__hours"))
        assert {item.pk: item.hours_logged for item in counted} == {
            item.pk: item.counted or 0 for item in counted
        }
    assert Project.objects.filter(hours_logged__gt=0).count() >= 9


def test_seed_demo_gives_engineers_six_weeks_of_believable_weekdays():
    seed(password=DEMO_PASSWORD)

    today = timezone.localdate()
    logs = WorkLog.objects.all()
    days = (
        logs.values("user", "date")
        .annotate(total=Sum("hours"), entries=Count("id"))
        .aggregate(
            shortest=Min("total"),
            longest=Max("total"),
            fewest=Min("entries"),
            most=Max("entries"),
        )
    )
    assert 6 <= days["shortest"] <= days["longest"] <= 9
    assert 1 <= days["fewest"] <= days["most"] <= 3
    assert not logs.filter(date__week_day__in=[1, 7]).exists()
    assert logs.aggregate(first=Min("date"))["first"] >= today - datetime.timedelta(
        weeks=6
    )
    assert not logs.filter(date=today).exists()


def test_seed_demo_makes_the_same_demo_every_run():
    def demo():
        return list(
            WorkLog.objects.order_by(
                "date", "user__username", "project__code", "hours", "description"
            ).values_list(
                "user__username",
                "project__code",
                "phase__name",
                "date",
                "hours",
                "description",
            )
        )

    seed(password=DEMO_PASSWORD)
    first = demo()
    WorkLog.objects.all().delete()
    Project.objects.all().delete()
    User.objects.all().delete()
    seed(password=DEMO_PASSWORD)

    assert demo() == first


def test_seed_demo_with_logs_makes_exactly_that_many_and_reports_progress(
    monkeypatch,
):
    monkeypatch.setattr(seed_demo, "BATCH_SIZE", 1000)

    output = seed(password=DEMO_PASSWORD, logs=3000)

    assert WorkLog.objects.count() == 3000
    progress = [line for line in output.splitlines() if line.startswith("logs:")]
    assert progress == ["logs: 1000/3000", "logs: 2000/3000", "logs: 3000/3000"]


def test_seed_demo_with_many_logs_hires_engineers_instead_of_going_back_years(
    monkeypatch,
):
    # Ten engineers at two entries a day fill 1000 entries in 50 weekdays.
    monkeypatch.setattr(seed_demo, "LOAD_HISTORY_WEEKDAYS", 50)

    seed(password=DEMO_PASSWORD, logs=1000)

    oldest = WorkLog.objects.aggregate(oldest=Min("date"))["oldest"]
    assert User.objects.filter(groups__name="engineer").count() == 10
    assert oldest >= timezone.localdate() - datetime.timedelta(days=100)
    assert_worklog_rules_hold()


def test_seed_demo_refuses_a_database_that_holds_data():
    seed(password=DEMO_PASSWORD)
    before = database_contents()

    with pytest.raises(CommandError, match="already holds data"):
        seed(password="another-password")

    assert database_contents() == before
    assert User.objects.get(username="ahmed").check_password(DEMO_PASSWORD)


def test_seed_demo_if_empty_leaves_a_database_with_data_alone_and_succeeds():
    seed(password=DEMO_PASSWORD)
    before = database_contents()

    output = seed(password="another-password", if_empty=True)

    assert "already holds data" in output
    assert database_contents() == before
    assert User.objects.get(username="ahmed").check_password(DEMO_PASSWORD)


def test_seed_demo_if_empty_seeds_an_empty_database():
    seed(password=DEMO_PASSWORD, if_empty=True)

    assert User.objects.filter(username="ahmed").exists()


@pytest.mark.parametrize("existing", ["engineer", "project"])
def test_seed_demo_refuses_a_database_with_a_single_user_or_project(request, existing):
    request.getfixturevalue(existing)
    before = database_contents()

    with pytest.raises(CommandError, match="nothing was changed"):
        seed(password=DEMO_PASSWORD)

    assert database_contents() == before


def test_seed_demo_leaves_the_database_empty_when_it_fails_halfway(monkeypatch):
    def fail(projects):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(seed_demo, "finish_projects", fail)

    with pytest.raises(RuntimeError):
        seed(password=DEMO_PASSWORD, logs=500)

    assert set(database_contents().values()) == {0}


def test_seed_demo_refuses_a_negative_number_of_logs():
    with pytest.raises(CommandError, match="--logs"):
        seed(password=DEMO_PASSWORD, logs=-1)

    assert set(database_contents().values()) == {0}
