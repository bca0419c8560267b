from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from worklogs import services
from worklogs.models import WorkLog


class WorkLogAdminForm(forms.ModelForm):
    class Meta:
        model = WorkLog
        fields = ["user", "project", "phase", "date", "hours", "description"]

    def _post_clean(self):
        # The model's own rules run in super(); the day's total is checked here
        # so that a breach is a form error and not a failed save.
        super()._post_clean()
        if not self.errors:
            try:
                services.check_day_total(self.instance)
            except ValidationError as error:
                self._update_errors(error)


@admin.register(WorkLog)
class WorkLogAdmin(admin.ModelAdmin):
    form = WorkLogAdminForm
    list_display = ["date", "user", "project", "phase", "hours", "updated_at"]
    list_filter = ["project__status", "date"]
    date_hierarchy = "date"
    search_fields = ["description", "user__username", "project__code", "project__name"]
    list_select_related = ["user", "project", "phase"]
    autocomplete_fields = ["user", "project", "phase"]
    show_full_result_count = False

    # Entries of done projects are locked here as on the pages and the API:
    # admin shows them read-only instead of failing on save.
    def has_change_permission(self, request, obj=None):
        locked = obj is not None and obj.is_locked
        return not locked and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        locked = obj is not None and obj.is_locked
        return not locked and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        services.save_worklog(obj)

    def delete_model(self, request, obj):
        services.delete_worklog(obj)

    def delete_queryset(self, request, queryset):
        for worklog in queryset.select_related("project"):
            if not worklog.is_locked:
                services.delete_worklog(worklog)
