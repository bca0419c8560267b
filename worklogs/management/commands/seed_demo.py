"""`seed_demo`: fills an empty database with a demo engineering and design firm.

People with their roles, projects with ordered phases and budgets, and weeks of
work logs that follow every rule a real entry follows. A fixed random seed
makes the same demo on every run; `--logs N` makes exactly N entries instead,
for load tests.
"""

import datetime
import itertools
import math
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from projects.models import Phase, Project
from tracksystem.roles import ENGINEER, MANAGER
from worklogs.models import MAX_HOURS_PER_DAY, PersonHours, WorkLog

ADMINISTRATOR = "administrator"
RANDOM_SEED = 55
DEFAULT_WEEKS = 6
BATCH_SIZE = 5000

# A working day: 6 to 9 hours, in half hours, over one to three entries.
HALF_HOURS_PER_DAY = (12, 18)
ENTRIES_PER_DAY = (1, 3)
AVERAGE_ENTRIES_PER_DAY = sum(ENTRIES_PER_DAY) / 2
HOURS = [Decimal(half_hours) / 2 for half_hours in range(49)]  # by half hours
CHANCE_OF_EARLIER_PHASE = 0.2

# --logs spreads its entries over about two years of weekdays and hires
# engineers until they fit, so every day stays a believable one.
LOAD_HISTORY_WEEKDAYS = 520


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str


PEOPLE = (
    Person("ahmed", "Ahmed", "Hassan", ENGINEER),
    Person("sarah", "Sarah", "Mitchell", MANAGER),
    Person("admin", "Nadia", "Rahman", ADMINISTRATOR),
    Person("omar", "Omar", "Farouk", ENGINEER),
    Person("lina", "Lina", "Haddad", ENGINEER),
    Person("daniel", "Daniel", "Okafor", ENGINEER),
    Person("mei", "Mei", "Tanaka", ENGINEER),
)

EXTRA_FIRST_NAMES = (
    "Amira", "Bilal", "Clara", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines",
    "Jonas", "Karim", "Leila", "Marco", "Noor", "Priya", "Rami", "Sofia", "Tariq",
    "Yara", "Zane",
)  # fmt: skip
EXTRA_LAST_NAMES = (
    "Aziz", "Becker", "Costa", "Dubois", "Evans", "Fernandes", "Ghani", "Ito",
    "Jaber", "Kovac", "Lund", "Mansour", "Nakamura", "Osei", "Petrov", "Qureshi",
    "Rossi", "Saleh", "Tan", "Vega",
)  # fmt: skip


@dataclass(frozen=True)
class ProjectPlan:
    code: str
    name: str
    budget: int | None
    phases: tuple[tuple[str, int | None], ...]
    weight: int  # its share of the firm's hours while it takes hours
    current_phase: int = 0  # the position, from 0, of the phase it is in today
    status: str = Project.Status.ACTIVE
    stopped_days_ago: int | None = None  # went on hold or was closed then
    description: str = ""


PROJECTS = (
    ProjectPlan(
        "VDP",
        "Villa Design Phase",
        360,
        (
            ("Concept Design", 90),
            ("Structural Design", 110),
            ("MEP Coordination", 90),
            ("Construction Drawings", 70),
        ),
        weight=4,
        current_phase=2,
    ),
    ProjectPlan(
        "VEX",
        "Villa Extension",
        None,
        (),
        weight=1,
        description="Project #55: no phases yet.",
    ),
    ProjectPlan(
        "HHT",
        "Harbour Hotel Tower",
        1200,
        (
            ("Feasibility Study", 160),
            ("Schematic Design", 300),
            ("Design Development", 440),
            ("Tender Documents", 300),
        ),
        weight=4,
        current_phase=1,
    ),
    ProjectPlan(
        "NPS",
        "Al Noor Primary School",
        140,
        (
            ("Site Survey", 30),
            ("Architectural Design", 60),
            ("Structural Design", 50),
        ),
        weight=3,
        current_phase=2,
    ),
    ProjectPlan(
        "RFB",
        "Riverside Footbridge",
        None,
        (("Load Analysis", None), ("Steel Detailing", None), ("Permit Drawings", None)),
        weight=2,
        current_phase=1,
    ),
    ProjectPlan(
        "CCF",
        "Community Clinic Fit-out",
        240,
        (("Space Planning", 60), ("Interior Design", 100), ("Services Layout", 80)),
        weight=2,
        current_phase=1,
    ),
    ProjectPlan(
        "LWH",
        "Logistics Warehouse",
        70,
        (("Structural Steel Design", 50), ("Fire Safety Review", 20)),
        weight=2,
        current_phase=1,
    ),
    ProjectPlan(
        "DRP",
        "Desert Research Pavilion",
        300,
        (
            ("Concept Design", 80),
            ("Structural Design", 120),
            ("Facade Engineering", 100),
        ),
        weight=2,
        current_phase=1,
    ),
    ProjectPlan(
        "OPM",
        "Office Park Masterplan",
        160,
        (("Masterplan", 110), ("Traffic Study", 50)),
        weight=2,
        status=Project.Status.ON_HOLD,
        stopped_days_ago=10,
        description="On hold until the client's financing is settled.",
    ),
    ProjectPlan(
        "SCR",
        "Seafront Cafe Renovation",
        80,
        (("Detailed Design", 55), ("Handover", 25)),
        weight=6,
        current_phase=1,
        status=Project.Status.DONE,
        stopped_days_ago=28,
    ),
)

