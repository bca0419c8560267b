from rest_framework import permissions, viewsets

from tracksystem.idempotency import IdempotentCreate
from tracksystem.ratelimit.api import CountedBeforePermissions
from worklogs import services
from worklogs.filters import WorkLogFilter
from worklogs.models import WorkLog
from worklogs.serializers import WorkLogSerializer


class ChangesOwnEntriesOnly(permissions.BasePermission):
    message = "You can only change your own entries."

    def has_object_permission(self, request, view, obj):
        return (
            request.method in permissions.SAFE_METHODS or obj.user_id == request.user.pk
        )


class WorkLogViewSet(IdempotentCreate, CountedBeforePermissions, viewsets.ModelViewSet):
    """Engineers see and change their own entries; managers read everyone's."""

    counts_writes = True
    serializer_class = WorkLogSerializer
    filterset_class = WorkLogFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        return [*super().get_permissions(), ChangesOwnEntriesOnly()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema generator asks for the queryset with no signed-in user.
            return WorkLog.objects.none()
        return WorkLog.objects.visible_to(self.request.user).select_related("user")

    def perform_destroy(self, instance):
        services.delete_worklog(instance)
