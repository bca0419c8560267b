"""What the API's rate limiting costs, as ratios measured within one run.

1. Throttled against unthrottled: GET /api/v1/projects/<pk>/ with token auth,
   on PostgreSQL and Redis, from a gunicorn with RATELIMIT_ENABLED=true and
   one with RATELIMIT_ENABLED=false. Target: the throttled one serves at
   least 0.9 of the unthrottled one's requests per second.
2. The configured rate costs nothing: the same throttled request under a
   sustained rate of 1000/5m and of 100000/5m, spread over many users so none
   nears its quota, with the Redis keys each client leaves behind.

The machine is shared and noisy, so the two servers of a comparison run side
by side and are measured in alternating rounds (A B, B A, A B, ...); each
ratio is the median of the rounds' ratios. Beside requests per second, each
round reads the CPU the servers' workers and Redis spent per request, which
other load on the machine disturbs far less. Results go to
bench/results/ratelimit.json.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import redis
from redis.connection import parse_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    UNREACHABLE_RATES,
    BenchError,
    LoadGenerator,
    Request,
    check,
    clean_env,
    manage,
    recreate_database,
    servers,
)
from tracksystem.ratelimit.rates import Policy  # noqa: E402
from tracksystem.ratelimit.stores import RedisStore  # noqa: E402

DEFAULT_OUTPUT = ROOT / "bench" / "results" / "ratelimit.json"
TARGET = 0.9
SMALL_RATE, LARGE_RATE = "1000/5m", "100000/5m"
# A client that passes this share of a quota is logged; the bench's clients
# must stay below it, or the small rate would pay for logging the large does not.
WARNING_SHARE = 0.8

# For comparison 2 only the sustained rate differs between the servers.
RATE_BURST = "100000/10s"

CREATE_CLIENTS = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

User = get_user_model()
engineer = Group.objects.get(name="engineer")
def token_of(user):
    assert not user.is_staff, user
    return Token.objects.get_or_create(user=user)[0].key
clients = []
for number in range({count}):
    user, _ = User.objects.get_or_create(username=f"bench-client-{{number}}")
    user.groups.add(engineer)
    clients.append(token_of(user))
main = token_of(User.objects.get(username="ahmed"))
print("TOKENS " + json.dumps({{"main": main, "clients": clients}}))
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=12, help="rounds per variant")
    parser.add_argument(
        "--seconds", type=int, default=2, help="seconds of one measurement"
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="concurrent client connections"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=50,
        help="users (tokens) that comparison 2 spreads its requests over",
    )
    parser.add_argument(
        "--load",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk when installed (auto), or Python processes",
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_ratelimit",
        help="PostgreSQL database to drop, recreate and seed",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/5",
        help="Redis database to flush between measurements (not db 0)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if min(args.rounds, args.seconds, args.connections, args.clients) < 1:
        parser.error("--rounds, --seconds, --connections and --clients must be >= 1")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    if int(parse_url(args.redis_url).get("db", 0)) == 0:
        parser.error("--redis-url must name a Redis database other than 0")
    return args


# --- The database and its users -------------------------------------------


def base_env(args):
    return clean_env(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        LOG_LEVEL="WARNING",
    )


def analyze(database_url):
    # Fresh tables have no statistics until autovacuum gets to them, which
    # would change the query plans in the middle of the bench.
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def prepare_database(args, env):
    """A fresh seeded database; answers the tokens: ahmed's, and the clients'."""
    recreate_database(args.database_url)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--password", "benchpass")
    output = manage(env, "shell", "-c", CREATE_CLIENTS.format(count=args.clients))
    line = next(line for line in output.splitlines() if line.startswith("TOKENS "))
    analyze(args.database_url)
    return json.loads(line.removeprefix("TOKENS "))


def redis_cpu_seconds(cache):
    info = cache.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(args, server, cache, path, tokens, *, throttled, seconds=None):
    """One measurement of `server`; any response but a 200 stops the bench."""
    requests = [
        Request("GET", path, {"Authorization": f"Token {token}"}) for token in tokens
    ]
    workers, worker_cpu = server.worker_cpu()
    redis_cpu = redis_cpu_seconds(cache)
    load = LoadGenerator(args.load, args.connections).run(
        server.port, requests, seconds or args.seconds
    )
    workers_after, worker_cpu_after = server.worker_cpu()
    load.worker_cpu_seconds = worker_cpu_after - worker_cpu
    load.redis_cpu_seconds = redis_cpu_seconds(cache) - redis_cpu
    problems = check(load, expected_header=load.requests if throttled else 0)
    if workers_after != workers:
        problems.append("a worker was replaced during the measurement")
    if problems:
        raise BenchError(f"{server.name}: {'; '.join(problems)}", server.log_tail())
    return load


def interleaved_rounds(args, pair, measure_one):
    """Rounds of both variants, the order flipped each round so drift cancels."""
    rounds = {name: [] for name in pair}
    for number in range(args.rounds):
        order = pair if number % 2 == 0 else pair[::-1]
        for name in order:
            rounds[name].append(measure_one(name))
    return rounds


# --- Redis ------------------------------------------------------------------


@dataclass
class KeyCensus:
    """The rate-limit keys in Redis after a measurement, per client."""

    clients: int
    keys: int
    keys_per_client: float
    bytes_per_client: float
    keys_per_client_by_policy: dict
    most_counted_by_one_client: int


def key_census(connection, policy_with_quota):
    keys = sorted(key.decode() for key in connection.scan_iter("rl:*", count=1000))
    clients, by_policy, counts = set(), Counter(), Counter()
    for key in keys:
        # rl:<policy>:<client kind>:<client id>:<window index>[:warned|:refused]
        _, policy, kind, client, *rest = key.split(":")
        clients.add(f"{kind}:{client}")
        by_policy[policy] += 1
        if policy == policy_with_quota and len(rest) == 1:
            counts[client] = max(counts[client], int(connection.get(key) or 0))
    memory = sum(connection.memory_usage(key) or 0 for key in keys)
    per_client = max(1, len(clients))
    return KeyCensus(
        clients=len(clients),
        keys=len(keys),
        keys_per_client=len(keys) / per_client,
        bytes_per_client=round(memory / per_client, 1),
        keys_per_client_by_policy={p: n / per_client for p, n in by_policy.items()},
        most_counted_by_one_client=max(counts.values(), default=0),
    )


def evalsha_totals(cache):
    """Calls and microseconds of EVALSHA in Redis so far, all clients'."""
    stats = cache.info("commandstats").get("cmdstat_evalsha", {})
    return stats.get("calls", 0), stats.get("usec", 0)


