"""The banner, its retries and its indicator, with the server really stopped."""

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

PROJECT = "Harbour Hotel Tower"


def open_dashboard(page, server):
    sign_in(page, server, "sarah")
    page.goto(f"{server.url}/projects/")
    expect(page.get_by_text("Choose a project")).to_be_visible()


def banner(page, name):
    return page.locator(f"[data-banner={name}]")


def test_the_banner_appears_when_the_server_stops_mid_use(page, server):
    open_dashboard(page, server)
    expect(page.locator("#connection-status")).to_have_text("Connected")

    server.stop()
    page.get_by_role("link", name=PROJECT).click()

    down = banner(page, "down")
    expect(down).to_be_visible()
    expect(down).to_contain_text("Connection lost - server temporarily unavailable")
    expect(down).to_contain_text("usually takes a few seconds")
    for action in ("Try Again", "Refresh Page", "Dismiss"):
        expect(down.get_by_role("button", name=action)).to_be_visible()
    expect(down.get_by_role("link", name="What to do")).to_have_attribute(
        "href", "/help/connection/"
    )
    expect(down.locator("[data-next]")).to_contain_text("Trying again in")
    expect(page.locator("#connection-status")).to_have_text("Reconnecting")
    expect(page.locator("[data-announcer]")).to_contain_text("Connection lost")

    # Dismiss hides it by keyboard too; the page keeps trying behind it.
    down.get_by_role("button", name="Dismiss").focus()
    page.keyboard.press("Enter")
    expect(down).to_be_hidden()
    expect(page.locator("#connection-status")).to_have_text("Reconnecting")


def test_try_again_fails_while_down_then_restores(page, server):
    open_dashboard(page, server)
    # Only Try Again sends, so that what it does is what is seen.
    page.evaluate("window.trackConnection.settings.autoRetry = false")

    server.stop()
    page.get_by_role("link", name=PROJECT).click()
    down = banner(page, "down")
    expect(down).to_be_visible()

    down.get_by_role("button", name="Try Again").click()
    page.wait_for_function("window.trackConnection.state.attempt >= 2")
    expect(down).to_be_visible()
    expect(banner(page, "restored")).to_be_hidden()

    server.start()
    down.get_by_role("button", name="Try Again").click()

    restored = banner(page, "restored")
    expect(restored).to_be_visible()
    expect(restored).to_have_text("Connection restored")
    expect(down).to_be_hidden()
    expect(page.locator("#project-panel h1")).to_contain_text(PROJECT)
    expect(page.locator("#connection-status")).to_have_text("Connected")
    # The green banner goes by itself.
    expect(restored).to_be_hidden()


def test_the_page_recovers_by_itself(page, server):
    open_dashboard(page, server)

    server.stop()
    page.get_by_role("link", name=PROJECT).click()
    expect(banner(page, "down")).to_be_visible()
    page.wait_for_function("window.trackConnection.state.attempt >= 2")

    server.start()

    expect(banner(page, "restored")).to_be_visible()
    expect(banner(page, "down")).to_be_hidden()
    expect(page.locator("#project-panel h1")).to_contain_text(PROJECT)


def test_rapid_project_switching_sends_fewer_requests_than_clicks(page, server):
    open_dashboard(page, server)
    # A slow line, as on a site office's connection: a click lands while the
    # one before is still on its way.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 400,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        },
    )
    sent = []
    page.on(
        "request",
        lambda request: (
            "hx-request" in request.headers
            and "/projects/" in request.url
            and sent.append(request.url)
        ),
    )

    links = page.locator("#project-table tbody a")
    names = links.all_inner_texts()
    clicks = 0
    for _ in range(2):
        for index in range(len(names)):
            links.nth(index).click()
            clicks += 1

    expect(page.locator("#project-panel h1")).to_contain_text(names[-1])
    page.wait_for_timeout(1000)
    assert clicks >= 10
    assert len(sent) < clicks / 2, sent
    expect(banner(page, "limited")).to_be_hidden()
    expect(banner(page, "down")).to_be_hidden()
