"""An error storm: identical failing requests, with error recording on and off.

    .venv/bin/python bench/error_storm.py [--requests 2000] [--database URL]

Runs in one process through Django's test client against a real database
(PostgreSQL when --database or DATABASE_URL names one, else a fresh SQLite
file), so both variants pay the same request, logging and 500-page costs and
differ only by what ops does. Rounds alternate between the variants and the
medians are compared. Writes bench/results/error_storm.json.
"""

import argparse
import datetime
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "error_storm.json"
TARGET = 1.5


def main():
    options = parse_arguments()
    database_url = options.database or os.environ.get("DATABASE_URL") or _sqlite_url()
    django_setup(database_url)

    from django.core.management import call_command
    from django.test import Client, override_settings

    from ops import errors
    from ops.models import ErrorGroup, ErrorSample

    call_command("migrate", verbosity=0, interactive=False)
    ErrorGroup.objects.all().delete()
    client = Client(raise_request_exception=False)

    timings = {"recording_on": [], "recording_off": []}
    per_round = options.requests // options.rounds
    with override_settings(ROOT_URLCONF="bench.error_urls"):
        fail(client, 20)  # warm the caches and the group's first rows
        errors.flush()
        ErrorGroup.objects.all().delete()
        errors.pending.forget()
        for _ in range(options.rounds):
            for variant, recording in (
                ("recording_on", True),
                ("recording_off", False),
            ):
                with override_settings(OPS_RECORD_ERRORS=recording):
                    timings[variant].append(fail(client, per_round) / per_round)

    errors.flush()  # the repeats still counted in memory
    group = ErrorGroup.objects.get()
    result = summarise(timings, group, ErrorSample.objects.count(), database_url)
    result["requests_per_variant"] = per_round * options.rounds
    write(result)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database", help="a DATABASE_URL; default a fresh SQLite")
    return parser.parse_args()


def _sqlite_url():
    return f"sqlite:///{tempfile.mkdtemp(prefix='storm-')}/db.sqlite3"


def django_setup(database_url):
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="tracksystem.settings",
        SECRET_KEY="bench",  # noqa: S106 a throwaway key for a throwaway database
        HTTPS="false",
        ALLOWED_HOSTS="testserver",
    )
    import django

    django.setup()
    # Both variants still format every log line; only the terminal is spared.
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 lives as long as the run


def fail(client, count):
    started = time.perf_counter()
    for _ in range(count):
        response = client.get("/storm/")
        if response.status_code != 500:
            raise SystemExit(f"expected a 500, got {response.status_code}")
    return time.perf_counter() - started


def summarise(timings, group, samples, database_url):
    on = statistics.median(timings["recording_on"])
    off = statistics.median(timings["recording_off"])
    ratio = on / off
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python bench/error_storm.py " + " ".join(sys.argv[1:]),
        "database": database_url.split(":", 1)[0],
        "ms_per_failing_request": {
            "recording_on": on * 1000,
            "recording_off": off * 1000,
        },
        "rounds_ms": {k: [round(v * 1000, 3) for v in vs] for k, vs in timings.items()},
        "on_over_off": round(ratio, 3),
        "target": TARGET,
        "passed": ratio <= TARGET,
        "group_count": group.count,
        "groups": 1,
        "sample_rows": samples,
    }


def write(result):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    on = result["ms_per_failing_request"]
    print(
        f"error storm on {result['database']}: {result['group_count']} failures in "
        f"one group, {result['sample_rows']} sample rows; "
        f"{on['recording_on']:.3f} ms recording vs {on['recording_off']:.3f} ms off "
        f"= {result['on_over_off']}x (target <= {TARGET})"
    )


if __name__ == "__main__":
    main()