def store_latency(connection, calls=2000):
    """Microseconds of one RedisStore.hit (the EVALSHA a request pays), and PING.

    Wall time per call, and the CPU this process spends on it (redis-py).
    """
    store = RedisStore(connection, "rl-latency")
    policies = [Policy("burst", 10**9, 10), Policy("sustained", 10**9, 300)]
    store.hit("user:latency", policies)  # loads the script

    def timed(call):
        samples = []
        cpu_started = time.process_time()
        for _ in range(calls):
            started = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - started) / 1000)
        cpu = time.process_time() - cpu_started
        samples.sort()
        return {
            "median_us": round(statistics.median(samples), 1),
            "p99_us": round(samples[int(len(samples) * 0.99)], 1),
            "client_cpu_us": round(1e6 * cpu / calls, 1),
        }

    latency = {
        "calls": calls,
        "store_hit": timed(lambda: store.hit("user:latency", policies)),
        "ping": timed(connection.ping),
    }
    connection.flushdb()
    return latency


# --- The comparisons --------------------------------------------------------


def detail_path(server, token):
    status, body = server.get("/api/v1/projects/", {"Authorization": f"Token {token}"})
    if status != 200:
        raise BenchError(f"listing projects answered {status}: {body[:300]!r}")
    return f"/api/v1/projects/{json.loads(body)['results'][0]['id']}/"


def median_of(loads, attribute):
    return round(statistics.median(getattr(load, attribute) for load in loads), 3)


