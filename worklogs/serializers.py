from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from projects.models import Phase, Project
from worklogs import services
from worklogs.models import WorkLog


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A day on one phase",
            value={
                "project": 1,
                "phase": 2,
                "date": "2026-03-02",
                "hours": "7.50",
                "description": "Beam calculations for the ground floor",
            },
            request_only=True,
        )
    ]
)
class WorkLogSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    phase = serializers.PrimaryKeyRelatedField(
        queryset=Phase.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = WorkLog
        fields = [
            "id",
            "user",
            "username",
            "project",
            "phase",
            "date",
            "hours",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["user", "created_at", "updated_at"]

    def create(self, validated_data):
        return services.create_worklog(
            user=self.context["request"].user, **validated_data
        )

    def update(self, instance, validated_data):
        return services.update_worklog(instance, **validated_data)
