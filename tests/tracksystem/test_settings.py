"""Settings read from the environment, each in a fresh process.

Every variable a test depends on is set explicitly, so that a local `.env`
(which only fills in what the environment lacks) cannot change the outcome.
"""

import os
import subprocess

from tests.server import BIN, ROOT

PRODUCTION = {
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789abcdef",
    "ALLOWED_HOSTS": "track.example.com",
    "DEBUG": "false",
    "HTTPS": "true",
}


def manage(*args, **env):
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "HTTPS")
    }
    return subprocess.run(
        [BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_unless_debug_is_on():
    refused = manage("check", DEBUG="false", SECRET_KEY="")
    allowed = manage("check", DEBUG="true", SECRET_KEY="")

    assert refused.returncode != 0
    assert "SECRET_KEY is required unless DEBUG is on." in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


def test_a_misspelt_switch_stops_the_process():
    result = manage("check", **{**PRODUCTION, "HTTPS": "flase"})

    assert result.returncode != 0
    assert "HTTPS must be true or false, not 'flase'" in result.stderr


def test_a_malformed_number_stops_the_process():
    result = manage("check", **{**PRODUCTION, "CONN_MAX_AGE": "sixty"})

    assert result.returncode != 0
    assert "sixty" in result.stderr


def test_the_idempotency_lock_must_outlast_the_workers_timeout():
    result = manage(
        "check",
        **{**PRODUCTION, "IDEMPOTENCY_LOCK_TIMEOUT": "30", "GUNICORN_TIMEOUT": "30"},
    )

    assert result.returncode != 0
    assert "IDEMPOTENCY_LOCK_TIMEOUT must be longer than GUNICORN_TIMEOUT" in (
        result.stderr
    )
