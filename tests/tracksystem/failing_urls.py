"""The real URLs plus two views that fail, for the error-page tests."""

from django.urls import path

from tracksystem.urls import (  # noqa: F401 the handlers are looked up here
    handler400,
    handler403,
    handler404,
    handler500,
)
from tracksystem.urls import urlpatterns as real_urlpatterns


def fail(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [
    path("boom/", fail),
    path("api/v1/boom/", fail),
    *real_urlpatterns,
]
