from decimal import Decimal

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def count_hours_logged(apps, schema_editor):
    """Sets each project's and phase's stored total from its work logs."""
    WorkLog = apps.get_model("worklogs", "WorkLog")
    for model, key in (("Project", "project"), ("Phase", "phase")):
        total = (
            WorkLog.objects.filter(**{key: OuterRef("pk")})
            .order_by()
            .values(key)
            .annotate(total=Sum("hours"))
            .values("total")
        )
        apps.get_model("projects", model).objects.update(
            hours_logged=Coalesce(
                Subquery(total),
                Decimal("0.00"),
                output_field=models.DecimalField(max_digits=10, decimal_places=2),
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("worklogs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="phase",
            name="hours_logged",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("0.00"), editable=False, max_digits=10
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="hours_logged",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("0.00"), editable=False, max_digits=10
            ),
        ),
        migrations.RunPython(count_hours_logged, migrations.RunPython.noop),
    ]
