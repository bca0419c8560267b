from django.db.models import Prefetch
from rest_framework import viewsets

from projects.models import Phase, Project
from projects.serializers import ProjectDetailSerializer, ProjectSerializer
from tracksystem.ratelimit.api import CountedBeforePermissions


class ProjectViewSet(CountedBeforePermissions, viewsets.ReadOnlyModelViewSet):
    """Projects with the hours logged against them; the detail lists phases."""

    filterset_fields = ["status"]

    def get_queryset(self):
        projects = Project.objects.with_totals().order_by("name", "id")
        if self.action == "retrieve":
            phases = Phase.objects.with_totals().order_by("position", "id")
            projects = projects.prefetch_related(Prefetch("phases", queryset=phases))
        return projects

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ProjectDetailSerializer
        return ProjectSerializer
