import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone

from ops import workers
from ops.models import WorkerEvent
from ops.retention import start_of

SUMMARY_DAYS = 14


@admin.register(WorkerEvent)
class WorkerEventAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "pid",
        "kind",
        "cause",
        "detail",
        "planned",
        "uptime_seconds",
        "host",
        "slot",
    ]
    list_filter = ["kind", "cause", "planned", ("at", admin.DateFieldListFilter)]
    search_fields = ["pid", "host", "detail"]
    show_full_result_count = False

    @admin.display(description="uptime", ordering="uptime")
    def uptime_seconds(self, event):
        return "" if event.uptime is None else f"{event.uptime:.1f} s"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        """The list, under two weeks of exits per day and restarts per worker."""
        today = timezone.localdate()
        since = start_of(today - datetime.timedelta(days=SUMMARY_DAYS - 1))
        per_day = workers.exits_per_day(since)
        threshold = settings.OPS_RESTART_THRESHOLD
        restarts_today = per_day.get(today, {}).get("restarts", 0)
        if restarts_today > threshold:
            messages.warning(
                request,
                f"{restarts_today} unplanned worker restarts today, past the "
                f"threshold of {threshold}.",
            )

        summary = {
            "restart_threshold": threshold,
            "exits_per_day": [
                {"day": day, **counts, "over": counts["restarts"] > threshold}
                for day, counts in sorted(per_day.items(), reverse=True)
            ],
            "restarts_per_worker": workers.restarts_per_worker(since),
            "summary_days": SUMMARY_DAYS,
        }
        return super().changelist_view(request, {**(extra_context or {}), **summary})
