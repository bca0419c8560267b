"""What the pages and the API cost on the real stack, against its own ceiling.

    .venv/bin/python bench/stack.py            # make bench: about 6 minutes
    .venv/bin/python bench/stack.py --quick    # make bench-quick: under 2

A gunicorn from gunicorn.conf.py serves a database seeded with
`seed_demo --logs N`: PostgreSQL and Redis when DATABASE_URL and REDIS_URL
are set (the bench uses its own database `bench_<N>` on that server and Redis
database 6), otherwise SQLite files and a disk cache under var/bench/. Every
figure is its requests per second as a share of `/health/live` on the same
server in the same round, and `/health/live` itself a share of the same view
with no middleware (bench/bare_settings.py) behind the same gunicorn. Then
one worker is killed while the load runs, and the master is sent HUP.
Any response but the expected one stops the bench with exit status 1.
Results: bench/results/latest.md, .png and .json; --quick writes
var/bench/quick.* instead.
"""

import argparse
import contextlib
import datetime
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.stack_report import write_chart, write_table  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LOCAL = ROOT / "var" / "bench"
PASSWORD = "bench-password"  # noqa: S105 the throwaway demo's
WRITERS = 20
# The pages whose cost must not follow the amount of data: at ten times the
# work logs, at most this many times the cost.
GROWTH_TARGET = 1.5
GROWTH_BOUND = ("dashboard", "project")
BARE_TARGET = 0.7
# A page slower than a second at 200,000 logs answers only a few requests in
# a measurement; it is measured for longer until it answers this many.
MIN_RESPONSES = 10
LONGEST_MEASUREMENT = 30
REDIS_DB = 6


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    server: str = "main"
    expected: int = 200
    once: bool = False


FIGURES = [
    Figure("bare", "bare Django view, no middleware", server="bare"),
    Figure("live", "GET /health/live"),
    Figure("api_projects", "API GET /api/v1/projects/ (token)"),
    Figure("dashboard", "manager dashboard = project list page GET /projects/"),
    Figure("project", "project page GET /projects/<pk>/ (manager)"),
    Figure("week", "week view GET /worklogs/ (engineer)"),
    Figure(
        "submit", "work-log submit API POST /api/v1/worklogs/", expected=201, once=True
    ),
]


