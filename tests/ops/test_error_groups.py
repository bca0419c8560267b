import json
import time

import pytest
from django.db import connection
from structlog.testing import capture_logs

from ops import errors
from ops.errors import Occurrence
from ops.models import ErrorGroup, ErrorHour, ErrorSample

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ops.failing_urls")]


@pytest.fixture
def failing_client(client, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    client.raise_request_exception = False
    return client


def test_an_unhandled_error_makes_a_group_at_its_own_file_and_line(failing_client):
    response = failing_client.get("/boom/phases/")

    assert response.status_code == 500
    group = ErrorGroup.objects.get()
    assert group.exception == "IndexError"
    assert group.location == "tests/ops/failing_urls.py:16"
    assert group.function == "tests.ops.failing_urls.first_phase_name"
    assert group.count == 1
    assert group.paths == ["/boom/phases/"]
    sample = group.samples.get()
    assert sample.request_id == response.headers["X-Request-ID"]
    assert (sample.method, sample.path) == ("GET", "/boom/phases/")
    assert "first_phase_name" in sample.traceback


def test_the_same_place_groups_and_a_different_place_splits(failing_client):
    for _ in range(3):
        failing_client.get("/boom/phases/")
    failing_client.get("/api/v1/boom/phases/")
    failing_client.get("/boom/elsewhere/")
    errors.flush()

    groups = {g.location: g for g in ErrorGroup.objects.all()}
    assert set(groups) == {
        "tests/ops/failing_urls.py:16",
        "tests/ops/failing_urls.py:24",
    }
    assert groups["tests/ops/failing_urls.py:16"].count == 4
    assert groups["tests/ops/failing_urls.py:16"].paths == [
        "/boom/phases/",
        "/api/v1/boom/phases/",
    ]


def raise_from(source, filename):
    """Runs `source`'s view() as if it lived in `filename`; answers its error."""
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 test code
    try:
        namespace["view"]()
    except KeyError as error:
        return error
    pytest.fail("the view did not raise")


@pytest.fixture
def views_file(settings):
    return str(settings.BASE_DIR / "projects" / "views.py")


def test_a_line_moved_within_its_function_keeps_its_group(views_file):
    before = raise_from("def view():\n    return {}['x']\n", views_file)
    after = raise_from("def view():\n    total = 0\n\n    return {}['x']\n", views_file)

    first, second = Occurrence.of(before, None), Occurrence.of(after, None)

    assert first.location == "projects/views.py:2"
    assert second.location == "projects/views.py:4"
    assert first.fingerprint == second.fingerprint


def test_another_function_or_exception_is_another_group(views_file):
    base = Occurrence.of(raise_from("def view():\n    {}['x']\n", views_file), None)
    other_function = raise_from(
        "def view():\n    helper()\ndef helper():\n    {}['x']\n", views_file
    )
    other_exception = raise_from(
        "def view():\n    try:\n        int('x')\n    except ValueError:\n"
        "        raise KeyError('x') from None\n",
        views_file,
    )

    assert Occurrence.of(other_function, None).fingerprint != base.fingerprint
    assert Occurrence.of(other_exception, None).exception == "KeyError"
    assert Occurrence.of(other_exception, None).fingerprint == base.fingerprint


def test_a_storm_makes_one_group_with_bounded_samples(failing_client, settings):
    settings.OPS_SAMPLES_PER_GROUP = 3
    settings.OPS_ERROR_FLUSH_SECONDS = 0  # every failure written on its own

    for _ in range(40):
        failing_client.get("/boom/phases/")

    group = ErrorGroup.objects.get()
    assert group.count == 40
    assert ErrorSample.objects.count() == 3
    assert ErrorHour.objects.get().count == 40


def test_a_new_group_mails_the_administrators_once(failing_client, mailoutbox):
    for _ in range(5):
        failing_client.get("/boom/phases/")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.endswith(
        "New error: IndexError at tests/ops/failing_urls.py:16"
    )
    assert mailoutbox[0].to == ["ops@example.com"]


def test_a_resolved_group_that_happens_again_reopens_as_a_regression(
    failing_client, mailoutbox
):
    failing_client.get("/boom/phases/")
    ErrorGroup.objects.update(status=ErrorGroup.Status.RESOLVED)

    failing_client.get("/boom/phases/")
    errors.flush()

    group = ErrorGroup.objects.get()
    assert group.status == ErrorGroup.Status.OPEN
    assert group.is_regression
    assert group.count == 2
    assert "Regression: IndexError" in mailoutbox[-1].subject
    assert len(mailoutbox) == 2


def test_an_ignored_group_is_counted_and_never_mailed(failing_client, mailoutbox):
    failing_client.get("/boom/phases/")
    ErrorGroup.objects.update(status=ErrorGroup.Status.IGNORED)

    failing_client.get("/boom/phases/")
    errors.flush()

    group = ErrorGroup.objects.get()
    assert (group.status, group.count) == (ErrorGroup.Status.IGNORED, 2)
    assert len(mailoutbox) == 1


def test_recording_off_records_nothing(failing_client, settings):
    settings.OPS_RECORD_ERRORS = False

    assert failing_client.get("/boom/phases/").status_code == 500
    assert not ErrorGroup.objects.exists()


def test_a_broken_database_still_gets_the_error_into_the_log(failing_client):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE ops_errorhour")

    with capture_logs() as events:
        response = failing_client.get("/boom/phases/")

    assert response.status_code == 500
    lost = [e for e in events if e["event"] == "error_not_recorded"]
    assert len(lost) == 1
    assert lost[0]["location"] == "tests/ops/failing_urls.py:16"
    assert lost[0]["request_id"] == response.headers["X-Request-ID"]


def test_a_database_that_does_not_answer_is_a_503_and_is_recorded(failing_client):
    page = failing_client.get("/boom/database/")
    api = failing_client.get("/api/v1/boom/database/")
    errors.flush()

    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "Back in a moment" in page.content.decode()
    assert api.status_code == 503
    body = json.loads(api.content)
    assert body["code"] == "unavailable"
    assert body["request_id"] == api.headers["X-Request-ID"]
    group = ErrorGroup.objects.get()
    assert group.exception == "django.db.utils.OperationalError"
    assert group.count == 2


def test_the_admin_shows_groups_with_their_samples(failing_client, administrator):
    failing_client.get("/boom/phases/")
    group = ErrorGroup.objects.get()
    failing_client.force_login(administrator)

    listing = failing_client.get("/admin/ops/errorgroup/?status__exact=open")
    detail = failing_client.get(f"/admin/ops/errorgroup/{group.pk}/change/")

    assert "tests/ops/failing_urls.py:16" in listing.content.decode()
    page = detail.content.decode()
    assert "first_phase_name" in page
    assert group.samples.get().request_id in page


def test_the_admin_resolves_groups_in_bulk(failing_client, administrator):
    failing_client.get("/boom/phases/")
    failing_client.get("/boom/elsewhere/")
    failing_client.force_login(administrator)

    failing_client.post(
        "/admin/ops/errorgroup/",
        {
            "action": "mark_resolved",
            "_selected_action": list(ErrorGroup.objects.values_list("pk", flat=True)),
        },
    )

    assert set(ErrorGroup.objects.values_list("status", flat=True)) == {"resolved"}


def test_repeats_wait_in_memory_and_are_written_together(failing_client, settings):
    settings.OPS_ERROR_FLUSH_SECONDS = 60

    for _ in range(30):
        failing_client.get("/boom/phases/")
        failing_client.get("/api/v1/boom/phases/")

    # The first occurrence is written at once, so the group and its alert are
    # not delayed; the repeats wait for the next flush.
    assert ErrorGroup.objects.get().count == 1
    errors.flush()
    group = ErrorGroup.objects.get()
    assert group.count == 60
    assert ErrorHour.objects.get(group=group).count == 60
    assert sorted(group.paths) == ["/api/v1/boom/phases/", "/boom/phases/"]


def test_repeats_are_written_by_a_later_request_once_due(failing_client, settings):
    settings.OPS_ERROR_FLUSH_SECONDS = 0.2
    failing_client.get("/boom/phases/")
    failing_client.get("/boom/phases/")

    time.sleep(0.25)
    failing_client.get("/health/live")

    assert ErrorGroup.objects.get().count == 2
