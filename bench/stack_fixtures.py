"""The stack bench's side inside the database, run by `manage.py shell`.

It finds or makes what the load needs (tokens, signed-in sessions, the
project to open, engineers of the bench's own to submit work logs as) and
counts the queries of each figure's request in this process, through
Django's test client and the whole middleware. It prints one line,
`FIXTURES {json}`, for bench/stack.py.
"""

import json
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from projects.models import Phase, Project
from tracksystem.roles import ENGINEER
from worklogs.models import WorkLog

WRITER_PREFIX = "bench-writer-"
HOST = "127.0.0.1"


def main(writers, expected_logs):
    """Prepares and counts, unless the seeded database is not the one expected."""
    seeded = seeded_logs()
    if seeded != expected_logs:
        print("FIXTURES " + json.dumps({"seeded_logs": seeded}))
        return

    fixtures = prepare(writers)
    fixtures["queries"] = count_queries(fixtures)
    forget_writes()
    print("FIXTURES " + json.dumps(fixtures))


def seeded_logs():
    return WorkLog.objects.exclude(user__username__startswith=WRITER_PREFIX).count()


def forget_writes():
    """The bench's own submissions go, so each run starts from the seeded data."""
    WorkLog.objects.filter(user__username__startswith=WRITER_PREFIX).delete()


def prepare(writers):
    forget_writes()
    # Fresh statistics: the seeded tables are new, and a plan chosen without
    # them would not be the one a running system gets.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    largest = (
        Project.objects.annotate(entries=Count("worklogs"))
        .order_by("-entries", "id")
        .first()
    )
    phase = (
        Phase.objects.filter(project__status=Project.Status.ACTIVE)
        .order_by("project__id", "position", "id")
        .first()
    )
    return {
        "seeded_logs": seeded_logs(),
        "token": token_of("ahmed"),
        "writer_tokens": [token_of(name) for name in writer_names(writers)],
        "manager_session": session_of("sarah"),
        "engineer_session": session_of("ahmed"),
        "project_id": largest.pk,
        "write_project_id": phase.project_id,
        "write_phase_id": phase.pk,
        "today": timezone.localdate().isoformat(),
    }


def writer_names(count):
    User = get_user_model()
    engineers = Group.objects.get(name=ENGINEER)
    names = [f"{WRITER_PREFIX}{number}" for number in range(count)]
    for name in names:
        user, created = User.objects.get_or_create(username=name)
        if created:
            user.groups.add(engineers)
    return names


def token_of(username):
    user = get_user_model().objects.get(username=username)
    return Token.objects.get_or_create(user=user)[0].key


def session_of(username):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def count_queries(fixtures):
    """Queries of each figure's request, the second time it is made."""
    api = {"HTTP_AUTHORIZATION": f"Token {fixtures['token']}"}
    manager = {"sessionid": fixtures["manager_session"]}
    engineer = {"sessionid": fixtures["engineer_session"]}
    project = f"/projects/{fixtures['project_id']}/"
    writer = {"HTTP_AUTHORIZATION": f"Token {fixtures['writer_tokens'][0]}"}

    def submit(client):
        body = {
            "project": fixtures["write_project_id"],
            "phase": fixtures["write_phase_id"],
            "date": fixtures["today"],
            "hours": "1",
            "description": "Bench submission",
        }
        return client.post(
            "/api/v1/worklogs/",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            **writer,
        )

    requests = {
        "live": ({}, lambda client: client.get("/health/live"), 200),
        "api_projects": (
            {},
            lambda client: client.get("/api/v1/projects/", **api),
            200,
        ),
        "dashboard": (manager, lambda client: client.get("/projects/"), 200),
        "project": (manager, lambda client: client.get(project), 200),
        "week": (engineer, lambda client: client.get("/worklogs/"), 200),
        "submit": ({}, submit, 201),
    }
    counts = {}
    for name, (cookies, send, expected) in requests.items():
        client = Client(HTTP_HOST=HOST)
        client.cookies.load(cookies)
        send(client)
        with CaptureQueriesContext(connection) as queries:
            response = send(client)
        if response.status_code != expected:
            raise SystemExit(f"{name}: {response.status_code}, expected {expected}")
        counts[name] = len(queries)
    return counts
