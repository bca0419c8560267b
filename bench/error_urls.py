"""The real URLs plus one view that fails the same way every time."""

from django.urls import path

from tracksystem.urls import handler500  # noqa: F401 looked up here
from tracksystem.urls import urlpatterns as real_urlpatterns


def first_phase_name(project):
    return project["phases"][0]["name"]


def project_without_phases(request):
    return first_phase_name({"phases": []})


urlpatterns = [path("storm/", project_without_phases), *real_urlpatterns]
