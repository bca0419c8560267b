"""Signing in to the API, and the one shape every API error has."""

import pytest

from tests.conftest import PASSWORD


def assert_error_shape(response, status, code):
    assert response.status_code == status, response.content
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]
    assert body["code"] == code
    assert body["request_id"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_token_endpoint_answers_a_token_for_the_right_password(api, engineer):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "ahmed", "password": PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"token": engineer.auth_token.key}


def test_token_endpoint_refuses_a_wrong_password_in_the_error_shape(api, engineer):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "ahmed", "password": "wrong"},
        format="json",
    )

    body = assert_error_shape(response, 400, "invalid")
    assert "non_field_errors" in body["fields"]
    assert "token" not in body


def test_token_from_the_endpoint_signs_in_later_requests(api, engineer):
    token = api.post(
        "/api/v1/auth/token/",
        {"username": "ahmed", "password": PASSWORD},
        format="json",
    ).json()["token"]

    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get("/api/v1/projects/")

    assert response.status_code == 200


def test_api_request_without_credentials_is_401_in_the_error_shape(api, db):
    response = api.get("/api/v1/worklogs/")

    assert_error_shape(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"] == "Token"


def test_api_request_with_an_unknown_token_is_401(api, db):
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")

    response = api.get("/api/v1/projects/")

    assert_error_shape(response, 401, "authentication_failed")


def test_user_without_a_role_is_403_with_the_reason(api, no_role_user):
    response = api.as_user(no_role_user).get("/api/v1/projects/")

    body = assert_error_shape(response, 403, "permission_denied")
    assert "no role" in body["error"]


def test_unknown_api_url_is_a_json_404_in_the_error_shape(api, engineer):
    response = api.as_user(engineer).get("/api/v1/nope/", HTTP_ACCEPT="text/html")

    assert_error_shape(response, 404, "not_found")
    assert b"<html" not in response.content.lower()


def test_unknown_api_url_is_json_even_without_credentials(api, db):
    response = api.get("/api/nothing-here")

    assert_error_shape(response, 404, "not_found")


def test_incoming_request_id_is_echoed_in_the_header_and_error_body(api, db):
    response = api.get("/api/v1/projects/", HTTP_X_REQUEST_ID="lb-7f3a.42:1")

    assert response.headers["X-Request-ID"] == "lb-7f3a.42:1"
    assert response.json()["request_id"] == "lb-7f3a.42:1"


def test_request_id_is_generated_when_none_is_sent(api, db):
    first = api.get("/api/v1/projects/")
    second = api.get("/api/v1/projects/")

    assert first.headers["X-Request-ID"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "malformed",
    ["two words", "x" * 300, "<script>", "id\twith\ttabs"],
    ids=["spaces", "300 chars", "markup", "tabs"],
)
def test_malformed_request_id_is_replaced_by_a_generated_one(api, db, malformed):
    response = api.get("/api/v1/projects/", HTTP_X_REQUEST_ID=malformed)

    request_id = response.headers["X-Request-ID"]
    assert request_id
    assert request_id != malformed
    assert response.json()["request_id"] == request_id


def test_unexpected_failure_in_the_api_is_a_json_500(api, engineer, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("projects.api.ProjectViewSet.list", fail)
    api.raise_request_exception = False

    response = api.as_user(engineer).get("/api/v1/projects/")

    body = assert_error_shape(response, 500, "server_error")
    assert "boom" not in body["error"]


def test_malformed_json_body_is_400_in_the_error_shape(api, engineer):
    response = api.as_user(engineer).post(
        "/api/v1/worklogs/", "{not json", content_type="application/json"
    )

    assert_error_shape(response, 400, "parse_error")


def test_request_id_ending_in_a_newline_is_replaced(api, db):
    api.raise_request_exception = False

    response = api.get("/api/v1/projects/", HTTP_X_REQUEST_ID="abc\n")

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] != "abc\n"


def test_api_errors_are_json_even_when_a_browser_asks_for_html(api, engineer):
    response = api.as_user(engineer).get(
        "/api/v1/projects/999999/",
        HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )

    assert response["Content-Type"] == "application/json"
    assert_error_shape(response, 404, "not_found")
