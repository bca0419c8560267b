"""What an engineer types is kept through failures and saved exactly once."""

import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import count_worklogs, sign_in


def open_form(page, server):
    page.goto(f"{server.url}/worklogs/new/")
    expect(page.locator("#worklog-form")).to_be_visible()


def fill_entry(page, description, hours="2"):
    page.get_by_label("Project").select_option(label="VEX Villa Extension")
    page.get_by_label("Date").fill(f"{datetime.date.today():%Y-%m-%d}")
    page.get_by_label("Hours").fill(hours)
    page.get_by_label("Description").fill(description)


def submit(page):
    page.get_by_role("button", name="Submit").click()


def expect_saved(page, hours="2", timeout=10_000):
    expect(page.locator(".message-success")).to_have_text(
        f"Work log added: {hours} hours.", timeout=timeout
    )


def test_a_submit_during_an_outage_is_kept_and_sent_once_when_back(
    page, server, demo_database
):
    sign_in(page, server, "ahmed")
    open_form(page, server)
    fill_entry(page, "Kept through a refresh and an outage")

    # A refresh brings back what was typed, from the browser's draft.
    page.reload()
    expect(page.locator("[data-draft-note]")).to_be_visible()
    expect(page.get_by_label("Description")).to_have_value(
        "Kept through a refresh and an outage"
    )
    expect(page.get_by_label("Hours")).to_have_value("2")

    server.stop()
    submit(page)
    expect(page.locator("[data-banner=down]")).to_be_visible()
    expect(page.get_by_label("Description")).to_have_value(
        "Kept through a refresh and an outage"
    )

    server.start()

    expect_saved(page)
    assert count_worklogs(demo_database, "Kept through a refresh and an outage") == 1
    # Confirmed by the server, the draft is gone: a new form starts empty.
    open_form(page, server)
    expect(page.get_by_label("Description")).to_have_value("")
    expect(page.locator("[data-draft-note]")).to_be_hidden()


def test_a_submit_whose_answer_is_lost_is_stored_once(page, server, demo_database):
    sign_in(page, server, "ahmed")
    open_form(page, server)
    fill_entry(page, "Answer lost on the way back")
    keys = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            # The server saves the entry; its answer never reaches the page.
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    def route(route):
        if route.request.method == "POST":
            lose_the_first_answer(route)
        else:
            route.continue_()

    page.route("**/worklogs/new/", route)
    submit(page)

    expect_saved(page)
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]
    assert count_worklogs(demo_database, "Answer lost on the way back") == 1
    events = server.log_lines()
    assert any(event.get("event") == "idempotent_replay" for event in events)


@pytest.mark.parametrize("server_env", [{"RATELIMIT_WRITES": "1/3s"}])
def test_a_rate_limited_submit_counts_down_and_goes_through(
    page, server, demo_database
):
    sign_in(page, server, "ahmed")
    open_form(page, server)
    fill_entry(page, "First of two quick entries", hours="1")
    submit(page)
    expect_saved(page, hours="1")

    open_form(page, server)
    fill_entry(page, "Second of two quick entries", hours="1")
    submit(page)

    limited = page.locator("[data-banner=limited]")
    expect(limited).to_be_visible()
    expect(limited).to_contain_text("You are going a bit fast; you can continue in")
    seconds = int(limited.locator("[data-countdown]").inner_text())
    # The sliding window can ask for up to two windows' wait.
    assert 1 <= seconds <= 6
    expect(page.locator("[data-banner=down]")).to_be_hidden()
    expect(page.locator("#connection-status")).to_have_text("Connected")

    # At zero the page sends it once more by itself.
    expect_saved(page, hours="1", timeout=(seconds + 5) * 1000)
    assert count_worklogs(demo_database, "Second of two quick entries") == 1


def test_signing_out_leaves_no_draft_behind(page, server):
    sign_in(page, server, "ahmed")
    open_form(page, server)
    fill_entry(page, "Typed on a shared computer")
    assert page.evaluate("Object.keys(localStorage).length") == 1

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    assert page.evaluate("Object.keys(localStorage).length") == 0
