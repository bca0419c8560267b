import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tracksystem.failing_urls")]


@pytest.fixture
def failing_client(client):
    client.raise_request_exception = False
    return client


def test_an_unhandled_error_on_a_page_is_a_friendly_page_with_the_request_id(
    failing_client,
):
    response = failing_client.get("/boom/", headers={"X-Request-ID": "req-500-page"})

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert "req-500-page" in page
    assert 'href="/"' in page


def test_an_unhandled_error_in_the_api_is_json_with_the_request_id(failing_client):
    response = failing_client.get(
        "/api/v1/boom/", headers={"X-Request-ID": "req-500-api"}
    )

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "Something went wrong on our side.",
        "code": "server_error",
        "request_id": "req-500-api",
    }
    assert response["X-Request-ID"] == "req-500-api"


def test_an_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()
