from rest_framework import serializers

from projects.models import Phase, Project


class PhaseSerializer(serializers.ModelSerializer):
    logged_hours = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True
    )

    class Meta:
        model = Phase
        fields = ["id", "name", "position", "budget_hours", "logged_hours"]


class ProjectSerializer(serializers.ModelSerializer):
    logged_hours = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True
    )
    last_activity = serializers.DateField(read_only=True, allow_null=True)
    is_over_budget = serializers.BooleanField(read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "code",
            "status",
            "budget_hours",
            "logged_hours",
            "is_over_budget",
            "last_activity",
        ]


class ProjectDetailSerializer(ProjectSerializer):
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "description", "phases"]
