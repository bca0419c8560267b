"""Chromium, driven by Playwright, against a real gunicorn on a seeded database.

The system's Chromium is used; no browser is downloaded. pytest-playwright is
not used: these tests need a browser launched from that Chromium, a page per
test and a screenshot named after it, a few lines here; its fixtures would add
three packages and still need the skip below.
"""

import os
import re
from pathlib import Path

import pytest

from tests.server import ROOT, Server, manage, migrated_sqlite

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (requirements-dev)"
)

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "browser-test-password"
CHROMIUM_ARGS = [
    # As root, Chromium starts only without its sandbox.
    "--no-sandbox",
    # This machine has no network beyond loopback; these stop Chromium
    # reaching for one.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api.expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def collected_static():
    # The server serves hashed static files, as in production.
    manage("sqlite:///:memory:", "collectstatic", "--noinput", "-v0")


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory, collected_static):
    """The demo firm: engineers, a manager, projects with and without phases."""
    directory = tmp_path_factory.mktemp("demo")
    database_url = migrated_sqlite(directory)
    manage(database_url, "seed_demo", "--password", PASSWORD, "--logs", "40")
    return database_url


@pytest.fixture
def server_env():
    """Extra environment for the test's server; a test overrides it."""
    return {}


@pytest.fixture
def server(demo_database, tmp_path, server_env):
    server = Server(demo_database, tmp_path / "gunicorn.log", **server_env).start()
    yield server
    server.stop()


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page

    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    context.close()


def sign_in(page, server, username):
    page.goto(f"{server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    sync_api.expect(page.locator(".who")).to_have_text(username)


def count_worklogs(database_url, description):
    script = (
        "from worklogs.models import WorkLog; "
        f"print(WorkLog.objects.filter(description={description!r}).count())"
    )
    return int(manage(database_url, "shell", "-c", script).split()[-1])
