import pytest
import structlog
from structlog.testing import capture_logs

pytestmark = pytest.mark.django_db


def finished(events):
    return [e for e in events if e["event"] == "request_finished"]


def test_each_request_logs_one_line_with_status_duration_user_and_id(api, engineer):
    api.as_user(engineer)

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        response = api.get("/api/v1/projects/", HTTP_X_REQUEST_ID="trace-42")

    [line] = finished(events)
    assert line["code"] == 200
    assert line["request"] == "GET /api/v1/projects/"
    assert line["duration_ms"] >= 0
    assert line["user_id"] == engineer.pk
    assert line["request_id"] == "trace-42" == response.headers["X-Request-ID"]


def test_a_failed_request_logs_its_duration_too(client, settings):
    settings.ROOT_URLCONF = "tests.ops.failing_urls"
    client.raise_request_exception = False

    with capture_logs() as events:
        client.get("/boom/phases/")

    [line] = [e for e in events if e["event"] == "request_failed"]
    assert line["code"] == 500
    assert line["duration_ms"] >= 0


@pytest.mark.parametrize(
    ("behind_proxy", "logged"), [(False, "198.51.100.4"), (True, "203.0.113.7")]
)
def test_a_request_logs_the_address_the_limits_count(
    client, settings, behind_proxy, logged
):
    settings.BEHIND_PROXY = behind_proxy

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        client.get(
            "/health/live",
            REMOTE_ADDR="198.51.100.4",
            HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.7",
        )

    [line] = finished(events)
    assert line["ip"] == logged
