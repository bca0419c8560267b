"""Where the counts live: Redis in production, a disk cache on one machine.

Both count with sliding-window counters: a counter per fixed window, and the
previous window's counter weighted by how much of it still overlaps the
sliding window. That is two integers per client and window whatever the rate
(a log of timestamps grows with it), and unlike plain fixed windows it does
not let a client spend two quotas across a window edge in one burst.
"""

import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import diskcache
from redis.exceptions import RedisError

WARNING_SHARE = 0.8


@dataclass(frozen=True)
class Count:
    """What one window says about one request: the store's raw answer."""

    remaining: int
    reset: float
    retry_after: float
    first_refusal: bool
    warning: bool


class RedisStore:
    """All of a request's windows in one round trip: one script run in Redis.

    A pipeline could not decide in one trip (the counts must be read before
    the increment is decided), and a client-side read-then-write is not exact
    across workers; the script runs atomically where the counts are.
    """

    errors = (RedisError,)

    def __init__(self, client, prefix):
        self.client = client
        self.prefix = prefix
        source = (Path(__file__).with_name("sliding_window.lua")).read_text()
        self.script = client.register_script(source)

    def hit(self, client_key, policies):
        keys = [f"{self.prefix}:{policy.name}:{client_key}" for policy in policies]
        args = [
            number for policy in policies for number in (policy.quota, policy.window)
        ]
        raw = self.script(keys=keys, args=args)
        return [
            Count(
                remaining=raw[i],
                reset=raw[i + 1] / 1000,
                retry_after=raw[i + 2] / 1000,
                first_refusal=bool(raw[i + 3]),
                warning=bool(raw[i + 4]),
            )
            for i in range(0, len(raw), 5)
        ]

    def clear(self):
        for key in self.client.scan_iter(f"{self.prefix}:*", count=1000):
            self.client.delete(key)


class DiskStore:
    """The same counting in an SQLite transaction that every worker shares."""

    errors = (diskcache.Timeout, sqlite3.Error, OSError)

    def __init__(self, cache, prefix):
        self.cache = cache
        self.prefix = prefix

    def hit(self, client_key, policies):
        with self.cache.transact():
            now = time.time()
            windows = [
                SlidingWindow.read(
                    self.cache, f"{self.prefix}:{p.name}:{client_key}", p, now
                )
                for p in policies
            ]
            refused = any(window.refuses for window in windows)
            return [window.settle(self.cache, refused) for window in windows]

    def clear(self):
        self.cache.clear()


@dataclass
class SlidingWindow:
    """One window's counters around `now`; mirrors sliding_window.lua."""

    key: str
    quota: int
    window: int
    index: int
    elapsed: float
    current: int
    previous: int

    @classmethod
    def read(cls, cache, prefix, policy, now):
        index = math.floor(now / policy.window)
        return cls(
            key=f"{prefix}:{index}",
            quota=policy.quota,
            window=policy.window,
            index=index,
            elapsed=now - index * policy.window,
            current=cache.get(f"{prefix}:{index}", 0),
            previous=cache.get(f"{prefix}:{index - 1}", 0),
        )

    @property
    def used(self):
        weight = (self.window - self.elapsed) / self.window
        return self.previous * weight + self.current

    @property
    def refuses(self):
        return self.used + 1 > self.quota

    def seconds_until_free(self):
        rest = self.window - self.elapsed
        if self.current + 1 <= self.quota:
            if self.previous <= 0:
                return 0
            # Still in this window: the previous window's weight fades with time.
            spare = self.quota - 1 - self.current
            return max(0, rest - self.window * spare / self.previous)
        # In the next window, this window's count is the one that fades.
        return rest + self.window * (1 - (self.quota - 1) / self.current)

    def settle(self, cache, refused):
        retry = self.seconds_until_free() if self.refuses else 0
        first_refusal = warning = False

        if not refused:
            self.current += 1
            cache.set(self.key, self.current, expire=2 * self.window + 1)
            if self.used >= WARNING_SHARE * self.quota:
                warning = cache.add(f"{self.key}:warned", 1, expire=self.window)
        elif retry > 0:
            first_refusal = cache.add(f"{self.key}:refused", 1, expire=self.window)

        remaining = max(0, math.floor(self.quota - self.used))
        reset = (
            self.seconds_until_free() if remaining == 0 else self.window - self.elapsed
        )
        return Count(
            remaining=remaining,
            reset=math.ceil(reset * 1000) / 1000,
            retry_after=math.ceil(retry * 1000) / 1000,
            first_refusal=bool(first_refusal),
            warning=bool(warning),
        )
