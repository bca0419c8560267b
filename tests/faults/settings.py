"""The real settings, with the misbehaving views and middleware of the fault tests."""

from tracksystem.settings import *  # noqa: F403
from tracksystem.settings import MIDDLEWARE

ROOT_URLCONF = "tests.faults.misbehaving"
# Outermost, so that its delay comes after the work and its transaction.
MIDDLEWARE = ["tests.faults.misbehaving.SlowAnswers", *MIDDLEWARE]
