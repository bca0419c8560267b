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
import contextlib
import datetime
import http.client
import json
import multiprocessing
import os
import queue
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import redis
from psycopg.conninfo import conninfo_to_dict
from redis.connection import parse_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracksystem.ratelimit.rates import Policy  # noqa: E402
from tracksystem.ratelimit.stores import RedisStore  # noqa: E402

BIN = Path(sys.executable).parent
WRK_SCRIPT = Path(__file__).with_suffix(".lua")
DEFAULT_OUTPUT = ROOT / "bench" / "results" / "ratelimit.json"
TARGET = 0.9
SMALL_RATE, LARGE_RATE = "1000/5m", "100000/5m"
# A client that passes this share of a quota is logged; the bench's clients
# must stay below it, or the small rate would pay for logging the large does not.
WARNING_SHARE = 0.8

# Rates nobody reaches during the bench: throttling counts, never refuses.
UNREACHABLE_RATES = {
    "RATELIMIT_BURST": "1000000/10s",
    "RATELIMIT_SUSTAINED": "100000000/5m",
    "RATELIMIT_STAFF_BURST": "1000000/10s",
    "RATELIMIT_STAFF_SUSTAINED": "100000000/5m",
}
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


class BenchError(Exception):
    """Something broke: the numbers of this run mean nothing."""

    def __init__(self, message, details=""):
        super().__init__(message)
        self.details = details


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
    """The environment of every command and server: ours, not the shell's."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RATELIMIT_", "GUNICORN_", "DATABASE_", "REDIS_"))
    }
    env.update(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        SECRET_KEY="bench",  # noqa: S106 a throwaway server's key
        HTTPS="false",
        LOG_LEVEL="WARNING",
    )
    return env


def recreate_database(database_url):
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def analyze(database_url):
    # Fresh tables have no statistics until autovacuum gets to them, which
    # would change the query plans in the middle of the bench.
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def manage(env, *args):
    result = subprocess.run(  # noqa: S603 our own manage.py, fixed arguments
        [BIN / "python", "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise BenchError(f"manage.py {args[0]} failed", result.stderr[-3000:])
    return result.stdout


def prepare_database(args, env):
    """A fresh seeded database; answers the tokens: ahmed's, and the clients'."""
    recreate_database(args.database_url)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--password", "benchpass")
    output = manage(env, "shell", "-c", CREATE_CLIENTS.format(count=args.clients))
    line = next(line for line in output.splitlines() if line.startswith("TOKENS "))
    analyze(args.database_url)
    return json.loads(line.removeprefix("TOKENS "))


# --- Servers ----------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One gunicorn from gunicorn.conf.py, its output in files under `logs`."""

    def __init__(self, name, env, logs):
        self.name = name
        self.port = free_port()
        self.env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.log_path = logs / f"{name}.log"
        self.process = None

    def start(self):
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 our own gunicorn
                [BIN / "gunicorn", "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_until_serving()

    def wait_until_serving(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited", self.log_tail())
            with contextlib.suppress(OSError):
                if self.get("/health/live")[0] == 200:
                    return
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not serve in {timeout}s", self.log_tail())

    def get(self, path, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def worker_cpu(self):
        """The workers' pids, and the CPU seconds they have used so far."""
        pid = self.process.pid
        try:
            workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return frozenset(workers), sum(map(cpu_seconds_of, workers))
        except FileNotFoundError as error:
            raise BenchError(f"{self.name} lost a process", self.log_tail()) from error

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines=30):
        return "\n".join(
            self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )


def cpu_seconds_of(pid):
    # /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after
    # the command name, which may itself hold spaces and parentheses.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds(cache):
    info = cache.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


@contextlib.contextmanager
def servers(variants, env, logs):
    """Starts one server per variant (name -> extra env); stops them all."""
    started = {}
    try:
        for name, extra in variants.items():
            started[name] = Server(name, {**env, **extra}, logs)
            started[name].start()
        yield started
    finally:
        for server in started.values():
            server.stop()


# --- Load -------------------------------------------------------------------


@dataclass
class Load:
    """What one measurement sent and got back."""

    requests: int
    seconds: float
    ok: int
    with_header: int
    errors: int
    worker_cpu_seconds: float = 0.0
    # The whole Redis server's, other clients included.
    redis_cpu_seconds: float = 0.0

    @property
    def per_second(self):
        return self.requests / self.seconds

    @property
    def worker_cpu_ms_per_request(self):
        return 1000 * self.worker_cpu_seconds / self.requests

    @property
    def redis_cpu_ms_per_request(self):
        return 1000 * self.redis_cpu_seconds / self.requests

    @property
    def cpu_ms_per_request(self):
        """Workers' and Redis's CPU per request; the database's is left out."""
        return self.worker_cpu_ms_per_request + self.redis_cpu_ms_per_request


def run_wrk(port, path, tokens, seconds, connections):
    command = [
        "wrk",
        f"--threads={min(2, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--script={WRK_SCRIPT}",
        f"http://127.0.0.1:{port}{path}",
        "--",
        *tokens,
    ]
    result = subprocess.run(  # noqa: S603 wrk with our arguments
        command, capture_output=True, text=True, timeout=seconds + 30
    )
    line = next(
        (line for line in result.stdout.splitlines() if line.startswith("BENCH_")),
        None,
    )
    if result.returncode or line is None:
        raise BenchError("wrk failed", f"{result.stdout}\n{result.stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    return Load(
        requests=raw["responses"],
        seconds=raw["duration_us"] / 1e6,
        ok=raw["ok"],
        with_header=raw["with_header"],
        errors=raw["errors"],
    )


def python_client(port, path, tokens, first, start_at, stop_at, results):
    """One connection's requests, sent back to back until `stop_at`."""
    headers = [{"Authorization": f"Token {token}"} for token in tokens]
    counts = Counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    time.sleep(max(0.0, start_at - time.monotonic()))
    position = first
    while time.monotonic() < stop_at:
        try:
            # http.client reconnects by itself when the server closes.
            connection.request("GET", path, headers=headers[position % len(headers)])
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            counts["errors"] += 1
            connection.close()
            continue
        position += 1
        counts["requests"] += 1
        counts["ok"] += response.status == 200
        counts["with_header"] += response.getheader("RateLimit") is not None
    connection.close()
    results.put(dict(counts))


def run_python(port, path, tokens, seconds, connections):
    # Every client process starts and stops on the same clock, after all forked.
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds
    results = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(
            target=python_client,
            args=(port, path, tokens, number, start_at, stop_at, results),
        )
        for number in range(connections)
    ]
    for client in clients:
        client.start()
    counts = Counter()
    try:
        for _ in clients:
            counts.update(results.get(timeout=seconds + 30))
    except queue.Empty as error:
        raise BenchError("a Python client process did not report") from error
    finally:
        for client in clients:
            client.join(timeout=5)
    return Load(
        requests=counts["requests"],
        seconds=seconds,
        ok=counts["ok"],
        with_header=counts["with_header"],
        errors=counts["errors"],
    )


def measure(args, server, cache, path, tokens, *, throttled, seconds=None):
    """One measurement of `server`; any response but a 200 stops the bench."""
    run = run_wrk if args.load == "wrk" else run_python
    workers, worker_cpu = server.worker_cpu()
    redis_cpu = redis_cpu_seconds(cache)
    load = run(server.port, path, tokens, seconds or args.seconds, args.connections)
    workers_after, worker_cpu_after = server.worker_cpu()
    load.worker_cpu_seconds = worker_cpu_after - worker_cpu
    load.redis_cpu_seconds = redis_cpu_seconds(cache) - redis_cpu
    problems = []
    if workers_after != workers:
        problems.append("a worker was replaced during the measurement")
    if load.requests == 0:
        problems.append("no responses")
    if load.errors:
        problems.append(f"{load.errors} socket errors")
    if load.ok != load.requests:
        problems.append(f"{load.requests - load.ok} of {load.requests} not 200")
    expected_headers = load.requests if throttled else 0
    if load.with_header != expected_headers:
        problems.append(
            f"{load.with_header} of {load.requests} carry RateLimit, "
            f"expected {expected_headers}"
        )
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
