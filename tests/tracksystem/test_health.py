import pytest
from django.conf import settings


def test_live_answers_without_touching_the_database(client):
    # No django_db mark: any query here would fail the test.
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_the_database(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL")
def test_ready_checks_redis_where_it_is_configured(client):
    response = client.get("/health/ready")

    assert response.json()["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_health_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health/live").status_code == 200
    assert client.get("/projects/").status_code == 301
