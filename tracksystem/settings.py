"""Settings for the Track Management System.

Every value that differs between machines comes from the environment and is
read here, in one place, with its type and default. A malformed value stops
the process at start-up instead of being guessed at.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from tracksystem.logs import configure_structlog
from tracksystem.ratelimit.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")


def env_flag(name, default):
    # environ's own bool() reads any unknown word ("flase", "of") as False;
    # a typo in a security switch must stop the process instead.
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


DEBUG = env_flag("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG is on.")
    SECRET_KEY = "insecure-key-for-local-debugging-only"  # noqa: S105 DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_structlog",
    "django_ratelimit",
    "django_htmx",
    "tracksystem",
    "projects",
    "worklogs",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "tracksystem.request_id.RequestIdMiddleware",
    "tracksystem.ratelimit.middleware.RateLimitHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tracksystem.errors.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "tracksystem.urls"
WSGI_APPLICATION = "tracksystem.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tracksystem.roles.roles_context",
            ],
        },
    },
]

# Database: PostgreSQL in production, an SQLite file by default.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection that died with a database restart is noticed and replaced at the
# start of the next request instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction begins, so two
        # workers checking a day's total cannot both pass and both write.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # Short timeouts: a Redis that is down must cost a request
                # milliseconds, not the worker's whole timeout.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
else:
    # A cache on disk that every worker of this machine shares, so the rate
    # limits hold across workers without Redis. It increments atomically in
    # an SQLite transaction.
    CACHES = {
        "default": {
            "BACKEND": "diskcache.DjangoCache",
            "LOCATION": env.str("CACHE_DIR", default=str(BASE_DIR / "var" / "cache")),
            "TIMEOUT": 300,
            "SHARDS": 4,
            # Seconds a writer waits for another worker's transaction.
            "DATABASE_TIMEOUT": 1.0,
        }
    }
    # django-ratelimit supports memcached and django-redis officially and
    # warns about any other cache; the disk cache's add() and incr() are
    # atomic across processes, which is what its counting needs.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# HTTPS: on by default; `make run` on loopback turns it off.
HTTPS = env_flag("HTTPS", True)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind our one reverse proxy, the client's address is the last one in
# X-Forwarded-For and the scheme comes in X-Forwarded-Proto.
BEHIND_PROXY = env_flag("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health endpoints answer load balancers that probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/"]

REST_FRAMEWORK = {
    # Token first: an anonymous API request is told 401 with the scheme to use.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tracksystem.roles.HasRole"],
    # JSON only: the browsable API would answer a browser's errors in HTML.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "tracksystem.api.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tracksystem.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["tracksystem.ratelimit.api.ApiThrottle"],
    "PAGE_SIZE": 50,
}

# Rate limits: "quota/window", the window in s, m, h or d ("25/10s", "1000/5m").
# The API counts its windows in one round trip to the cache; sign-in pages
# are counted by django-ratelimit in the same cache, with the same client keys.
RATELIMIT_ENABLED = env_flag("RATELIMIT_ENABLED", True)
RATELIMIT_RATES = {
    # A person clicking fast trips the burst window and is back in seconds.
    "burst": env.str("RATELIMIT_BURST", default="25/10s"),
    "sustained": env.str("RATELIMIT_SUSTAINED", default="1000/5m"),
    "staff-burst": env.str("RATELIMIT_STAFF_BURST", default="100/10s"),
    "staff-sustained": env.str("RATELIMIT_STAFF_SUSTAINED", default="2000/5m"),
    "anon-burst": env.str("RATELIMIT_ANON_BURST", default="10/10s"),
    "anon-sustained": env.str("RATELIMIT_ANON_SUSTAINED", default="100/5m"),
    # Work-log submissions, from the form and the API alike.
    "writes": env.str("RATELIMIT_WRITES", default="20/1m"),
    "sign-in-username": env.str("RATELIMIT_SIGN_IN_USERNAME", default="10/10m"),
    "sign-in-ip": env.str("RATELIMIT_SIGN_IN_IP", default="100/10m"),
}
for _name, _rate in RATELIMIT_RATES.items():
    parse_rate(_rate, setting=f"rate {_name!r}")
# While the cache is unreachable, requests pass unlimited; the store is tried
# again after this many seconds, and the outage is logged once per interval.
RATELIMIT_STORE_RETRY = env.float("RATELIMIT_STORE_RETRY", default=5.0)
RATELIMIT_OUTAGE_LOG_INTERVAL = env.float("RATELIMIT_OUTAGE_LOG_INTERVAL", default=60.0)
RATELIMIT_KEY_PREFIX = "rl"

# Idempotency-Key: a signed-in client's retried write gets the first answer
# back for this many seconds instead of being done twice.
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=86400)
# A key still running after this many seconds was left by a dead worker, and
# a retry takes it over. gunicorn kills a sync worker whose request outlasts
# its timeout, so a longer lock never takes a key from a live request.
IDEMPOTENCY_LOCK_TIMEOUT = env.int("IDEMPOTENCY_LOCK_TIMEOUT", default=60)
_gunicorn_timeout = env.int("GUNICORN_TIMEOUT", default=30)
if _gunicorn_timeout >= IDEMPOTENCY_LOCK_TIMEOUT:
    raise ImproperlyConfigured(
        "IDEMPOTENCY_LOCK_TIMEOUT must be longer than GUNICORN_TIMEOUT."
    )

# Operations records: how long they are kept, and how many clients per scope
# and day get a row of their own before the rest share one.
OPS_RETENTION_DAYS = env.int("OPS_RETENTION_DAYS", default=90)
OPS_RATELIMIT_CLIENTS_PER_DAY = env.int("OPS_RATELIMIT_CLIENTS_PER_DAY", default=1000)
# Worker restarts: more unplanned exits than this in a day mails the
# administrators; so does a crash loop, OPS_CRASH_LOOP_EXITS exits each within
# OPS_CRASH_LOOP_UPTIME seconds of booting, inside OPS_CRASH_LOOP_PERIOD.
OPS_RESTART_THRESHOLD = env.int("OPS_RESTART_THRESHOLD", default=10)
OPS_CRASH_LOOP_EXITS = env.int("OPS_CRASH_LOOP_EXITS", default=3)
OPS_CRASH_LOOP_UPTIME = env.float("OPS_CRASH_LOOP_UPTIME", default=10.0)
OPS_CRASH_LOOP_PERIOD = env.float("OPS_CRASH_LOOP_PERIOD", default=120.0)
# Unhandled exceptions are grouped in ops; off only for the error-storm
# benchmark's baseline.
OPS_RECORD_ERRORS = env_flag("OPS_RECORD_ERRORS", True)
OPS_SAMPLES_PER_GROUP = env.int("OPS_SAMPLES_PER_GROUP", default=5)
# A group's repeats in one worker are written together at most this often.
OPS_ERROR_FLUSH_SECONDS = env.float("OPS_ERROR_FLUSH_SECONDS", default=1.0)

# Alerts go to ADMINS ("Name <address>, Name <address>") through Django's
# mail; the console backend prints them until a mail server is configured.
ADMINS = [
    (name.strip(), address.strip(" <>"))
    for name, _, address in (
        entry.strip().rpartition(" ") for entry in env.list("ADMINS", default=[])
    )
]
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="tracksystem.mail.ConsoleEmailBackend")
# The master sends restart alerts itself: a mail server that hangs must not
# hold it for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS", False)
SERVER_EMAIL = env.str("SERVER_EMAIL", default="track@localhost")

# django-ratelimit reads these.
RATELIMIT_ENABLE = RATELIMIT_ENABLED
RATELIMIT_FAIL_OPEN = True

SPECTACULAR_SETTINGS = {
    "TITLE": "Track Management System API",
    "DESCRIPTION": "Projects, phases and work logs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracksystem.api.document_errors",
    ],
}

# Logging: one JSON object per line on stdout, each carrying the request id.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# The client's address is bound by tracksystem.request_id as the rate limits
# see it (BEHIND_PROXY), at a fraction of the cost of django-structlog's own
# lookup, which took a fifth of a plain request.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# request_finished says all that request_started would; one event per request.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = 10
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "tracksystem.logs.json_formatter"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own set-up mails ADMINS on every 500; ops groups errors and
        # mails once per group instead.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # Django's request logger repeats what request_finished and
        # request_failed already say, traceback included.
        "django.request": {"level": "CRITICAL"},
        "django.server": {"level": "ERROR"},
    },
}
configure_structlog()
