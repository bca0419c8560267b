from django.contrib import admin

from tracksystem.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only: the keys are written by the requests that carry them."""

    list_display = ["created_at", "user", "key", "status", "response_status"]
    list_filter = ["status"]
    search_fields = ["key", "user__username"]
    list_select_related = ["user"]
    show_full_result_count = False
    exclude = ["response_body"]
    readonly_fields = ["stored_body"]

    @admin.display(description="response body")
    def stored_body(self, entry):
        return bytes(entry.response_body).decode(errors="replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
