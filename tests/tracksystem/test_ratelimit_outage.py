"""A Redis of the test's own, really stopped while the site keeps serving."""

import shutil
import subprocess
import time

import pytest
import redis
from structlog.testing import capture_logs

from tests.conftest import PASSWORD
from tests.server import free_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(settings):
    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    settings.RATELIMIT_STORE_RETRY = 0.3
    yield server
    if server.process.poll() is None:
        server.stop()


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
