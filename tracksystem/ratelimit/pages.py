"""Limits on pages: sign-in through django-ratelimit, writes through the engine."""

import functools

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import get_usage

from tracksystem.ratelimit import engine
from tracksystem.ratelimit.rates import policy
from tracksystem.ratelimit.stores import DiskStore, RedisStore

# django-ratelimit reaches the store through Django's cache, which raises the
# client's own errors: django-redis re-raises redis-py's, diskcache its own.
CACHE_ERRORS = (*DiskStore.errors, *RedisStore.errors)


def refused_for(request, *names):
    """Counts a page request in the engine's `names`; the wait when refused."""
    decision = engine.check(
        engine.client_key(request), [policy(name) for name in names]
    )
    request.ratelimit = decision
    if decision is None or decision.allowed:
        return None
    return decision.retry_after


def sign_in_wait(request, username):
    """Counts a sign-in attempt per username and per address.

    Returns the seconds to wait when either is past its rate, else None.
    django-ratelimit counts in fixed windows: a guesser can spend up to two
    quotas across a window edge, which for sign-in rates is still a handful.
    """
    if not settings.RATELIMIT_ENABLED or engine.outage.skipping():
        return None

    username = (username or "").strip().casefold()[:150]
    # A JSON body can carry lone surrogates, which no cache key can be
    # encoded with: as question marks they still count, and the token
    # serializer refuses them after.
    username = username.encode("utf-8", "replace").decode()
    keys = {
        "sign-in-username": lambda group, request: username,
        "sign-in-ip": lambda group, request: engine.client_ip(request),
    }
    waits = []
    for group, key in keys.items():
        try:
            usage = get_usage(
                request,
                group=group,
                key=key,
                rate=settings.RATELIMIT_RATES[group],
                method="POST",
                increment=True,
            )
        except CACHE_ERRORS as error:
            engine.outage.failed(error)
            return None
        if usage and usage["should_limit"]:
            waits.append(max(1, usage["time_left"]))
    return max(waits, default=None)


def limit_sign_in(view):
    """Answers a sign-in form past its limit with a page that says how long to wait."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            wait = sign_in_wait(request, request.POST.get("username"))
            if wait:
                response = render(
                    request,
                    "registration/sign_in_wait.html",
                    {"wait": wait},
                    status=429,
                )
                response.headers["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped
