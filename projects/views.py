from django.db.models import F, Prefetch, Sum
from django.shortcuts import get_object_or_404, render

from projects.models import Phase, Project
from tracksystem.forms import DateRangeForm
from tracksystem.roles import can_read_all, manager_required, role_required

RECENT_ENTRIES = 20


@manager_required
def dashboard(request):
    range_form = DateRangeForm(request.GET or None)
    start, end = range_form.dates()

    phases = Phase.objects.with_totals(start, end).order_by("position", "id")
    projects = (
        Project.objects.with_totals(start, end)
        .prefetch_related(Prefetch("phases", queryset=phases))
        .order_by("name", "id")
    )

    return render(
        request,
        "projects/dashboard.html",
        {
            "projects": projects,
            "range_form": range_form,
            "range_query": range_form.as_query(),
        },
    )


@role_required
def project_detail(request, pk):
    range_form = DateRangeForm(request.GET or None)
    start, end = range_form.dates()

    project = get_object_or_404(Project.objects.with_totals(start, end), pk=pk)
    phases = project.phases.with_totals(start, end).order_by("position", "id")
    context = {
        "project": project,
        "phases": phases,
        "range_form": range_form,
        "range_query": range_form.as_query(),
    }

    # Engineers see the project's progress, never other people's entries.
    if can_read_all(request.user):
        entries = project.worklogs.between(start, end)
        if start or end:
            hours_by_engineer = entries.values("user__username").annotate(
                hours=Sum("hours")
            )
        else:
            # All time: the totals the services keep, not the whole history.
            hours_by_engineer = project.person_hours.filter(hours_logged__gt=0).values(
                "user__username", hours=F("hours_logged")
            )
        context["hours_by_engineer"] = hours_by_engineer.order_by(
            "-hours", "user__username"
        )
        context["recent_entries"] = entries.select_related("user", "phase")[
            :RECENT_ENTRIES
        ]

    if request.htmx.target == "project-panel":
        context["in_panel"] = True
        return render(request, "projects/_project_panel.html", context)
    return render(request, "projects/project_detail.html", context)
