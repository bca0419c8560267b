import csv
import datetime
import io

import pytest

from tests.conftest import log_hours

pytestmark = pytest.mark.django_db


def rows_of(response):
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


@pytest.fixture
def entries(engineer, other_engineer, project, structural, project_without_phases):
    log_hours(engineer, project, structural, datetime.date(2026, 11, 2), "8", "Plans")
    log_hours(
        other_engineer, project, structural, datetime.date(2026, 11, 20), "3", "Checks"
    )
    log_hours(
        engineer, project_without_phases, None, datetime.date(2026, 10, 1), "2", "Visit"
    )


def test_manager_exports_the_entries_of_a_date_range_as_csv(client, manager, entries):
    client.force_login(manager)

    response = client.get("/worklogs/export.csv?start=2026-11-01&end=2026-11-30")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == [
        "date",
        "user",
        "project_code",
        "project",
        "phase",
        "hours",
        "description",
    ]
    assert rows == [
        [
            "2026-11-02",
            "ahmed",
            "VDP",
            "Villa Design Phase",
            "Structural Design",
            "8.00",
            "Plans",
        ],
        [
            "2026-11-20",
            "omar",
            "VDP",
            "Villa Design Phase",
            "Structural Design",
            "3.00",
            "Checks",
        ],
    ]


def test_export_narrows_to_one_project(
    client, manager, entries, project_without_phases
):
    client.force_login(manager)

    response = client.get(f"/worklogs/export.csv?project={project_without_phases.pk}")

    assert [row[2] for row in rows_of(response)[1:]] == ["VEX"]


def test_export_keeps_spreadsheet_formulas_from_running(
    client, manager, engineer, project, structural
):
    log_hours(
        engineer, project, structural, datetime.date(2026, 11, 2), "1", "=HYPERLINK(1)"
    )
    client.force_login(manager)

    rows = rows_of(client.get("/worklogs/export.csv"))

    assert rows[1][-1] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-13-01",
        "start=2026-11-30&end=2026-11-01",
        "project=abc",
        "project=999999",
    ],
)
def test_export_refuses_bad_filters_with_a_message(client, manager, query):
    client.force_login(manager)

    response = client.get(f"/worklogs/export.csv?{query}")

    assert response.status_code == 400
    assert response.content


def test_engineers_cannot_export(client, engineer, entries):
    client.force_login(engineer)

    assert client.get("/worklogs/export.csv").status_code == 403
