from django.contrib import admin

from ops.models import RateLimitHit


@admin.register(RateLimitHit)
class RateLimitHitAdmin(admin.ModelAdmin):
    list_display = ["day", "client", "user", "scope", "window", "count", "last_at"]
    list_filter = ["scope", "day"]
    search_fields = ["client", "user__username"]
    list_select_related = ["user"]
    date_hierarchy = "day"
    show_full_result_count = False
    readonly_fields = [field.name for field in RateLimitHit._meta.fields]

    def has_add_permission(self, request):
        return False
