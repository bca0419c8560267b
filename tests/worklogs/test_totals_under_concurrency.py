"""Entries saved at the same moment on PostgreSQL: the stored totals of their
projects and phases lose none of their hours and the writers do not deadlock."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections

from tests.conftest import make_user
from tests.projects.test_stored_totals import (
    assert_stored_totals_match_the_worklogs,
)
from tests.projects.test_stored_totals import create as saved_entry
from tracksystem.roles import ENGINEER
from worklogs import services

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises all writes; concurrent writers need PostgreSQL",
    ),
]


@pytest.fixture(autouse=True)
def _roles(db):
    # An earlier test of this kind flushes every table, roles included.
    Group.objects.get_or_create(name=ENGINEER)


def at_once(work, items):
    start = threading.Barrier(len(items))

    def run(item):
        start.wait()
        try:
            return work(item)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(run, items))


def create(user, project, phase, date, hours="8"):
    return saved_entry(user, project, phase, date, hours, "At the same moment")


def test_simultaneous_entries_on_one_project_all_count(project, structural, yesterday):
    people = [make_user(f"engineer{n}", ENGINEER) for n in range(4)]

    at_once(lambda user: create(user, project, structural, yesterday), people)

    project.refresh_from_db()
    assert project.hours_logged == Decimal("32")
    assert_stored_totals_match_the_worklogs()


def test_entries_moved_in_opposite_directions_at_once_both_move(
    project, structural, project_without_phases, yesterday
):
    there = create(make_user("lina", ENGINEER), project, structural, yesterday)
    back = create(make_user("omar", ENGINEER), project_without_phases, None, yesterday)
    moves = [
        (there, {"project": project_without_phases, "phase": None}),
        (back, {"project": project, "phase": structural, "hours": Decimal("3")}),
    ]

    at_once(lambda move: services.update_worklog(move[0], **move[1]), moves)

    project.refresh_from_db()
    project_without_phases.refresh_from_db()
    assert project.hours_logged == Decimal("3")
    assert project_without_phases.hours_logged == Decimal("8")
    assert_stored_totals_match_the_worklogs()
