import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ops.models import ErrorGroup, ErrorHour, RateLimitHit, WorkerEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def a_day_of_trouble(now, manager):
    for n, cause in enumerate(["signal", "timeout", "max_requests"]):
        WorkerEvent.objects.create(
            kind="exit",
            pid=100 + n,
            cause=cause,
            detail="SIGKILL" if cause == "signal" else "",
            planned=cause == "max_requests",
            uptime=30.0,
            at=now - datetime.timedelta(minutes=n),
        )
    group = ErrorGroup.objects.create(
        fingerprint="f" * 64,
        exception="IndexError",
        location="projects/views.py:42",
        count=7,
        first_seen=now - datetime.timedelta(hours=2),
        last_seen=now,
    )
    ErrorHour.objects.create(group=group, hour=now.replace(minute=0, second=0), count=7)
    RateLimitHit.objects.create(
        client=f"user:{manager.pk}",
        user=manager,
        scope="burst",
        window=10,
        day=timezone.localdate(now),
        count=3,
        first_at=now,
        last_at=now,
    )
    RateLimitHit.objects.create(
        client="ip:203.0.113.9",
        ip="203.0.113.9",
        scope="anon-burst",
        window=10,
        day=timezone.localdate(now),
        count=1,
        first_at=now,
        last_at=now,
    )


def run_report(*args):
    out = io.StringIO()
    call_command("ops_report", *args, stdout=out)
    return out.getvalue()


def test_the_json_report_has_the_keys_the_routine_reads(a_day_of_trouble):
    report = json.loads(run_report("--json"))

    assert report["restarts_today"] == 2
    assert [(e["pid"], e["cause"]) for e in report["worker_exits"]] == [
        (100, "signal"),
        (101, "timeout"),
        (102, "max_requests"),
    ]
    assert set(report["worker_exits"][0]) >= {"pid", "cause", "at"}
    [group] = report["error_groups"]
    assert {k: group[k] for k in ("exception", "location", "count", "status")} == {
        "exception": "IndexError",
        "location": "projects/views.py:42",
        "count": 7,
        "status": "open",
    }
    assert set(group) >= {"first_seen", "last_seen"}
    assert [(r["user"], r["scope"], r["count"]) for r in report["rate_limited"]] == [
        ("sarah", "burst", 3),
        ("203.0.113.9", "anon-burst", 1),
    ]
    assert set(report["rate_limited"][0]) >= {"last_at"}


def test_since_narrows_the_report(a_day_of_trouble, now):
    report = json.loads(run_report("--json", "--since", "90s"))

    assert [e["pid"] for e in report["worker_exits"]] == [100, 101]


@pytest.mark.parametrize("since", ["yesterday", "5w", "2026-13-01"])
def test_an_unreadable_since_is_a_clear_error(since):
    with pytest.raises(CommandError, match="cannot read"):
        run_report("--since", since)


def test_the_text_report_flags_a_day_past_the_threshold(a_day_of_trouble, settings):
    settings.OPS_RESTART_THRESHOLD = 1

    text = run_report()

    assert "Worker restarts today: 2 (threshold 1)  <- past the threshold" in text
    assert "IndexError at projects/views.py:42" in text
    assert "sarah  burst  3 windows" in text


def test_the_overview_page_shows_today_at_a_glance(
    client, administrator, a_day_of_trouble
):
    client.force_login(administrator)

    page = client.get("/admin/ops/overview/").content.decode()

    assert "7</strong>errors today" in page
    assert "2</strong>worker restarts today" in page
    assert "4</strong>rate-limit hits today" in page
    group = ErrorGroup.objects.get()
    assert f"/admin/ops/errorgroup/{group.pk}/change/" in page


def test_the_overview_is_for_staff_only(client, engineer):
    client.force_login(engineer)

    response = client.get("/admin/ops/overview/")

    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


def test_the_admin_index_links_to_the_overview(client, administrator):
    client.force_login(administrator)

    assert "/admin/ops/overview/" in client.get("/admin/").content.decode()
