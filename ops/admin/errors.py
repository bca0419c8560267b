from django.contrib import admin, messages
from django.utils.html import format_html

from ops.models import ErrorGroup, ErrorSample


class ErrorSampleInline(admin.StackedInline):
    model = ErrorSample
    extra = 0
    can_delete = False
    ordering = ["-at"]
    fields = ["at", "request_id", "method", "path", "user", "message", "traceback_text"]
    readonly_fields = fields

    @admin.display(description="traceback")
    def traceback_text(self, sample):
        return format_html('<pre class="traceback">{}</pre>', sample.traceback)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ErrorGroup)
class ErrorGroupAdmin(admin.ModelAdmin):
    list_display = [
        "exception",
        "location",
        "count",
        "first_seen",
        "last_seen",
        "status",
        "regression",
    ]
    list_filter = ["status", "last_seen"]
    search_fields = ["exception", "location", "message", "function"]
    date_hierarchy = "last_seen"
    show_full_result_count = False
    inlines = [ErrorSampleInline]
    actions = ["mark_resolved", "mark_ignored", "reopen"]
    fields = [
        "exception",
        "message",
        "location",
        "function",
        "count",
        "first_seen",
        "last_seen",
        "status",
        "regressed_at",
        "users",
        "paths",
        "fingerprint",
    ]
    readonly_fields = [name for name in fields if name != "status"]

    @admin.display(boolean=True, description="regression")
    def regression(self, group):
        return group.is_regression

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark resolved: a new occurrence reopens it")
    def mark_resolved(self, request, groups):
        self._set_status(request, groups, ErrorGroup.Status.RESOLVED)

    @admin.action(description="Ignore: counted, never alerted")
    def mark_ignored(self, request, groups):
        self._set_status(request, groups, ErrorGroup.Status.IGNORED)

    @admin.action(description="Reopen")
    def reopen(self, request, groups):
        self._set_status(request, groups, ErrorGroup.Status.OPEN)

    def _set_status(self, request, groups, status):
        changed = groups.update(status=status)
        self.message_user(
            request, f"{changed} error groups marked {status}.", messages.SUCCESS
        )
