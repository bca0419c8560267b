"""The API's rate limits, through the real store: Redis in CI, the disk cache here."""

import time

import pytest
from structlog.testing import capture_logs

from ops.models import RateLimitHit
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def get_projects(api, **extra):
    return api.get("/api/v1/projects/", **extra)


def test_a_user_past_the_burst_window_waits_alone_and_is_served_again(
    api, manager, engineer, rates
):
    rates(burst="3/2s")
    sarah, ahmed = api.as_user(manager), type(api)().as_user(engineer)
    assert [get_projects(sarah).status_code for _ in range(3)] == [200] * 3

    refused = get_projects(sarah)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 4
    body = refused.json()
    assert body["code"] == "throttled"
    assert body["retry_after"] == wait
    assert body["request_id"] == refused.headers["X-Request-ID"]
    assert f"Wait {wait} second" in body["error"]

    assert get_projects(ahmed).status_code == 200

    time.sleep(wait)
    assert get_projects(sarah).status_code == 200


def test_every_api_response_carries_the_ratelimit_fields(api, engineer, rates):
    rates(burst="25/10s", sustained="1000/5m", writes="20/1m")
    api.as_user(engineer)
    reads = '"burst";q=25;w=10, "sustained";q=1000;w=300'

    listing = get_projects(api)
    missing = api.get("/api/v1/projects/999999/")
    invalid = api.post("/api/v1/worklogs/", {"hours": "x"}, format="json")

    assert listing.headers["RateLimit-Policy"] == reads
    assert missing.status_code == 404
    assert missing.headers["RateLimit-Policy"] == reads
    assert invalid.status_code == 400
    assert invalid.headers["RateLimit-Policy"] == f'{reads}, "writes";q=20;w=60'
    remaining = dict(
        item.split(";", 1) for item in invalid.headers["RateLimit"].split(", ")
    )
    assert remaining['"burst"'].startswith("r=22;t=")
    assert remaining['"sustained"'].startswith("r=997;t=")
    assert remaining['"writes"'].startswith("r=19;t=")


def test_a_write_is_counted_in_the_writes_window_too(api, engineer, rates):
    rates(writes="2/1m")
    api.as_user(engineer)

    written = [
        api.post("/api/v1/worklogs/", {}, format="json").status_code for _ in range(3)
    ]

    assert written == [400, 400, 429]
    response = api.post("/api/v1/worklogs/", {}, format="json")
    assert '"writes";q=2;w=60' in response.headers["RateLimit-Policy"]
    # Reading is not writing.
    assert api.get("/api/v1/worklogs/").status_code == 200


def test_the_sustained_window_stops_a_script_for_longer(api, engineer, rates):
    rates(burst="100/10s", sustained="5/1m")
    api.as_user(engineer)

    statuses = [get_projects(api).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]
    assert int(get_projects(api).headers["Retry-After"]) > 10


def test_anonymous_clients_are_limited_per_address(api, rates):
    rates(anon_burst="2/1m")

    first = [get_projects(api, REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
    other = get_projects(api, REMOTE_ADDR="203.0.113.6")

    # Refused for want of a sign-in, and still counted: a flood of 401s is a flood.
    assert first == [401, 401, 429]
    assert other.status_code == 401


def test_ipv6_clients_are_counted_per_64_block(api, rates):
    rates(anon_burst="2/1m")

    get_projects(api, REMOTE_ADDR="2001:db8:1:2::1")
    get_projects(api, REMOTE_ADDR="2001:db8:1:2::ffff")

    assert get_projects(api, REMOTE_ADDR="2001:db8:1:2:aaaa::9").status_code == 429
    assert get_projects(api, REMOTE_ADDR="2001:db8:1:3::1").status_code == 401


def test_staff_are_given_their_own_higher_limits(api, engineer, rates):
    rates(burst="2/1m", staff_burst="5/1m")
    staff = make_user("lina", "engineer", is_staff=True)
    api.as_user(staff)

    statuses = [get_projects(api).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]
    assert '"staff-burst";q=5;w=60' in get_projects(api).headers["RateLimit-Policy"]


def test_switching_limits_off_lets_everything_through(api, engineer, rates, settings):
    rates(burst="1/1m")
    settings.RATELIMIT_ENABLED = False
    api.as_user(engineer)

    responses = [get_projects(api) for _ in range(5)]

    assert {response.status_code for response in responses} == {200}
    assert "RateLimit" not in responses[-1].headers


def test_health_endpoints_are_never_limited(client, rates):
    rates(anon_burst="1/1m", anon_sustained="1/1m")

    statuses = {client.get("/health/live").status_code for _ in range(5)}
    ready = client.get("/health/ready")

    assert statuses == {200}
    assert ready.status_code == 200
    assert "RateLimit" not in ready.headers


def test_the_warning_is_logged_once_when_80_percent_of_a_window_is_used(
    api, engineer, rates
):
    rates(burst="10/1m")
    api.as_user(engineer)

    with capture_logs() as events:
        for _ in range(10):
            get_projects(api)

    warnings = [e for e in events if e["event"] == "ratelimit_warning"]
    assert len(warnings) == 1
    assert warnings[0]["client"] == f"user:{engineer.pk}"
    assert warnings[0]["scope"] == "burst"


def test_the_first_refusal_in_a_window_is_recorded_once(api, engineer, rates):
    rates(burst="2/1m")
    api.as_user(engineer)

    for _ in range(10):
        get_projects(api)

    hit = RateLimitHit.objects.get()
    assert (hit.client, hit.user, hit.scope, hit.window) == (
        f"user:{engineer.pk}",
        engineer,
        "burst",
        60,
    )
    assert hit.count == 1


def test_a_failing_recorder_does_not_fail_the_refusal(
    api, engineer, rates, monkeypatch
):
    rates(burst="1/1m")
    api.as_user(engineer)

    def broken(**event):
        raise RuntimeError("recorder broke")

    monkeypatch.setattr("ops.receivers.record_hit", broken)
    get_projects(api)
    with capture_logs() as events:
        refused = get_projects(api)

    assert refused.status_code == 429
    assert "ratelimit_event_not_recorded" in [e["event"] for e in events]
