"""The baseline's only URL, the path the real stack's ceiling is measured at."""

from django.urls import path

from tracksystem import health

urlpatterns = [path("health/live", health.live)]
