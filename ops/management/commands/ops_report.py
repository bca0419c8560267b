import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops import report


class Command(BaseCommand):
    help = "The daily look at errors, worker restarts and rate limits."

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            default="24h",
            help="24h, 7d, 30m, a date (2026-12-01) or an ISO time; default 24h",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object"
        )

    def handle(self, *args, since, as_json, **options):
        try:
            start = report.parse_since(since)
        except ValueError as error:
            raise CommandError(str(error)) from None

        data = report.build(start)
        if as_json:
            self.stdout.write(json.dumps(data, indent=2))
        else:
            self._print(data)

    def _print(self, data):
        write = self.stdout.write
        since = timezone.localtime(datetime.datetime.fromisoformat(data["since"]))
        write(f"Operations since {since:%Y-%m-%d %H:%M %Z}")

        over = data["restarts_today"] > data["restart_threshold"]
        flag = "  <- past the threshold: investigate" if over else ""
        write(
            f"\nWorker restarts today: {data['restarts_today']} "
            f"(threshold {data['restart_threshold']}){flag}"
        )
        for event in data["worker_exits"]:
            kind = "planned" if event["planned"] else "crash"
            write(
                f"  {event['at']}  pid {event['pid']}  {event['cause']} "
                f"{event['detail']}  ({kind})"
            )

        write(f"\nError groups: {len(data['error_groups'])}")
        for group in data["error_groups"]:
            regression = ", regression" if group["regression"] else ""
            write(
                f"  {group['count']:>6}x  {group['exception']} at {group['location']}"
                f"  ({group['status']}{regression}, last {group['last_seen']})"
            )

        write(f"\nRate-limited: {len(data['rate_limited'])}")
        for row in data["rate_limited"]:
            write(
                f"  {row['user']}  {row['scope']}  {row['count']} windows, "
                f"last {row['last_at']}"
            )
