import csv
import itertools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from tracksystem.formats import format_hours
from tracksystem.idempotency import idempotent
from tracksystem.ratelimit.pages import refused_for
from tracksystem.roles import manager_required, role_required
from worklogs import services
from worklogs.forms import ExportForm, WorkLogForm
from worklogs.models import WorkLog
from worklogs.weeks import Week, parse_day, week_start

CSV_COLUMNS = [
    "date",
    "user",
    "project_code",
    "project",
    "phase",
    "hours",
    "description",
]


def _week_url(day):
    return f"{reverse('week')}?week={day:%Y-%m-%d}"


def _to_week(request, day):
    # htmx sent the form: it loads the week as a whole page, so the message
    # shows and the draft it kept is cleared.
    if request.htmx:
        return HttpResponseClientRedirect(_week_url(day))
    return redirect(_week_url(day))


def _too_fast(request, form):
    """Counts a submission in the writes limit, the API's and the form's alike.

    Past the limit the form comes back as typed, with the wait, and nothing
    is saved.
    """
    wait = refused_for(request, "writes")
    if wait:
        unit = "second" if wait == 1 else "seconds"
        form.add_error(
            None,
            f"You are saving entries faster than the limit allows. Wait {wait} "
            f"{unit}, then save again; what you typed is kept.",
        )
    return wait


@role_required
def week(request):
    day = timezone.localdate()
    if "week" in request.GET:
        asked = parse_day(request.GET["week"])
        if asked is None:
            messages.warning(request, "That week could not be read; here is this one.")
        else:
            day = asked

    own_week = Week(WorkLog.objects.filter(user=request.user), week_start(day))
    return render(
        request, "worklogs/week.html", {"week": own_week, "today": timezone.localdate()}
    )


@role_required
@require_http_methods(["GET", "POST"])
@idempotent
def worklog_create(request):
    initial = {"date": request.GET.get("date") or timezone.localdate()}
    form = WorkLogForm(request.POST or None, initial=initial)

    if request.method == "POST" and (wait := _too_fast(request, form)):
        return _form_page(request, form, wait=wait)
    if request.method == "POST" and form.is_valid():
        try:
            worklog = services.create_worklog(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Work log added: {format_hours(worklog.hours)} hours."
            )
            return _to_week(request, worklog.date)

    return _form_page(request, form)


def _form_page(request, form, worklog=None, wait=None):
    response = render(
        request, "worklogs/worklog_form.html", {"form": form, "worklog": worklog}
    )
    if wait:
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
    return response


def _own_worklog(request, pk):
    # Other people's entries do not exist for this person: 404, not 403.
    return get_object_or_404(
        WorkLog.objects.select_related("project"), pk=pk, user=request.user
    )


@role_required
@require_http_methods(["GET", "POST"])
@idempotent
def worklog_edit(request, pk):
    worklog = _own_worklog(request, pk)
    form = WorkLogForm(request.POST or None, instance=worklog)

    if request.method == "POST" and (wait := _too_fast(request, form)):
        return _form_page(request, form, worklog, wait=wait)
    if request.method == "POST" and form.is_valid():
        try:
            # Validating the form already wrote the new values into `worklog`;
            # the service needs the entry as stored, to judge the change.
            stored = WorkLog.objects.select_related("project").get(pk=pk)
            services.update_worklog(stored, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Work log updated.")
            return _to_week(request, form.cleaned_data["date"])

    return _form_page(request, form, worklog)


@role_required
@require_http_methods(["GET", "POST"])
@idempotent
def worklog_delete(request, pk):
    worklog = _own_worklog(request, pk)

    if request.method == "POST":
        try:
            services.delete_worklog(worklog)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Work log deleted.")
        return redirect(_week_url(worklog.date))

    return render(request, "worklogs/worklog_confirm_delete.html", {"worklog": worklog})


class _Echo:
    """A file that hands back what is written, for streaming csv rows."""

    def write(self, value):
        return value


def _spreadsheet_safe(text):
    # A cell starting with = + - @ runs as a formula when the export is opened
    # in a spreadsheet; a leading apostrophe shows it as the text it is.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{text}"
    return text


@manager_required
def export_csv(request):
    form = ExportForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(
            message for messages in form.errors.values() for message in messages
        )
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")

    entries = (
        WorkLog.objects.between(form.cleaned_data["start"], form.cleaned_data["end"])
        .select_related("user", "project", "phase")
        .order_by("date", "id")
    )
    if form.cleaned_data["project"]:
        entries = entries.filter(project=form.cleaned_data["project"])

    writer = csv.writer(_Echo())
    rows = (
        writer.writerow(
            [
                entry.date.isoformat(),
                entry.user.username,
                entry.project.code,
                _spreadsheet_safe(entry.project.name),
                _spreadsheet_safe(entry.phase.name) if entry.phase else "",
                entry.hours,
                _spreadsheet_safe(entry.description),
            ]
        )
        for entry in entries.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(
        itertools.chain([writer.writerow(CSV_COLUMNS)], rows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="worklogs.csv"'
    return response
