"""A Redis of the test's own, really stopped while the site keeps serving."""

import time

import pytest
from structlog.testing import capture_logs

from tests.conftest import PASSWORD
from tests.faults.conftest import FAULTS_SETTINGS, signed_in

# In this process, through Django's test client ------------------------------


@pytest.fixture
def own_redis(redis_server, settings):
    settings.REDIS_URL = redis_server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    settings.RATELIMIT_STORE_RETRY = 0.3
    return redis_server


@pytest.mark.django_db
def test_stopping_redis_leaves_the_site_serving_and_ready_naming_the_cache(
    own_redis, api, client, engineer, settings
):
    settings.RATELIMIT_RATES = {**settings.RATELIMIT_RATES, "burst": "3/1m"}
    api.as_user(engineer)
    assert api.get("/api/v1/projects/").headers["RateLimit"].startswith('"burst";r=2')

    own_redis.stop()
    with capture_logs() as events:
        # Sign-in first: its count goes through django-ratelimit and the cache.
        signed_in = client.post(
            "/accounts/login/", {"username": "ahmed", "password": PASSWORD}
        )
        served = [api.get("/api/v1/projects/").status_code for _ in range(6)]
        ready = client.get("/health/ready")

    # Past the burst quota of 3, yet served: the limits fail open.
    assert served == [200] * 6
    assert signed_in.status_code == 302
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["cache"]
    outages = [e for e in events if e["event"] == "ratelimit_store_unavailable"]
    assert len(outages) == 1


@pytest.mark.django_db
def test_limits_come_back_with_redis(own_redis, api, engineer, settings):
    settings.RATELIMIT_RATES = {**settings.RATELIMIT_RATES, "burst": "2/1m"}
    api.as_user(engineer)
    own_redis.stop()
    assert api.get("/api/v1/projects/").status_code == 200

    own_redis.start()
    time.sleep(settings.RATELIMIT_STORE_RETRY)
    with capture_logs() as events:
        statuses = [api.get("/api/v1/projects/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "ratelimit_store_recovered" in [e["event"] for e in events]


# A real gunicorn of two workers ---------------------------------------------

QUOTA = 5
STORE_RETRY = 0.2


def test_each_worker_logs_the_outage_once_and_both_count_again_after_it(
    redis_server, sqlite_database, serve
):
    server = serve(
        sqlite_database,
        DJANGO_SETTINGS_MODULE=FAULTS_SETTINGS,
        REDIS_URL=redis_server.url,
        RATELIMIT_BURST=f"{QUOTA}/1m",
        RATELIMIT_STORE_RETRY=str(STORE_RETRY),
    )

    def projects():
        return server.get("/api/v1/projects/", signed_in(sqlite_database))

    before = [projects()[0] for _ in range(QUOTA + 1)]
    redis_server.stop()
    # Long enough for each worker to try the store again many times.
    during = []
    deadline = time.monotonic() + 20 * STORE_RETRY
    while time.monotonic() < deadline:
        during.append(projects())
        time.sleep(0.02)
    sign_in_page = server.get("/accounts/login/")[0]
    ready_status, ready_headers, ready_body = server.get("/health/ready")
    redis_server.start()
    time.sleep(STORE_RETRY)
    after = [projects()[0] for _ in range(QUOTA + 1)]

    assert before == [200] * QUOTA + [429]
    # Far past the quota while Redis is down, and served: the limits fail open.
    assert [status for status, _, _ in during] == [200] * len(during)
    assert len(during) > 4 * QUOTA
    assert sign_in_page == 200
    assert ready_status == 503
    assert ready_headers["Retry-After"]
    assert b'"failing": ["cache"]' in ready_body
    # Redis came back empty: the quota counts from nothing, in both workers.
    assert after == [200] * QUOTA + [429]
    lines = [line["event"] for line in server.log_lines()]
    served_by = {headers["X-Worker-Pid"] for _, headers, _ in during}
    assert lines.count("ratelimit_store_unavailable") == len(served_by)
    assert 1 <= lines.count("ratelimit_store_recovered") <= len(served_by)
