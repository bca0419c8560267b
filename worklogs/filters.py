import django_filters

from worklogs.models import WorkLog


class WorkLogFilter(django_filters.FilterSet):
    """`?project=&phase=&user=&start=&end=`, the same words the pages use."""

    start = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = WorkLog
        fields = ["project", "phase", "user", "start", "end"]