def summarize(rounds, ratio_name, numerator, denominator):
    rates = {
        name: [load.per_second for load in loads] for name, loads in rounds.items()
    }
    costs = {
        name: [load.cpu_ms_per_request for load in loads]
        for name, loads in rounds.items()
    }
    paired = [a / b for a, b in zip(rates[numerator], rates[denominator], strict=True)]
    # Less cost per request is more throughput where the CPU is the limit.
    paired_by_cpu = [
        b / a for a, b in zip(costs[numerator], costs[denominator], strict=True)
    ]
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "variants": {
            name: {
                "requests_per_second_median": round(medians[name], 1),
                "requests_per_second_rounds": [round(v, 1) for v in values],
                "requests": sum(load.requests for load in rounds[name]),
                "cpu_ms_per_request_median": round(statistics.median(costs[name]), 3),
                "cpu_ms_per_request_rounds": [round(c, 3) for c in costs[name]],
                "worker_cpu_ms_per_request_median": median_of(
                    rounds[name], "worker_cpu_ms_per_request"
                ),
                "redis_cpu_ms_per_request_median": median_of(
                    rounds[name], "redis_cpu_ms_per_request"
                ),
            }
            for name, values in rates.items()
        },
        ratio_name: round(statistics.median(paired), 3),
        "round_ratios": [round(ratio, 3) for ratio in paired],
        "ratio_of_medians": round(medians[numerator] / medians[denominator], 3),
        f"{ratio_name}_by_cpu": round(statistics.median(paired_by_cpu), 3),
    }


def throttled_vs_unthrottled(args, env, logs, tokens, cache):
    variants = {
        "throttled": {"RATELIMIT_ENABLED": "true", **UNREACHABLE_RATES},
        "unthrottled": {"RATELIMIT_ENABLED": "false", **UNREACHABLE_RATES},
    }
    with servers(variants, env, logs) as running:
        path = detail_path(running["throttled"], tokens["main"])

        def measure_one(name, seconds=None):
            cache.flushdb()
            return measure(
                args,
                running[name],
                cache,
                path,
                [tokens["main"]],
                throttled=name == "throttled",
                seconds=seconds,
            )

        for name in variants:
            measure_one(name, seconds=1)  # warm up: connections, caches
        calls, usec = evalsha_totals(cache)
        rounds = interleaved_rounds(args, list(variants), measure_one)
        calls_after, usec_after = evalsha_totals(cache)
    result = summarize(rounds, "throttled_over_unthrottled", *variants)
    # Inside Redis, per call; other clients' EVALSHA in these seconds count too.
    result["redis_evalsha_us_per_call"] = round(
        (usec_after - usec) / max(1, calls_after - calls), 1
    )
    result["path"] = path
    result["target"] = TARGET
    result["passed"] = result["throttled_over_unthrottled"] >= TARGET
    return result, path


def rate_independence(args, env, logs, tokens, cache, path):
    variants = {
        "rate_1000": {"RATELIMIT_SUSTAINED": SMALL_RATE},
        "rate_100000": {"RATELIMIT_SUSTAINED": LARGE_RATE},
    }
    for extra in variants.values():
        extra.update(RATELIMIT_ENABLED="true", RATELIMIT_BURST=RATE_BURST)
    censuses = {name: [] for name in variants}
    small_quota = int(SMALL_RATE.split("/")[0])

    with servers(variants, env, logs) as running:

        def measure_one(name, seconds=None):
            # Both servers count under the same keys: each starts from none.
            cache.flushdb()
            load = measure(
                args,
                running[name],
                cache,
                path,
                tokens["clients"],
                throttled=True,
                seconds=seconds,
            )
            census = key_census(cache, "sustained")
            if census.most_counted_by_one_client >= WARNING_SHARE * small_quota:
                raise BenchError(
                    f"a client made {census.most_counted_by_one_client} requests "
                    f"in one measurement, near the {SMALL_RATE} quota: "
                    "raise --clients"
                )
            censuses[name].append(census)
            return load

        for name in variants:
            measure_one(name, seconds=1)
        for found in censuses.values():
            found.clear()
        rounds = interleaved_rounds(args, list(variants), measure_one)
        cache.flushdb()

    result = summarize(rounds, "rate_100000_over_rate_1000", "rate_100000", "rate_1000")
    result["rates"] = {"rate_1000": SMALL_RATE, "rate_100000": LARGE_RATE}
    result["burst"] = RATE_BURST
    result["redis_keys"] = {
        name: {
            "after_last_round": asdict(found[-1]),
            "rounds": [asdict(c) for c in found],
            "most_keys_per_client": max(c.keys_per_client for c in found),
        }
        for name, found in censuses.items()
    }
    return result


