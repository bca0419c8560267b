import datetime

import pytest
from django.utils import timezone

from ops.models import RateLimitHit
from ops.ratelimits import OVERFLOW_CLIENT, _prune, record_hit

pytestmark = pytest.mark.django_db


def hit(client="ip:203.0.113.5", scope="anon-burst", at=None, **extra):
    event = {
        "client": client,
        "user_id": None,
        "ip": client.partition(":")[2] if client.startswith("ip:") else None,
        "scope": scope,
        "window": 10,
        "at": at or timezone.now(),
        **extra,
    }
    record_hit(**event)


def test_refused_windows_of_one_client_add_to_one_row_a_day():
    for _ in range(500):
        hit()

    row = RateLimitHit.objects.get()
    assert row.count == 500
    assert row.ip == "203.0.113.5"


def test_scopes_and_days_are_counted_apart():
    yesterday = timezone.now() - datetime.timedelta(days=1)

    hit()
    hit(scope="anon-sustained")
    hit(at=yesterday)

    assert RateLimitHit.objects.count() == 3


def test_past_the_daily_cap_further_clients_share_one_row(settings):
    settings.OPS_RATELIMIT_CLIENTS_PER_DAY = 3

    for n in range(10):
        hit(client=f"ip:203.0.113.{n}")

    assert RateLimitHit.objects.count() == 4
    assert RateLimitHit.objects.get(client=OVERFLOW_CLIENT).count == 7


def test_rows_past_the_retention_are_pruned(settings, monkeypatch):
    settings.OPS_RETENTION_DAYS = 30
    hit(at=timezone.now() - datetime.timedelta(days=45))
    monkeypatch.setattr(_prune, "pruned_on", None)

    hit()

    assert list(RateLimitHit.objects.values_list("day", flat=True)) == [
        timezone.localdate()
    ]


def test_the_admin_lists_who_hits_the_limits(client, administrator, engineer):
    hit(client=f"user:{engineer.pk}", user_id=engineer.pk, ip=None, scope="burst")
    client.force_login(administrator)

    page = client.get("/admin/ops/ratelimithit/?scope=burst").content.decode()

    assert "ahmed" in page
    assert f"user:{engineer.pk}" in page