DESCRIPTIONS = (
    "Completed foundation plans",
    "Revised the column layout after the design review",
    "Coordinated duct routes with the MEP consultant",
    "Client meeting and minutes",
    "Updated drawings to the checker's comments",
    "Checked slab load calculations",
    "Prepared the tender package",
    "Site visit and photo survey",
    "Detailed the main staircase sections",
    "Reviewed the contractor's shop drawings",
    "Modelled the roof trusses for analysis",
    "Drafted the finishes specification",
    "Answered contractor requests for information",
    "Ran clash detection on the coordinated model",
    "Took off quantities for the cost estimate",
    "Updated the drawing register",
)


@dataclass(frozen=True)
class History:
    """The days the demo's hours fall in; the oldest is a guess with --logs."""

    first_day: datetime.date
    last_day: datetime.date


@dataclass
class DemoProject:
    plan: ProjectPlan
    project: Project
    phases: list[Phase]
    stopped_on: datetime.date | None

    def takes_hours_on(self, day):
        return self.stopped_on is None or day < self.stopped_on

    def phase_id_on(self, rng, day, history):
        """The phase it was in that day, or now and then the one before."""
        if not self.phases:
            return None

        span = (self.stopped_on or history.last_day) - history.first_day
        progress = max((day - history.first_day) / span, 0)
        last = self.plan.current_phase
        position = min(int(progress * (last + 1)), last)
        if position and rng.random() < CHANCE_OF_EARLIER_PHASE:
            position -= 1

        return self.phases[position].pk


class RuleCheck:
    """The rules of a real entry, checked in memory before any entry is saved.

    The same rules as the model's clean() and the services' day total, which
    would cost several queries per entry: minutes for a load test's 200,000.
    """

    def __init__(self, projects, today):
        self.today = today
        self.phases = {
            demo.project.pk: {p.pk for p in demo.phases} for demo in projects
        }
        self.closed_on = {
            demo.project.pk: demo.stopped_on
            for demo in projects
            if demo.plan.status == Project.Status.DONE
        }
        self.day_totals = defaultdict(Decimal)

    def __call__(self, entry):
        self.day_totals[entry.user_id, entry.date] += entry.hours
        phases = self.phases[entry.project_id]
        closed_on = self.closed_on.get(entry.project_id)

        broken = [
            rule
            for rule, holds in (
                ("hours from 0 to 24", 0 < entry.hours <= MAX_HOURS_PER_DAY),
                ("no date in the future", entry.date <= self.today),
                (
                    "at most 24 hours a day",
                    self.day_totals[entry.user_id, entry.date] <= MAX_HOURS_PER_DAY,
                ),
                ("a phase of its project", entry.phase_id in phases or not phases),
                ("no phase without phases", entry.phase_id is None or phases),
                ("logged before closing", not closed_on or entry.date < closed_on),
            )
            if not holds
        ]
        if broken:
            raise CommandError(f"A demo entry breaks {', '.join(broken)}: {entry}")

        return entry


