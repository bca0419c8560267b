"""Health endpoints for the process manager and the load balancer."""

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse

log = structlog.get_logger(__name__)


def live(request):
    """The process serves requests; nothing else is touched."""
    return JsonResponse({"status": "ok"})


def ready(request):
    """The parts a request needs answer: the database, and Redis where used."""
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["cache"] = _check_cache()

    failing = [name for name, result in checks.items() if result != "ok"]
    if failing:
        log.warning("health_not_ready", failing=failing)
        body = {"status": "failing", "failing": failing, "checks": checks}
        return JsonResponse(body, status=503, headers={"Retry-After": "5"})
    return JsonResponse({"status": "ok", "checks": checks})


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        # The broken connection must not be reused by the next request.
        connection.close_if_unusable_or_obsolete()
        return f"failing: {type(exc).__name__}"
    return "ok"


def _check_cache():
    try:
        cache.set("health:ready", "1", timeout=5)
        if cache.get("health:ready") != "1":
            return "failing: value not read back"
    except Exception as exc:  # any client error means the cache is not usable
        return f"failing: {type(exc).__name__}"
    return "ok"
