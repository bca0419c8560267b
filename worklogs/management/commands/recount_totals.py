"""`recount_totals`: sets the stored hours of projects, phases and people from
the work logs, for a database whose entries were changed outside the app."""

from django.core.management.base import BaseCommand
from django.db import transaction

from projects.models import Phase, Project
from worklogs.models import PersonHours


class Command(BaseCommand):
    help = (
        "Recounts the hours logged on every project and phase, and by every "
        "person on each project, from the work logs, after entries were changed "
        "by hand in the database."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            projects = Project.objects.recount_hours()
            phases = Phase.objects.recount_hours()
            people = PersonHours.objects.recount()

        self.stdout.write(
            f"Recounted {projects} projects, {phases} phases and {people} "
            "people's hours on projects."
        )