class Command(BaseCommand):
    help = (
        "Fills an empty database with a demo firm: people, projects, phases and "
        "weeks of work logs. Prints the logins at the end."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="The password of every demo user; generated when left out.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="On a database that already holds data, change nothing and succeed.",
        )
        parser.add_argument(
            "--logs",
            type=int,
            metavar="N",
            help=(
                f"Make exactly N work logs instead of {DEFAULT_WEEKS} weeks of them, "
                "for load tests."
            ),
        )

    def handle(self, *args, **options):
        password = choose_password(options["password"])
        logs = options["logs"]
        if logs is not None and logs < 0:
            raise CommandError("--logs needs a number of entries, 0 or more.")

        with transaction.atomic():
            found = data_held()
            if found and options["if_empty"]:
                self.stdout.write(
                    f"The database already holds data ({found}); not seeding."
                )
                return
            if found:
                raise CommandError(
                    f"The database already holds data ({found}). seed_demo fills "
                    "only an empty database; nothing was changed."
                )
            people, projects, saved = seed(password, logs, self.stdout)

        self.write_summary(people, projects, saved)
        self.write_logins(people, password)

    def write_summary(self, people, projects, saved):
        phases = sum(len(demo.phases) for demo in projects)
        self.stdout.write(
            f"Seeded {len(people)} people, {len(projects)} projects with "
            f"{phases} phases, and {saved} work logs."
        )

    def write_logins(self, people, password):
        named, extra = people[: len(PEOPLE)], people[len(PEOPLE) :]
        self.stdout.write(self.style.SUCCESS(f"Demo logins, password: {password}"))
        for person in named:
            self.stdout.write(f"  {person.username:<8} {person.role}")
        if extra:
            self.stdout.write(
                f"  and {len(extra)} more engineers, "
                f"from {extra[0].username} to {extra[-1].username}"
            )


def choose_password(password):
    if password is None:
        return secrets.token_urlsafe(12)
    if not password:
        raise CommandError("--password cannot be empty.")
    return password


def data_held():
    """What the database already holds, as words; empty when it holds nothing."""
    held = {
        "users": get_user_model().objects.count(),
        "projects": Project.objects.count(),
        "work logs": WorkLog.objects.count(),
    }
    return ", ".join(f"{count} {name}" for name, count in held.items() if count)


def seed(password, logs, out):
    """The whole demo; the caller holds it in one transaction."""
    rng = random.Random(RANDOM_SEED)
    today = timezone.localdate()
    engineers_wanted = named_engineers() if logs is None else engineers_for(logs)

    people = [*PEOPLE, *extra_engineers(engineers_wanted - named_engineers())]
    users = create_users(people, password)
    engineers = [
        user
        for person, user in zip(people, users, strict=True)
        if person.role == ENGINEER
    ]
    projects = [create_project(plan, today) for plan in PROJECTS]

    history = history_for(logs, len(engineers), today)
    check = RuleCheck(projects, today)
    entries = map(check, plan_worklogs(rng, engineers, projects, history))
    if logs is None:
        saved = save_default_weeks(entries, history, out)
    else:
        saved = save_in_batches(itertools.islice(entries, logs), logs, out)

    # bulk_create skips the services, which keep the stored totals.
    Project.objects.recount_hours()
    Phase.objects.recount_hours()
    PersonHours.objects.recount()
    finish_projects(projects)
    return people, projects, saved


def named_engineers():
    return sum(person.role == ENGINEER for person in PEOPLE)


def engineers_for(logs):
    per_engineer = LOAD_HISTORY_WEEKDAYS * AVERAGE_ENTRIES_PER_DAY
    return max(named_engineers(), math.ceil(logs / per_engineer))


