"""The baseline's settings: the same Django and database with no middleware.

`/health/live` is answered by the real stack's own view, but through none of
its middleware: no sessions, request ids, request logging or rate limits.
Everything else (the database, the logging set-up, the ops settings) is the
real settings', because gunicorn.conf.py's hooks record every worker's boot
and exit in ops, which needs its app and tables.
"""

from tracksystem.settings import *  # noqa: F403 the real settings, narrowed below

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "ops"]
MIDDLEWARE = []
# Nothing here renders a template; without engines the warm-up compiles none.
TEMPLATES = []
ROOT_URLCONF = "bench.bare_urls"
