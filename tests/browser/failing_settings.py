"""The real settings, with URLs that include a view that fails."""

from tracksystem.settings import *  # noqa: F403

ROOT_URLCONF = "tests.tracksystem.failing_urls"