def extra_engineers(count):
    """Plausible, unique engineers beyond the named ones, for --logs."""
    firsts, lasts = len(EXTRA_FIRST_NAMES), len(EXTRA_LAST_NAMES)
    people = []
    for index in range(count):
        first = EXTRA_FIRST_NAMES[index % firsts]
        # The last name shifts once per pass over the first names, so all
        # 400 pairs come up before any name repeats with a number.
        last = EXTRA_LAST_NAMES[(index + index // firsts) % lasts]
        cycle = index // (firsts * lasts)
        username = f"{first}.{last}".lower() + (str(cycle + 1) if cycle else "")
        people.append(Person(username, first, last, ENGINEER))
    return people


def create_users(people, password):
    # One hash for all: they share the password anyway, and hashing it once
    # per engineer would take minutes for a load test's hundreds.
    encoded = make_password(password)
    User = get_user_model()
    users = User.objects.bulk_create(
        User(
            username=person.username,
            first_name=person.first_name,
            last_name=person.last_name,
            email=f"{person.username}@example.com",
            password=encoded,
            is_staff=person.role == ADMINISTRATOR,
            is_superuser=person.role == ADMINISTRATOR,
        )
        for person in people
    )

    groups = role_groups()
    Membership = User.groups.through
    Membership.objects.bulk_create(
        Membership(user_id=user.pk, group_id=groups[person.role].pk)
        for person, user in zip(people, users, strict=True)
        if person.role in groups
    )
    return users


def role_groups():
    groups = {
        group.name: group
        for group in Group.objects.filter(name__in=[ENGINEER, MANAGER])
    }
    if len(groups) != 2:
        raise CommandError("The engineer and manager groups are missing; run migrate.")
    return groups


def create_project(plan, today):
    # Every project starts out active, as it was when its hours were logged;
    # finish_projects() puts the ones that stopped on hold or closes them.
    project = Project.objects.create(
        code=plan.code,
        name=plan.name,
        budget_hours=plan.budget,
        description=plan.description,
    )
    phases = Phase.objects.bulk_create(
        Phase(project=project, name=name, position=position, budget_hours=budget)
        for position, (name, budget) in enumerate(plan.phases, start=1)
    )

    stopped_on = None
    if plan.stopped_days_ago:
        stopped_on = today - datetime.timedelta(days=plan.stopped_days_ago)
    return DemoProject(plan, project, phases, stopped_on)


def history_for(logs, engineers, today):
    """Yesterday back to the first day: today is left for the demo's own logging."""
    last_day = today - datetime.timedelta(days=1)
    days = DEFAULT_WEEKS * 7
    if logs is not None:
        weekdays = math.ceil(logs / (engineers * AVERAGE_ENTRIES_PER_DAY))
        days = max(days, math.ceil(weekdays * 7 / 5))
    return History(last_day - datetime.timedelta(days=days - 1), last_day)


def plan_worklogs(rng, engineers, projects, history):
    """Entries day by day from the last day back, without end; the caller stops."""
    for day in weekdays_back_from(history.last_day):
        open_projects = [demo for demo in projects if demo.takes_hours_on(day)]
        weights = list(itertools.accumulate(demo.plan.weight for demo in open_projects))
        for engineer in engineers:
            for half_hours in split_day(rng):
                demo = rng.choices(open_projects, cum_weights=weights)[0]
                yield WorkLog(
                    user_id=engineer.pk,
                    project_id=demo.project.pk,
                    phase_id=demo.phase_id_on(rng, day, history),
                    date=day,
                    hours=HOURS[half_hours],
                    description=rng.choice(DESCRIPTIONS),
                )


def weekdays_back_from(day):
    while True:
        if day.weekday() < 5:
            yield day
        day -= datetime.timedelta(days=1)


def split_day(rng):
    """One person's day in half hours, cut into one to three entries."""
    total = rng.randint(*HALF_HOURS_PER_DAY)
    cuts = rng.sample(range(1, total), rng.randint(*ENTRIES_PER_DAY) - 1)
    bounds = [0, *sorted(cuts), total]
    return [end - start for start, end in itertools.pairwise(bounds)]


def save_default_weeks(entries, history, out):
    weeks = list(
        itertools.takewhile(lambda entry: entry.date >= history.first_day, entries)
    )
    return save_in_batches(weeks, len(weeks), out)


def save_in_batches(entries, total, out):
    saved = 0
    for batch in batched(entries, BATCH_SIZE):
        WorkLog.objects.bulk_create(batch)
        saved += len(batch)
        out.write(f"logs: {saved}/{total}")
    return saved


def batched(items, size):
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def finish_projects(projects):
    for demo in projects:
        if demo.project.status != demo.plan.status:
            demo.project.status = demo.plan.status
            demo.project.save(update_fields=["status", "updated_at"])