# --- Report -----------------------------------------------------------------


def print_summary(results):
    first = results["throttled_vs_unthrottled"]
    second = results["rate_independence"]
    latency = results["redis_latency"]
    hit = latency["store_hit"]
    verdict = "passed" if first["passed"] else "MISSED"
    lines = [
        f"throttled / unthrottled: {first['throttled_over_unthrottled']:.3f}"
        f"  (target >= {TARGET}: {verdict})",
        f"  from CPU per request: {first['throttled_over_unthrottled_by_cpu']:.3f}",
        *_variant_lines(first),
        f"rate {LARGE_RATE} / {SMALL_RATE}: {second['rate_100000_over_rate_1000']:.3f}",
        f"  from CPU per request: {second['rate_100000_over_rate_1000_by_cpu']:.3f}",
        *_variant_lines(second),
    ]
    for name, keys in second["redis_keys"].items():
        last = keys["after_last_round"]
        by_policy = ", ".join(
            f"{policy} {count:g}"
            for policy, count in sorted(last["keys_per_client_by_policy"].items())
        )
        lines.append(
            f"  {name}: {last['keys_per_client']:g} keys ({by_policy}) and "
            f"{last['bytes_per_client']:.0f} bytes per client after the last round"
            f" ({last['clients']} clients); most in any round "
            f"{keys['most_keys_per_client']:g}"
        )
    ping = latency["ping"]
    lines += [
        f"Store hit from this process: median {hit['median_us']} us "
        f"(p99 {hit['p99_us']}), {hit['client_cpu_us']} us of client CPU; "
        f"PING {ping['median_us']} us, {ping['client_cpu_us']} us CPU",
        f"EVALSHA inside Redis: {first['redis_evalsha_us_per_call']} us per call",
    ]
    print("\n".join(lines))


def _variant_lines(comparison):
    return [
        f"  {name}: {v['requests_per_second_median']:.1f} req/s median (rounds "
        f"{', '.join(f'{rate:.0f}' for rate in v['requests_per_second_rounds'])}),"
        f" CPU per request {v['worker_cpu_ms_per_request_median']:.2f} ms workers"
        f" + {v['redis_cpu_ms_per_request_median']:.2f} ms Redis"
        for name, v in comparison["variants"].items()
    ]


def run(args, argv):
    env = {
        **base_env(args),
        "WEB_CONCURRENCY": "2",
        # No worker recycling in the middle of a measurement.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    print(f"Preparing {args.database_url.rsplit('/', 1)[-1]} ...", flush=True)
    tokens = prepare_database(args, env)
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()
    started = time.monotonic()
    load_before = [round(n, 2) for n in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as logs:
        print("Comparison 1: throttled vs unthrottled ...", flush=True)
        first, path = throttled_vs_unthrottled(args, env, Path(logs), tokens, cache)
        latency = store_latency(cache)
        print("Comparison 2: sustained rate 1000/5m vs 100000/5m ...", flush=True)
        second = rate_independence(args, env, Path(logs), tokens, cache, path)
    return {
        "benchmark": "ratelimit",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join([".venv/bin/python", "bench/ratelimit.py", *argv]),
        "settings": {
            "load_generator": args.load,
            "connections": args.connections,
            "rounds": args.rounds,
            "seconds_per_measurement": args.seconds,
            "gunicorn_workers": int(env["WEB_CONCURRENCY"]),
            "clients_in_comparison_2": args.clients,
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(n, 2) for n in os.getloadavg()],
        },
        "target": TARGET,
        "passed": first["passed"],
        "throttled_vs_unthrottled": first,
        "rate_independence": second,
        "redis_latency": latency,
        "bench_seconds": round(time.monotonic() - started, 1),
    }


def shown(path):
    """`path` from the repository's root where it lies inside it."""
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        results = run(args, argv)
    except BenchError as error:
        # The message last, where it is not lost behind the details.
        if error.details:
            print(error.details, file=sys.stderr)
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_summary(results)
    print(f"Wrote {shown(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
