"""The real URLs plus views that fail in known places, for the grouping tests."""

from django.db import OperationalError
from django.urls import path

from tracksystem.urls import (  # noqa: F401 the handlers are looked up here
    handler400,
    handler403,
    handler404,
    handler500,
)
from tracksystem.urls import urlpatterns as real_urlpatterns


def first_phase_name(project):
    return project["phases"][0]["name"]


def project_without_phases(request):
    first_phase_name({"phases": []})


def another_place(request):
    [][0]


def database_gone(request):
    raise OperationalError("connection to server failed: Connection refused")


urlpatterns = [
    path("boom/phases/", project_without_phases),
    path("api/v1/boom/phases/", project_without_phases),
    path("boom/elsewhere/", another_place),
    path("boom/database/", database_gone),
    path("api/v1/boom/database/", database_gone),
    *real_urlpatterns,
]
