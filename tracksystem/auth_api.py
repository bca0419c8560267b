from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny


class ObtainToken(ObtainAuthToken):
    """`POST {"username", "password"}` answers `{"token": ...}`."""

    permission_classes = [AllowAny]
    authentication_classes = []


urlpatterns = [path("token/", ObtainToken.as_view(), name="api-token")]
