"""The counting stores, each run through the same expectations."""

import multiprocessing
import os
import time

import diskcache
import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from tracksystem.ratelimit.rates import Policy, parse_rate
from tracksystem.ratelimit.stores import DiskStore, RedisStore

REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_store(clear=True):
    if not REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL")
    store = RedisStore(redis.Redis.from_url(REDIS_URL), "rl-test")
    if clear:
        store.clear()
    return store


def disk_store(directory):
    return DiskStore(diskcache.Cache(str(directory)), "rl-test")


@pytest.fixture(params=["disk", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        store = redis_store()
        yield store
        store.clear()
    else:
        yield disk_store(tmp_path)


BURST = Policy("burst", 5, 2)
SUSTAINED = Policy("sustained", 8, 60)


def allowed(counts):
    return all(count.retry_after == 0 for count in counts)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("25/10s", (25, 10)),
        ("1000/5m", (1000, 300)),
        ("10/m", (10, 60)),
        ("3/2h", (3, 7200)),
    ],
)
def test_rates_read_like_django_ratelimits(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["20/10x", "10", "0/10s", "ten/m", "5/0s", ""])
def test_a_malformed_rate_is_refused_with_its_setting_named(rate):
    with pytest.raises(ImproperlyConfigured, match="rate .burst."):
        parse_rate(rate, setting="rate 'burst'")


def test_the_quota_passes_and_the_next_request_is_refused_with_the_wait(store):
    results = [store.hit("user:1", [BURST]) for _ in range(6)]

    assert [allowed(counts) for counts in results] == [True] * 5 + [False]
    assert [counts[0].remaining for counts in results[:5]] == [4, 3, 2, 1, 0]
    refused = results[5][0]
    # The wait reaches into the next window, never past the end of the one after.
    assert 0 < refused.retry_after <= 2 * BURST.window


def test_a_client_is_served_again_once_the_wait_is_over(store):
    for _ in range(5):
        store.hit("user:1", [BURST])
    wait = store.hit("user:1", [BURST])[0].retry_after

    time.sleep(wait - 0.3)
    assert not allowed(store.hit("user:1", [BURST]))
    time.sleep(0.35)
    assert allowed(store.hit("user:1", [BURST]))


def test_other_clients_are_counted_apart(store):
    for _ in range(6):
        store.hit("user:1", [BURST])

    assert allowed(store.hit("user:2", [BURST]))
    assert allowed(store.hit("ip:10.0.0.1", [BURST]))


def test_a_refusal_by_one_window_spends_nothing_of_the_others(store):
    for _ in range(5):
        store.hit("user:1", [BURST, SUSTAINED])
    refused = store.hit("user:1", [BURST, SUSTAINED])

    assert refused[0].retry_after > 0
    assert refused[1].retry_after == 0
    assert refused[1].remaining == SUSTAINED.quota - 5


def test_the_sustained_window_refuses_when_bursts_add_up(store):
    wide_burst = Policy("burst", 100, 2)
    results = [store.hit("user:1", [wide_burst, SUSTAINED]) for _ in range(9)]

    assert [allowed(counts) for counts in results] == [True] * 8 + [False]
    assert results[8][1].retry_after > 2


def test_the_first_refusal_and_the_warning_are_reported_once_per_window(store):
    results = [store.hit("user:1", [BURST])[0] for _ in range(9)]

    # 80% of 5 is the fourth request; refusals start at the sixth.
    assert [count.warning for count in results] == [False] * 3 + [True] + [False] * 5
    assert [count.first_refusal for count in results] == [False] * 5 + [True] + [
        False
    ] * 3


def test_memory_per_client_does_not_grow_with_the_rate():
    store = redis_store()
    small, large = Policy("small", 1000, 300), Policy("large", 100000, 300)
    for _ in range(300):
        store.hit("user:1", [small])
        store.hit("user:2", [large])

    keys_small = list(store.client.scan_iter("rl-test:small:*"))
    keys_large = list(store.client.scan_iter("rl-test:large:*"))
    assert len(keys_small) == len(keys_large) == 1
    assert int(store.client.get(keys_large[0])) == 300
    store.clear()


def _hammer(kind, location, start, queue):
    store = redis_store(clear=False) if kind == "redis" else disk_store(location)
    race = Policy("race", 300, 60)
    start.wait()
    passed = sum(allowed(store.hit("user:7", [race])) for _ in range(200))
    queue.put(passed)


@pytest.mark.parametrize("kind", ["disk", "redis"])
def test_counting_is_exact_across_processes(kind, tmp_path):
    if kind == "redis" and not REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL")
    if kind == "redis":
        redis_store().clear()
    context = multiprocessing.get_context("spawn")
    queue, start = context.Queue(), context.Event()
    workers = [
        context.Process(target=_hammer, args=(kind, tmp_path, start, queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1)  # every process imported and waiting at the gate
    start.set()
    passed = sum(queue.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=10)

    # 800 attempts at one quota of 300: exactly 300 pass, none lost, none doubled.
    assert passed == 300
