"""Counting a client against its windows, and what happens around a count."""

import ipaddress
import math
import threading
import time
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import Signal, receiver
from django.utils import timezone

from tracksystem.ratelimit.stores import DiskStore, RedisStore

log = structlog.get_logger(__name__)

# Sent once per client, policy and fixed window, when the client is first
# refused in it: keyword arguments client, user_id, ip, scope, window, at.
rate_limited = Signal()


def client_ip(request):
    """The client's address; an IPv6 client is one /64, as its provider gives."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY:
        # Our proxy appends the address it saw; anything before it is the
        # client's own claim and could be anything.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        address = forwarded.rsplit(",", 1)[-1].strip() or address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def client_key(request):
    """Who is counted: a signed-in person wherever they come from, else an address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


@dataclass(frozen=True)
class Verdict:
    policy: object
    remaining: int
    reset: float
    retry_after: float


@dataclass(frozen=True)
class Decision:
    """The answer for one request across all the windows it was counted in."""

    client: str
    verdicts: tuple

    @property
    def allowed(self):
        return all(verdict.retry_after == 0 for verdict in self.verdicts)

    @property
    def retry_after(self):
        """Whole seconds until a request would pass; 0 when this one did."""
        return math.ceil(max(verdict.retry_after for verdict in self.verdicts))

    def headers(self):
        """The IETF draft's fields, one list item per window."""
        policies = ", ".join(
            f'"{v.policy.name}";q={v.policy.quota};w={v.policy.window}'
            for v in self.verdicts
        )
        limits = ", ".join(
            f'"{v.policy.name}";r={v.remaining};t={math.ceil(v.reset)}'
            for v in self.verdicts
        )
        return {"RateLimit-Policy": policies, "RateLimit": limits}


class StoreOutage:
    """Lets requests through while the store is unreachable, and says so.

    The store is not tried again for RATELIMIT_STORE_RETRY seconds, so a hung
    Redis costs one request its socket timeout, not every request; the outage
    is logged once per RATELIMIT_OUTAGE_LOG_INTERVAL in each worker.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.down_since = None
        self.retry_at = 0.0
        self.logged_at = None

    def skipping(self):
        return self.down_since is not None and time.monotonic() < self.retry_at

    def failed(self, error):
        now = time.monotonic()
        with self.lock:
            if self.down_since is None:
                self.down_since = now
            self.retry_at = now + settings.RATELIMIT_STORE_RETRY
            due = (
                self.logged_at is None
                or now - self.logged_at >= settings.RATELIMIT_OUTAGE_LOG_INTERVAL
            )
            if due:
                self.logged_at = now
        if due:
            log.error(
                "ratelimit_store_unavailable",
                error=type(error).__name__,
                detail=str(error)[:200],
                down_for=round(now - self.down_since, 1),
            )

    def recovered(self):
        if self.down_since is None:
            return
        with self.lock:
            down_for = time.monotonic() - self.down_since
            self.down_since = None
            self.logged_at = None
        log.info("ratelimit_store_recovered", down_for=round(down_for, 1))


outage = StoreOutage()
_store = None


def store():
    global _store
    if _store is None:
        _store = _build_store()
    return _store


def _build_store():
    backend = settings.CACHES["default"]["BACKEND"]
    prefix = settings.RATELIMIT_KEY_PREFIX
    if backend == "django_redis.cache.RedisCache":
        from django_redis import get_redis_connection

        return RedisStore(get_redis_connection("default"), prefix)
    if backend == "diskcache.DjangoCache":
        return DiskStore(caches["default"].cache("ratelimit"), prefix)
    raise ImproperlyConfigured(
        f"Rate limits count in django-redis or diskcache, not in {backend}"
    )


@receiver(setting_changed)
def _forget_store(setting, **kwargs):
    global _store
    if setting == "CACHES":
        _store = None


def check(client, policies):
    """Counts one request of `client` in every policy, or None when not counted.

    None means no limit applies: limits are switched off, or the store is
    unreachable and the request passes (failing open).
    """
    if not settings.RATELIMIT_ENABLED or not policies or outage.skipping():
        return None

    current_store = store()
    try:
        counts = current_store.hit(client, policies)
    except current_store.errors as error:
        outage.failed(error)
        return None
    outage.recovered()

    for policy, count in zip(policies, counts, strict=True):
        _report(client, policy, count)
    return Decision(
        client,
        tuple(
            Verdict(policy, count.remaining, count.reset, count.retry_after)
            for policy, count in zip(policies, counts, strict=True)
        ),
    )


def _report(client, policy, count):
    fields = {
        "client": client,
        "scope": policy.name,
        "quota": policy.quota,
        "window": policy.window,
    }
    if count.warning:
        log.warning("ratelimit_warning", **fields)
    if count.first_refusal:
        retry_after = math.ceil(count.retry_after)
        log.warning("ratelimit_refused", **fields, retry_after=retry_after)
        kind, _, value = client.partition(":")
        # A receiver that fails must not fail the refusal it records.
        responses = rate_limited.send_robust(
            sender=Decision,
            client=client,
            user_id=int(value) if kind == "user" else None,
            ip=value if kind == "ip" else None,
            scope=policy.name,
            window=policy.window,
            at=timezone.now(),
        )
        for handler, outcome in responses:
            if isinstance(outcome, Exception):
                log.error(
                    "ratelimit_event_not_recorded",
                    handler=getattr(handler, "__qualname__", str(handler)),
                    error=type(outcome).__name__,
                )
