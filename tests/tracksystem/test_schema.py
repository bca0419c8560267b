"""The OpenAPI document and its browsable docs page."""

import re

import pytest
import yaml


def test_schema_is_an_openapi_document_listing_worklogs(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/worklogs/" in schema["paths"]
    assert "/api/v1/worklogs/{id}/" in schema["paths"]


def test_schema_describes_worklog_ids_as_integers(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    parameters = schema["paths"]["/api/v1/worklogs/{id}/"]["get"]["parameters"]
    (id_parameter,) = [p for p in parameters if p["name"] == "id"]
    assert id_parameter["schema"]["type"] == "integer"


def test_schema_documents_each_operations_errors_in_the_one_error_shape(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "code", "request_id"]
    create = schema["paths"]["/api/v1/worklogs/"]["post"]["responses"]
    assert set(create) == {
        "201",
        "400",
        "401",
        "403",
        "409",
        "415",
        "422",
        "429",
        "503",
    }
    assert create["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "401" not in token


def test_docs_page_loads_swagger_from_the_app_not_a_cdn(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn.jsdelivr" not in page
    assert "unpkg" not in page


@pytest.fixture
def serves_static_sources(settings):
    # Without collectstatic, WhiteNoise serves from the finders only when told;
    # the test client builds its middleware on the first request, after this.
    settings.WHITENOISE_USE_FINDERS = True


def test_docs_page_scripts_are_served_by_the_app(client, db, serves_static_sources):
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'src="(/static/drf_spectacular_sidecar/[^"]+\.js)"', page)

    assert scripts
    for script in scripts:
        assert client.get(script).status_code == 200, script
