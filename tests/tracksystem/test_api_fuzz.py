"""Every API operation, fuzzed from its OpenAPI schema as an engineer and a manager.

Schemathesis sends valid and invalid requests built from the document that
/api/schema/ serves, through Django's WSGI application in this process; every
answer must be a documented one in the documented shape, and none a 5xx.
"""

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PASSWORD, log_hours
from tracksystem.models import IdempotencyKey

# The document the schema view serves, built the same way, without a request:
# the operations are known at collection time, one test each.
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True),
    config=schemathesis.Config.from_dict(
        {
            # Valid and invalid requests, the same ones on every run.
            "generation": {
                "mode": "all",
                "max-examples": 25,
                "deterministic": True,
                "database": "none",
            },
            # Besides random examples, the edges of every parameter's schema.
            "phases": {"coverage": {"enabled": True}},
        }
    ),
)
application = get_wsgi_application()

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def unlimited(rates):
    """Hundreds of requests a second: the limits are tested elsewhere."""
    rates(
        burst="100000/10s",
        sustained="100000/5m",
        anon_burst="100000/10s",
        anon_sustained="100000/5m",
        writes="100000/1m",
        sign_in_username="100000/10m",
        sign_in_ip="100000/10m",
    )


@pytest.fixture
def connection_kept():
    """Keeps the test's connection, and its transaction, across requests.

    Django's WSGI handler closes the connection when a request finishes (on
    PostgreSQL, where connections do not persist); its test client does not.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=["engineer", "manager"])
def caller(request, unlimited, connection_kept, engineer, manager):
    return {"engineer": engineer, "manager": manager}[request.param]


@pytest.fixture
def rows(engineer, manager, project, done_project, today):
    """The rows that generated ids 0, 1, 2 stand for, table by table.

    The schema's example entry, project 1 and phase 2, lands on a phase of
    the open project.
    """
    concept, structural = project.phases.order_by("position")
    mine = log_hours(engineer, project, structural, today, "4")
    theirs = log_hours(manager, project, structural, today, "2")
    return {
        "worklogs": [mine.pk, theirs.pk],
        "projects": [done_project.pk, project.pk],
        "phases": [done_project.phases.get().pk, concept.pk, structural.pk],
    }


def aim_at_rows(case, caller, rows):
    """Steers generated values toward rows and credentials that exist.

    An id n below the count of its table's rows becomes the pk of row n, and
    an odd-length password comes with the caller's own username and password,
    so the successes are fuzzed as well as the refusals.
    """
    tables = {"id": "projects" if "/projects/" in case.path else "worklogs"}
    case.path_parameters = aimed(case.path_parameters, tables, rows)
    case.body = aimed(case.body, {"project": "projects", "phase": "phases"}, rows)

    body = case.body
    if isinstance(body, dict) and len(str(body.get("password", ""))) % 2:
        body.update(username=caller.username, password=PASSWORD)


def aimed(values, tables, rows):
    """A copy of `values` with its ids aimed; the schema's examples stay as they are."""
    if not isinstance(values, dict):
        return values
    values = dict(values)
    for field, table in tables.items():
        value = values.get(field)
        if isinstance(value, str) and value.isdigit() and value.isascii():
            value = int(value)
        if type(value) is int and 0 <= value < len(rows[table]):
            values[field] = rows[table][value]
    return values


@schema.parametrize()
# The fixtures' rows serve every example of an operation; the examples share
# one transaction, which is all they need.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_every_request_as_documented(case, caller, rows):
    token, _ = Token.objects.get_or_create(user=caller)
    aim_at_rows(case, caller, rows)
    # Every key is new to the server, so the bodies sent with one reach the
    # validation instead of a replay or a refused reuse.
    IdempotencyKey.objects.all().delete()

    case.call_and_validate(
        app=application,
        headers={"Authorization": f"Token {token.key}"},
        checks=CHECKS,
    )


def test_fuzzed_document_is_the_one_the_schema_view_serves(client, db):
    served = yaml.safe_load(client.get("/api/schema/").content)

    assert served == schema.raw_schema
