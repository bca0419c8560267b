import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracksystem.settings")

application = get_wsgi_application()


def warm_up():
    """Builds now what Django would build on each worker's first request.

    Called in gunicorn's master before it forks, so a fresh worker's first
    page costs what any other does rather than ~100 ms more: the views'
    imports, reverse()'s names, the template tag libraries, our compiled
    templates and the static files manifest.
    """
    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.db.models.sql import compiler  # noqa: F401 imported on first query
    from django.template import engines
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.resolve("/health/live")
    resolver.reverse_dict  # noqa: B018 the property builds the reverse lookups
    staticfiles_storage.hashed_files  # noqa: B018 reads the manifest
    for engine in engines.all():
        for folder in map(Path, settings.TEMPLATES[0]["DIRS"]):
            for template in folder.rglob("*.html"):
                engine.get_template(str(template.relative_to(folder)))
