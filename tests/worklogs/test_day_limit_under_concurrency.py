"""Two entries for one day sent at the same moment cannot both pass the
24-hour check: one is saved, the other refused."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from tests.server import Server, manage, migrated_sqlite
from worklogs import services
from worklogs.models import WorkLog

DAYS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks need PostgreSQL; SQLite is covered through the server below",
)
def test_simultaneous_entries_cannot_overfill_a_day_on_postgresql(
    engineer, project, structural, yesterday
):
    start = threading.Barrier(2)

    def submit():
        start.wait()
        try:
            services.create_worklog(
                user=engineer,
                project=project,
                phase=structural,
                date=yesterday,
                hours=Decimal("16"),
                description="At the same moment",
            )
            return "saved"
        except ValidationError:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: submit(), range(2)))

    assert outcomes == ["refused", "saved"]
    assert WorkLog.objects.filter(user=engineer).count() == 1


SET_UP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from projects.models import Project
user = User.objects.create_user("ahmed", password="x")
user.groups.add(Group.objects.get(name="engineer"))
project = Project.objects.create(name="P", code="P")
print(Token.objects.create(user=user).key, project.pk)
"""


def test_simultaneous_entries_cannot_overfill_a_day_across_workers(tmp_path):
    database_url = migrated_sqlite(tmp_path)
    printed = manage(database_url, "shell", "-c", SET_UP)
    token, project = printed.splitlines()[-1].split()
    server = Server(database_url, tmp_path / "gunicorn.log").start()
    server.wait_for_workers(2)

    def post(day):
        body = {
            "project": int(project),
            "date": day.isoformat(),
            "hours": "16",
            "description": "At the same moment",
        }
        headers = {"Authorization": f"Token {token}"}
        return day, server.post_json("/api/v1/worklogs/", body, headers)[0]

    first_day = datetime.date(2026, 11, 2)
    days = [first_day + datetime.timedelta(days=n) for n in range(DAYS)]
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(post, [day for day in days for _ in range(2)]))
    finally:
        server.stop()

    statuses = {day: sorted(s for d, s in results if d == day) for day in days}
    assert all(pair == [201, 400] for pair in statuses.values()), statuses
