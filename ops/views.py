import datetime

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone

from ops import report, workers
from ops.models import ErrorGroup, ErrorHour, RateLimitHit, WorkerEvent


@staff_member_required
def overview(request):
    """Today and this week at a glance: errors, restarts, rate-limit hits."""
    now = timezone.now()
    today = report.start_of_today(now)
    week = today - datetime.timedelta(days=6)
    hours = [
        now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=n)
        for n in range(23, -1, -1)
    ]
    days = [
        timezone.localdate(now) - datetime.timedelta(days=n) for n in range(6, -1, -1)
    ]
    restarts_today = report.restarts_today(now)

    context = {
        **admin.site.each_context(request),
        "title": "Operations overview",
        "errors_today": _total(ErrorHour.objects.filter(hour__gte=today)),
        "errors_week": _total(ErrorHour.objects.filter(hour__gte=week)),
        "new_groups_today": ErrorGroup.objects.filter(first_seen__gte=today).count(),
        "restarts_today": restarts_today,
        "restarts_week": WorkerEvent.objects.restarts().filter(at__gte=week).count(),
        "restart_threshold": settings.OPS_RESTART_THRESHOLD,
        "restarts_over_threshold": restarts_today > settings.OPS_RESTART_THRESHOLD,
        "limited_today": _total(RateLimitHit.objects.filter(day=days[-1])),
        "limited_week": _total(RateLimitHit.objects.filter(day__gte=days[0])),
        "error_bars": _bars(
            report.errors_per_hour(hours[0]), hours, lambda hour: f"{hour:%H}"
        ),
        "restart_bars": _bars(
            workers.restarts_per_day(week), days, lambda day: f"{day:%a}"
        ),
        "open_groups": ErrorGroup.objects.needing_attention().order_by("-last_seen")[
            :10
        ],
        "limited": report.rate_limited(week)[:10],
    }
    return render(request, "admin/ops/overview.html", context)


def _total(rows):
    return rows.aggregate(total=Sum("count"))["total"] or 0


def _bars(series, keys, label):
    """Bars for a small chart: each key's count and its height in percent."""
    counts = [series.get(key, 0) for key in keys]
    highest = max(counts, default=0) or 1
    return [
        {"label": label(key), "count": count, "percent": round(100 * count / highest)}
        for key, count in zip(keys, counts, strict=True)
    ]
