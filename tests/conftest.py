import datetime
import os
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from ops import errors
from projects.models import Phase, Project
from tracksystem.ratelimit import engine
from worklogs.models import WorkLog, move_counted_hours

PASSWORD = "correct-horse-battery"


def pytest_sessionfinish(session, exitstatus):
    """Where every service is installed (CI), a skipped test fails the run."""
    if os.environ.get("FORBID_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"FORBID_SKIPS=1 and {len(skipped)} tests skipped")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_and_plain(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage needs collectstatic; tests render from the sources.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture(scope="session", autouse=True)
def _own_disk_cache(tmp_path_factory):
    """On the embedded default, the suite counts apart from a running demo."""
    default = django_settings.CACHES["default"]
    if default["BACKEND"] != "diskcache.DjangoCache":
        yield
        return
    location = str(tmp_path_factory.mktemp("cache"))
    with override_settings(CACHES={"default": {**default, "LOCATION": location}}):
        yield


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Every test starts with nothing counted, in the store or in memory."""
    cache.clear()
    engine.store().clear()
    engine.outage = engine.StoreOutage()
    errors.pending.forget()


@pytest.fixture
def rates(settings):
    """`rates(burst="3/2s")` sets some rates for one test; others keep theirs."""

    def set_rates(**rates):
        named = {name.replace("_", "-"): rate for name, rate in rates.items()}
        settings.RATELIMIT_RATES = {**settings.RATELIMIT_RATES, **named}

    return set_rates


def make_user(username, role=None, **extra):
    user = User.objects.create_user(
        username, f"{username}@example.com", PASSWORD, **extra
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def engineer(db):
    return make_user("ahmed", "engineer")


@pytest.fixture
def other_engineer(db):
    return make_user("omar", "engineer")


@pytest.fixture
def manager(db):
    return make_user("sarah", "manager")


@pytest.fixture
def administrator(db):
    return make_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def no_role_user(db):
    return make_user("visitor")


@pytest.fixture
def project(db):
    project = Project.objects.create(
        name="Villa Design Phase", code="VDP", budget_hours=Decimal("100")
    )
    Phase.objects.create(project=project, name="Concept", position=1, budget_hours=40)
    Phase.objects.create(
        project=project, name="Structural Design", position=2, budget_hours=60
    )
    return project


@pytest.fixture
def structural(project):
    return project.phases.get(name="Structural Design")


@pytest.fixture
def project_without_phases(db):
    return Project.objects.create(name="Villa Extension", code="VEX")


@pytest.fixture
def done_project(db):
    project = Project.objects.create(name="Old Tower", code="OLD", status="done")
    Phase.objects.create(project=project, name="Handover", position=1)
    return project


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def yesterday(today):
    return today - datetime.timedelta(days=1)


@pytest.fixture
def body(project, structural, today):
    """A valid new entry, as the API takes it."""
    return {
        "project": project.pk,
        "phase": structural.pk,
        "date": today.isoformat(),
        "hours": "8.00",
        "description": "Beam calculations",
    }


def log_hours(user, project, phase, date, hours, description="Work"):
    """Creates an entry directly, for arranging a test's data.

    It skips the rules of the services but counts its hours as they do.
    """
    worklog = WorkLog.objects.create(
        user=user,
        project=project,
        phase=phase,
        date=date,
        hours=Decimal(hours),
        description=description,
    )
    move_counted_hours(after=worklog.counted)
    return worklog


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` signs it in with a token."""

    class Client(APIClient):
        def as_user(self, user):
            from rest_framework.authtoken.models import Token

            token, _ = Token.objects.get_or_create(user=user)
            self.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            return self

    return Client()
