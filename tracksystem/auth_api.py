from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny

from tracksystem.ratelimit.pages import sign_in_wait


class ObtainToken(ObtainAuthToken):
    """`POST {"username", "password"}` answers `{"token": ...}`."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request, *args, **kwargs):
        # The same count as the sign-in form: a guesser gains nothing by
        # switching between the two.
        username = request.data.get("username") if hasattr(request.data, "get") else ""
        wait = sign_in_wait(request, str(username or ""))
        if wait:
            raise Throttled(wait)
        return super().post(request, *args, **kwargs)


urlpatterns = [path("token/", ObtainToken.as_view(), name="api-token")]
