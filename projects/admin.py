from django.contrib import admin

from projects.models import Phase, Project


class PhaseInline(admin.TabularInline):
    model = Phase
    fields = ["position", "name", "budget_hours"]
    extra = 1


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "status",
        "budget_hours",
        "logged_hours",
        "last_activity",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["status"]
    search_fields = ["code", "name"]
    inlines = [PhaseInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_totals()

    @admin.display(ordering="logged_hours", description="Logged hours")
    def logged_hours(self, project):
        return project.logged_hours

    @admin.display(ordering="last_activity", description="Last activity")
    def last_activity(self, project):
        return project.last_activity


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "position", "budget_hours"]
    list_filter = ["project__status"]
    list_select_related = ["project"]
    search_fields = ["name", "project__code", "project__name"]
    autocomplete_fields = ["project"]
