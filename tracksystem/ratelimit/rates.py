import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# The syntax django-ratelimit reads too, so one rate reads the same everywhere:
# "25/10s" is 25 requests per 10 seconds, "10/m" 10 per minute.
RATE_PATTERN = re.compile(r"(?P<quota>\d+)/(?P<multiple>\d*)(?P<unit>[smhd])")


@dataclass(frozen=True)
class Policy:
    """`quota` requests per `window` seconds, counted under `name`."""

    name: str
    quota: int
    window: int


@functools.lru_cache(maxsize=128)
def parse_rate(rate, setting="rate"):
    """`(quota, window)` of a rate; a malformed one stops start-up, not requests."""
    match = RATE_PATTERN.fullmatch(rate.strip())
    if not match:
        raise ImproperlyConfigured(
            f"{setting} must read like 25/10s or 1000/5m, not {rate!r}"
        )

    quota = int(match["quota"])
    window = int(match["multiple"] or 1) * SECONDS_PER_UNIT[match["unit"]]
    if quota < 1 or window < 1:
        raise ImproperlyConfigured(f"{setting} needs a quota and a window above 0")
    return quota, window


def policy(name):
    """The policy of `name` as the settings say now, read on every call."""
    quota, window = parse_rate(settings.RATELIMIT_RATES[name], f"rate {name!r}")
    return Policy(name, quota, window)
