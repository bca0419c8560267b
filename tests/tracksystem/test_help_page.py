import pytest

pytestmark = pytest.mark.django_db


def test_the_banner_help_page_opens_without_signing_in(client):
    response = client.get("/help/connection/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "What to do when you see this banner" in page
    assert "Connection lost - server temporarily unavailable" in page
    assert "You are going a bit fast" in page


def test_every_page_carries_the_banner_and_the_indicator(client):
    page = client.get("/accounts/login/").content.decode()

    assert "Connection lost - server temporarily unavailable" in page
    assert 'id="connection-status"' in page
    assert "js/connection.js" in page
    assert "htmx" in page
    assert 'href="/help/connection/"' in page
