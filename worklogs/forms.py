from django import forms
from django.utils import timezone

from projects.models import Phase, Project
from tracksystem.forms import DateRangeForm
from worklogs.models import WorkLog


class PhaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, phase):
        return f"{phase.project.code} · {phase.name}"


class WorkLogForm(forms.ModelForm):
    phase = PhaseChoiceField(
        queryset=Phase.objects.none(),
        required=False,
        help_text="Leave empty only when the project has no phases.",
    )

    class Meta:
        model = WorkLog
        fields = ["project", "phase", "date", "hours", "description"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "hours": forms.NumberInput(
                attrs={"step": "0.25", "min": "0.25", "max": "24"}
            ),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        open_projects = Project.objects.open_for_logging()
        self.fields["project"].queryset = open_projects
        self.fields["phase"].queryset = Phase.objects.filter(
            project__in=open_projects
        ).select_related("project")
        self.fields["date"].widget.attrs["max"] = f"{timezone.localdate():%Y-%m-%d}"


class ExportForm(DateRangeForm):
    project = forms.ModelChoiceField(queryset=Project.objects.all(), required=False)
