import datetime
from collections import defaultdict
from decimal import Decimal

DAYS_IN_WEEK = 7
# A week shown links to the weeks on either side, which the calendar's first
# and last weeks do not have.
_MARGIN = datetime.timedelta(days=2 * DAYS_IN_WEEK)
EARLIEST_DAY = datetime.date.min + _MARGIN
LATEST_DAY = datetime.date.max - _MARGIN


def parse_day(text):
    """The date written in `text`, or None when it is not a date a week can show."""
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_DAY <= day <= LATEST_DAY else None


def week_start(day):
    """The Monday of the week that holds `day`."""
    return day - datetime.timedelta(days=day.weekday())


class Week:
    """One person's week: the entries, the hours per day and the total."""

    def __init__(self, worklogs, start):
        self.start = start
        self.end = start + datetime.timedelta(days=DAYS_IN_WEEK - 1)
        self.entries = list(
            worklogs.between(self.start, self.end)
            .select_related("project", "phase")
            .order_by("date", "created_at", "id")
        )

        # A week holds a few dozen entries at most, all loaded above: their
        # sums need no second query.
        entries_by_date = defaultdict(list)
        for entry in self.entries:
            entries_by_date[entry.date].append(entry)
        self.days = [
            {
                "date": day,
                "hours": sum((e.hours for e in entries_by_date[day]), Decimal(0)),
                "entries": entries_by_date[day],
            }
            for day in (
                self.start + datetime.timedelta(days=n) for n in range(DAYS_IN_WEEK)
            )
        ]
        self.total = sum((day["hours"] for day in self.days), Decimal(0))

    @property
    def previous_start(self):
        return self.start - datetime.timedelta(days=DAYS_IN_WEEK)

    @property
    def next_start(self):
        return self.start + datetime.timedelta(days=DAYS_IN_WEEK)
