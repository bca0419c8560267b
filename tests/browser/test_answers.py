"""What the page says when the server answers with an error of its own."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in


@pytest.mark.parametrize(
    "server_env", [{"DJANGO_SETTINGS_MODULE": "tests.browser.failing_settings"}]
)
def test_a_server_error_shows_its_request_id_and_copies_the_details(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, server, "sarah")
    page.goto(f"{server.url}/projects/")

    # A link to a view with a bug in it, loaded by htmx like any other.
    page.evaluate(
        """() => {
          const link = Object.assign(document.createElement("a"), {
            href: "/boom/", textContent: "Broken report",
          });
          document.querySelector("main").append(link);
          htmx.process(link);
        }"""
    )
    page.get_by_role("link", name="Broken report").click()

    error = page.locator("[data-banner=error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Something went wrong on our side")
    request_id = error.locator("[data-error-id]").inner_text()
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
    expect(page.locator("[data-banner=down]")).to_be_hidden()

    error.get_by_role("button", name="Copy details").click()
    expect(error.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"Request id: {request_id}" in copied
    assert "Page: " + server.url + "/projects/" in copied
    assert "Request: GET /boom/" in copied


def test_pages_fit_a_phone_screen(page, server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "sarah")

    for path in ("/projects/", "/worklogs/", "/worklogs/new/", "/help/connection/"):
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
