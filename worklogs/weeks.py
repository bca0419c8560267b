import datetime

from django.db.models import Sum

DAYS_IN_WEEK = 7


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

        hours = (
            worklogs.between(self.start, self.end)
            .values("date")
            .annotate(total=Sum("hours"))
        )
        by_date = {row["date"]: row["total"] for row in hours}
        self.days = [
            {
                "date": day,
                "hours": by_date.get(day, 0),
                "entries": [entry for entry in self.entries if entry.date == day],
            }
            for day in (
                self.start + datetime.timedelta(days=n) for n in range(DAYS_IN_WEEK)
            )
        ]
        self.total = sum(by_date.values(), 0)

    @property
    def previous_start(self):
        return self.start - datetime.timedelta(days=DAYS_IN_WEEK)

    @property
    def next_start(self):
        return self.start + datetime.timedelta(days=DAYS_IN_WEEK)
