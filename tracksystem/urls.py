from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tracksystem import health, views
from tracksystem.ratelimit.pages import limit_sign_in

handler400 = "tracksystem.errors.bad_request"
handler403 = "tracksystem.errors.permission_denied"
handler404 = "tracksystem.errors.page_not_found"
handler500 = "tracksystem.errors.server_error"

api_v1 = [
    path("auth/", include("tracksystem.auth_api")),
    path("", include("projects.api_urls")),
    path("", include("worklogs.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("help/connection/", views.connection_help, name="help-connection"),
    # Both sign-in forms count attempts per username and per address; these
    # come before the patterns they stand in for.
    path(
        "accounts/login/", limit_sign_in(auth_views.LoginView.as_view()), name="login"
    ),
    path("admin/login/", limit_sign_in(admin.site.login)),
    path("admin/ops/overview/", include("ops.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("projects/", include("projects.urls")),
    path("worklogs/", include("worklogs.urls")),
]