FIGURE = {figure.name: figure for figure in FIGURES}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the CI's short run")
    parser.add_argument(
        "--sizes", help="work logs of each database, comma-separated (20000,200000)"
    )
    parser.add_argument("--rounds", type=int, help="rounds of every figure (3)")
    parser.add_argument("--seconds", type=int, help="seconds of one measurement (5)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    quick = args.quick
    sizes = args.sizes or ("1000,10000" if quick else "20000,200000")
    args.sizes = [int(size) for size in sizes.split(",")]
    args.rounds = args.rounds or (1 if quick else 3)
    args.seconds = args.seconds or (2 if quick else 5)
    args.disruption_seconds = 3 if quick else 8
    if min(args.rounds, args.seconds, args.connections, *args.sizes) < 1:
        parser.error("--rounds, --seconds, --connections and --sizes must be >= 1")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    return args


# --- The databases ------------------------------------------------------------


class Backend:
    """Where the bench's data lives: its own database per size, never `test`."""

    def __init__(self):
        self.database_url = os.environ.get("DATABASE_URL", "")
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.postgres = self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def name(self):
        database = "PostgreSQL" if self.postgres else "SQLite"
        cache = f"Redis db {REDIS_DB}" if self.redis_url else "disk cache"
        return f"{database} + {cache}"

    def env(self, size):
        settings = {}
        if self.postgres:
            settings["DATABASE_URL"] = _with_path(self.database_url, f"/bench_{size}")
        else:
            settings["DATABASE_URL"] = f"sqlite:///{self._sqlite_path(size)}"
        if self.redis_url:
            settings["REDIS_URL"] = _with_path(self.redis_url, f"/{REDIS_DB}")
        else:
            settings["CACHE_DIR"] = str(LOCAL / "cache")
        return settings

    def create(self, size):
        """The database of `size`, made empty where it does not exist yet."""
        if self.postgres:
            harness.recreate_database(self.env(size)["DATABASE_URL"], keep=True)

    def recreate(self, size):
        if self.postgres:
            harness.recreate_database(self.env(size)["DATABASE_URL"])
            return
        path = self._sqlite_path(size)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def empty_cache(self):
        if self.redis_url:
            import redis

            redis.Redis.from_url(_with_path(self.redis_url, f"/{REDIS_DB}")).flushdb()
        else:
            shutil.rmtree(LOCAL / "cache", ignore_errors=True)

    def _sqlite_path(self, size):
        LOCAL.mkdir(parents=True, exist_ok=True)
        return LOCAL / f"bench-{size}.sqlite3"


def _with_path(url, path):
    return urlunsplit(urlsplit(url)._replace(path=path))


def prepared(env, backend, size):
    """The fixtures of a database seeded with `size` logs; seeds it when needed."""
    backend.create(size)
    harness.manage(env, "migrate", "--noinput", "-v0")
    fixtures = _fixtures(env, size)
    if fixtures["seeded_logs"] == size:
        return fixtures, "reused"

    print(f"  seeding {size} work logs ...", flush=True)
    backend.recreate(size)
    harness.manage(env, "migrate", "--noinput", "-v0")
    harness.manage(env, "seed_demo", "--logs", str(size), "--password", PASSWORD)
    return _fixtures(env, size), "seeded"


def _fixtures(env, size):
    code = (
        "from bench import stack_fixtures; "
        f"stack_fixtures.main(writers={WRITERS}, expected_logs={size})"
    )
    output = harness.manage(env, "shell", "-c", code)
    line = next(line for line in output.splitlines() if line.startswith("FIXTURES "))
    return json.loads(line.removeprefix("FIXTURES "))


# --- Requests -------------------------------------------------------------------


def requests_of(figure, fixtures, writes):
    token = {"Authorization": f"Token {fixtures['token']}"}
    manager = {"Cookie": f"sessionid={fixtures['manager_session']}"}
    engineer = {"Cookie": f"sessionid={fixtures['engineer_session']}"}
    return {
        "bare": lambda: [harness.Request("GET", "/health/live")],
        "live": lambda: [harness.Request("GET", "/health/live")],
        "api_projects": lambda: [harness.Request("GET", "/api/v1/projects/", token)],
        "dashboard": lambda: [harness.Request("GET", "/projects/", manager)],
        "project": lambda: [
            harness.Request("GET", f"/projects/{fixtures['project_id']}/", manager)
        ],
        "week": lambda: [harness.Request("GET", "/worklogs/", engineer)],
        "submit": lambda: writes.take(),
    }[figure.name]()


class Submissions:
    """Work logs never sent before, spread over the bench's engineers and days.

    Each is one hour, so a person's day holds 24 of them before the day's
    limit would refuse the next; `take` hands out enough for a measurement.
    """

    def __init__(self, fixtures, per_measurement):
        self.fixtures = fixtures
        self.per_measurement = per_measurement
        self.today = datetime.date.fromisoformat(fixtures["today"])
        self.sent = 0

    def take(self):
        tokens = self.fixtures["writer_tokens"]
        per_day = len(tokens) * 24
        batch = []
        for number in range(self.sent, self.sent + self.per_measurement):
            day = self.today - datetime.timedelta(days=number // per_day)
            token = tokens[number % len(tokens)]
            body = {
                "project": self.fixtures["write_project_id"],
                "phase": self.fixtures["write_phase_id"],
                "date": day.isoformat(),
                "hours": "1",
                "description": "Bench submission",
            }
            headers = {
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                # As the browser's form does: a retry is answered, not stored twice.
                "Idempotency-Key": str(uuid.uuid4()),
            }
            batch.append(
                harness.Request("POST", "/api/v1/worklogs/", headers, json.dumps(body))
            )
        self.sent += self.per_measurement
        return batch


# --- Measurements -------------------------------------------------------------


def measure(generator, server, requests, figure, seconds, *, at_least=MIN_RESPONSES):
    """One measurement, longer where a page is so slow it answered too few."""
    while True:
        workers = server.worker_pids()
        load = generator.run(
            server.port, requests, seconds, expected=figure.expected, once=figure.once
        )
        # Send-once requests cannot be sent again; writes are fast anyway.
        if figure.once or load.requests >= at_least or seconds >= LONGEST_MEASUREMENT:
            break
        seconds = min(3 * seconds, LONGEST_MEASUREMENT)
    problems = harness.check(load)
    if server.worker_pids() != workers:
        problems.append("a worker was replaced during the measurement")
    if problems:
        raise harness.BenchError(
            f"{figure.name} on {server.name}: {'; '.join(problems)}",
            server.log_tail(),
        )
    return load


def measure_size(args, generator, running, fixtures):
    """Rounds over every figure; each ratio is against that round's /health/live."""
    writes = Submissions(fixtures, per_measurement=3000 * args.seconds)
    for figure in FIGURES:  # warm up: connections, templates, caches
        server = running[figure.server]
        requests = requests_of(figure, fixtures, writes)
        measure(generator, server, requests, figure, 1, at_least=1)

    rounds = {figure.name: [] for figure in FIGURES}
    for number in range(args.rounds):
        order = FIGURES if number % 2 == 0 else FIGURES[::-1]
        for figure in order:
            requests = requests_of(figure, fixtures, writes)
            server = running[figure.server]
            rounds[figure.name].append(
                measure(generator, server, requests, figure, args.seconds)
            )
    return summarize(rounds, fixtures["queries"])


def summarize(rounds, queries):
    live = [load.per_second for load in rounds["live"]]
    figures = {}
    for figure in FIGURES:
        loads = rounds[figure.name]
        rates = [load.per_second for load in loads]
        if figure.name == "bare":
            # The other way round: how much of the bare view's rate the stack keeps.
            ratios = [ceiling / rate for ceiling, rate in zip(live, rates, strict=True)]
        else:
            ratios = [rate / ceiling for rate, ceiling in zip(rates, live, strict=True)]
        figures[figure.name] = {
            "label": figure.label,
            "requests_per_second": round(statistics.median(rates), 1),
            "ratio": round(statistics.median(ratios), 4),
            "round_ratios": [round(ratio, 4) for ratio in ratios],
            "p50_ms": round(statistics.median(load.p50_ms for load in loads), 2),
            "p99_ms": round(statistics.median(load.p99_ms for load in loads), 2),
            "requests": sum(load.requests for load in loads),
            "queries": queries.get(figure.name, 0),
        }
    return figures


def growth(by_size):
    """Each figure's cost at the largest size over its cost at the smallest."""
    small, large = min(by_size), max(by_size)
    rows = {}
    for name, figure in by_size[small]["figures"].items():
        if name in ("bare", "live"):
            continue
        larger = by_size[large]["figures"][name]
        factor = figure["ratio"] / larger["ratio"]
        rows[name] = {
            "label": figure["label"],
            "cost_small": round(1 / figure["ratio"], 2),
            "cost_large": round(1 / larger["ratio"], 2),
            "growth": round(factor, 2),
            "p50_growth": round(larger["p50_ms"] / figure["p50_ms"], 2),
            "target": GROWTH_TARGET if name in GROWTH_BOUND else None,
            "passed": factor <= GROWTH_TARGET if name in GROWTH_BOUND else None,
        }
    return {"small": small, "large": large, "figures": rows}


# --- A killed worker and a reload ---------------------------------------------


def disrupted(args, generator, server, requests, disrupt):
    """Load for a while, `disrupt(server)` a third of the way in, then what it cost."""
    before = server.worker_pids()
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            generator.run, server.port, requests, args.disruption_seconds
        )
        time.sleep(args.disruption_seconds / 3)
        at = time.time()
        gone = disrupt(server, before)
        replaced = wait_for_workers(
            server, lambda pids: len(pids) == len(before) and not pids & gone
        )
        seen_after = time.time() - at
        load = running.result()
    time.sleep(0.5)  # the access log's last lines
    after = server.worker_pids()
    new = after - before
    served = [
        line
        for line in server.log_lines()
        if line.get("event") == "gunicorn_access"
        and line.get("pid") in new
        and line.get("status") == 200
    ]
    first = min(served, key=lambda line: line["timestamp"], default=None)
    return {
        "requests": load.requests,
        "failed": load.failed,
        "failed_by_status": load.requests - load.ok,
        "socket_errors": load.errors,
        "workers_before": sorted(before),
        "workers_after": sorted(after),
        "new_workers": sorted(new),
        "replacement_seen_after_s": round(seen_after, 3) if replaced else None,
        "first_200_from_new_worker_after_s": (
            round(_epoch(first["timestamp"]) - at, 3) if first else None
        ),
        "first_request_on_new_worker_ms": first["duration_ms"] if first else None,
    }


def kill_one_worker(server, before):
    """SIGKILL to one worker: the workers that must be gone."""
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    return {victim}


def reload_master(server, before):
    """HUP to the master: new workers start, then the old ones stop gracefully."""
    os.kill(server.process.pid, signal.SIGHUP)
    return before


def wait_for_workers(server, ready, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready(server.worker_pids()):
            return True
        time.sleep(0.005)
    return False


def _epoch(timestamp):
    return datetime.datetime.fromisoformat(timestamp).timestamp()


# --- The run ------------------------------------------------------------------


def run(args, logs):
    backend = Backend()
    generator = harness.LoadGenerator(args.load, args.connections)
    by_size, disruptions = {}, {}
    # The pages name their static files through the manifest collectstatic writes.
    harness.manage(
        harness.clean_env(**backend.env(args.sizes[0])),
        "collectstatic",
        "--noinput",
        "-v0",
    )
    for size in args.sizes:
        env = harness.clean_env(
            **backend.env(size),
            **harness.UNREACHABLE_RATES,
            RATELIMIT_WRITES="100000000/1m",
            WEB_CONCURRENCY="2",
            # No worker recycling in the middle of a measurement.
            GUNICORN_MAX_REQUESTS="0",
            LOG_LEVEL="INFO",
        )
        print(f"{size} work logs on {backend.name}:", flush=True)
        started = time.monotonic()
        fixtures, how = prepared(env, backend, size)
        prepare_seconds = time.monotonic() - started
        backend.empty_cache()
        variants = {
            "main": {},
            "bare": {"DJANGO_SETTINGS_MODULE": "bench.bare_settings"},
        }
        with harness.servers(variants, env, logs / str(size)) as running:
            print(
                f"  measuring {len(FIGURES)} figures x {args.rounds} rounds ...",
                flush=True,
            )
            figures = measure_size(args, generator, running, fixtures)
            if size == min(args.sizes):
                print("  killing a worker, then reloading ...", flush=True)
                week = requests_of(FIGURE["week"], fixtures, None)
                disruptions = {
                    "sigkill_one_worker": disrupted(
                        args, generator, running["main"], week, kill_one_worker
                    ),
                    "sighup_master": disrupted(
                        args, generator, running["main"], week, reload_master
                    ),
                }
        by_size[size] = {
            "database": how,
            "prepare_seconds": round(prepare_seconds, 1),
            "figures": figures,
        }
    return {
        "benchmark": "stack",
        "backend": backend.name,
        "sizes": by_size,
        "growth": growth(by_size) if len(by_size) > 1 else None,
        "disruptions": disruptions,
        "disruption_load": "GET /worklogs/ (engineer)",
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # The servers' output of the last run stays for a look after a failure.
    logs = LOCAL / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    for size in args.sizes:
        (logs / str(size)).mkdir(parents=True)
    started = time.monotonic()
    load_before = [round(n, 2) for n in os.getloadavg()]
    try:
        results = run(args, logs)
    except harness.BenchError as error:
        if error.details:
            print(error.details, file=sys.stderr)
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    results.update(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        command=shlex.join([".venv/bin/python", "bench/stack.py", *argv]),
        settings={
            "load_generator": args.load,
            "connections": args.connections,
            "rounds": args.rounds,
            "seconds_per_measurement": args.seconds,
            "gunicorn_workers": 2,
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": [round(n, 2) for n in os.getloadavg()],
        },
        targets={"bare": BARE_TARGET, "growth": GROWTH_TARGET},
        bench_seconds=round(time.monotonic() - started, 1),
    )
    # A quick run proves the bench works; it never replaces the figures of a full one.
    stem = LOCAL / "quick" if args.quick else RESULTS / "latest"
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    table = write_table(results, stem.with_suffix(".md"))
    write_chart(results, stem.with_suffix(".png"))
    print(table)
    print(f"Wrote {stem.relative_to(ROOT)}.md, .png and .json")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
