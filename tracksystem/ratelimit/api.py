"""The engine as DRF's throttle: every window of a request in one count."""

from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from tracksystem.ratelimit import engine
from tracksystem.ratelimit.rates import policy


def api_policies(request, view):
    user = request.user
    if not user.is_authenticated:
        names = ["anon-burst", "anon-sustained"]
    elif user.is_staff:
        names = ["staff-burst", "staff-sustained"]
    else:
        names = ["burst", "sustained"]
    if request.method not in SAFE_METHODS and getattr(view, "counts_writes", False):
        names.append("writes")
    return [policy(name) for name in names]


class ApiThrottle(BaseThrottle):
    """Counts the caller in all its windows in one round trip to the store.

    DRF's SimpleRateThrottle is not used: it keeps a list of timestamps per
    client that grows with the rate and rewrites it without a lock, so
    concurrent workers lose counts; and it checks one window per class, each
    a round trip of its own.
    """

    def allow_request(self, request, view):
        self.decision = engine.check(
            engine.client_key(request), api_policies(request, view)
        )
        # The headers middleware writes the RateLimit fields from this.
        request._request.ratelimit = self.decision
        return self.decision is None or self.decision.allowed

    def wait(self):
        return self.decision.retry_after


class CountedBeforePermissions:
    """Counts a request before its permissions are checked.

    DRF checks permissions first, so an anonymous client that is refused
    with 401 or 403 would never reach its limit however fast it sends.
    """

    def check_permissions(self, request):
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        if getattr(request, "_counted", False):
            return
        request._counted = True
        super().check_throttles(request)
