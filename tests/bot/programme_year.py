"""Running a council's programme end to end on the demo council, as its people would: the
timetable ticking through a year on a fixed clock, a cycle proposed from its card, audits
done and accepted over HTTP, moderation, follow-up and the reminders, each as the
programme says. The five year tests (`test_programme_years.py`) drive it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.demo import _load_programme
from dialogs.group_meeting import book_group_meetings
from dialogs.local_calendar import LocalCalendar
from dialogs.programmes import programme_of_version
from dialogs.timetable import ask_for_due_cycles
from dialogs.uopp_booking import book_due_meetings
from scheduler.reminders import ReminderChaser
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, Cycle, OutboxMessage, Staff
from storage.repositories import programmes as versions
from tests.bot.test_card_actions import AUDIT_TEAM, person
from tests.bot.test_wizard_http import allocation_card, audit_now, click, staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to, texts
from tests.dialogs.test_wizard_cards import errors_in, fill_step, step_of
from tests.harness import RunningBot
from workflow.calendar import FixedClock, WorkingCalendar
from workflow.grades import Grade
from workflow.programme import Programme
from workflow.rules import ProgrammeRules
from workflow.timetable import cycles_in_year
from workflow.wizard_rules import SAFEGUARDING

LONDON = ZoneInfo("Europe/London")
RULES = ProgrammeRules()
CALENDAR = WorkingCalendar.from_rules(RULES)


def london(day: date, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def mondays(year: int) -> Iterator[date]:
    """Every Monday from the December before `year` to the end of November of it."""
    day = date(year - 1, 12, 1)
    day += timedelta(days=(7 - day.weekday()) % 7)
    while day < date(year, 12, 1):
        yield day
        day += timedelta(days=7)


@dataclass
class Year:
    """One programme on the demo council, with the bot's clock in the test's hands."""

    db: Database
    bot: RunningBot
    clock: FixedClock
    programme_id: str
    # The programme as stored for the demo (its services renamed to the demo's).
    stored: Programme = field(init=False)
    # (cycle name, service, first day of month) -> the Monday its proposers were first asked.
    asked: dict[tuple[str, str, date], date] = field(default_factory=dict)

    async def load(self) -> None:
        async with self.db.sessions.begin() as session:
            await load_demo(session)
            await _load_programme(session, self.programme_id)
            [version] = await versions.programmes_in_force(session)
            self.stored = await programme_of_version(session, version.id)

    async def person(self, upn: str) -> Staff:
        return await person(self.db, upn)

    # --- the timetable -----------------------------------------------------------------

    async def run_timetable(self, year: int, proposers: list[Staff]) -> None:
        """Tick the timetable every Monday morning of the year; note when each cycle of
        `year` was first asked for, from the messages its proposers got."""
        seen: set[str] = set()
        for monday in mondays(year):
            self.clock.set(london(monday))
            await ask_for_due_cycles(self.db.sessions, self.clock, RULES)
            for proposer in proposers:
                for message in await messages_to(self.db, proposer, "timetable"):
                    key = message.idempotency_key
                    if key in seen:
                        continue
                    seen.add(key)
                    self.asked.setdefault(_entry_of(key), monday)

    def expected(self, year: int, services: set[str]) -> set[tuple[str, str, date]]:
        """What the timetable lays out for `year`, on the services the demo runs."""
        return {
            (entry.name, entry.service, entry.month)
            for entry in cycles_in_year(self.stored, year)
            if entry.service in services
        }

    def ahead(self) -> timedelta:
        """How long before its month a cycle is asked for (as dialogs/timetable.py)."""
        weeks = self.stored.kloes.lead_weeks + self.stored.selection.weeks_after_kloe
        return max(timedelta(weeks=2), timedelta(weeks=weeks))

    def assert_each_asked_once_in_time(self, year: int, services: set[str]) -> None:
        expected = self.expected(year, services)
        assert set(expected) <= set(self.asked), sorted(set(expected) - set(self.asked))
        for (name, _service, month), monday in self.asked.items():
            if month.year != year:
                continue
            # Asked on the first Monday of the asking window, before the month begins.
            assert month - self.ahead() - timedelta(days=7) < monday < month, (name, month)

    # --- a cycle ------------------------------------------------------------------------

    def asked_on(self, service: str, month: date, name: str | None = None) -> date:
        """When the cycle (the month's first, unless named) was first asked for."""
        return min(
            monday
            for (named, code, when), monday in self.asked.items()
            if (code, when) == (service, month) and name in (None, named)
        )

    async def timetable_card(
        self, proposer: Staff, service: str, month: date, name: str | None = None
    ) -> dict[str, Any]:
        for message in await messages_to(self.db, proposer, "timetable"):
            named, code, when = _entry_of(message.idempotency_key)
            if (code, when) == (service, month) and name in (None, named):
                return message.payload["card"]
        raise AssertionError(f"{proposer.display_name} was not asked for {service} {month}")

    async def cycle_of(self, title: str) -> Cycle:
        async with self.db.sessions() as session:
            for service in await repo.list_services(session):
                for cycle in await repo.list_cycles(session, service.id):
                    if cycle.title == title:
                        return cycle
        raise AssertionError(title)

    async def audits(self, cycle: Cycle) -> list[Audit]:
        async with self.db.sessions() as session:
            return await repo.list_audits_in_cycle(session, cycle.id)

    async def told(self, who: Staff, kind: str | None = None) -> list[OutboxMessage]:
        return await messages_to(self.db, who, kind)

    async def allocation_told(self, audit: Audit) -> set[str]:
        """The parts told of the audit's allocation, each once, the day the cycle opened."""
        parts = {
            "auditor": audit.auditor_id,
            "moderator": audit.moderator_id,
            "practitioner": audit.practitioner_id,
            "team_manager": audit.team_manager_id,
        }
        told = set()
        for part, who in parts.items():
            if who is None:
                continue
            key = f"allocated:audit:{audit.id}:{part}:"
            found = [
                m for m in await messages_to(self.db, await staff(self.db, who), "allocation")
                if m.idempotency_key.startswith(key)
            ]  # fmt: skip
            assert len(found) <= 1, (part, audit.id)
            if found:
                told.add(part)
        return told

    async def do_audit(self, audit: Audit, grade: Grade, *, safeguarding: bool = False) -> dict:
        """The auditor walks the wizard from their allocation card and submits."""
        auditor = await staff(self.db, audit.auditor_id)
        card = await click(self.bot, auditor, await allocation_card(self.db, audit), "Start audit")
        today = CALENDAR.local_date(self.clock.now())
        while step_of(card) != "_summary":
            typed = fill_step(card, grade, today=today, outcomes_met=not grade.is_below_good)
            if SAFEGUARDING in typed:
                typed[SAFEGUARDING] = "true" if safeguarding else "false"
            card = await click(self.bot, auditor, card, "Save and continue", **typed)
            assert not errors_in(card), errors_in(card)
        return await click(self.bot, auditor, card, "Submit the audit")

    async def accept(self, audit: Audit, title: str) -> dict:
        """The Audit Team accepts the audit as complete from its completeness card."""
        audit_team = await person(self.db, AUDIT_TEAM)
        ref = await self.ref(audit)
        checks = [
            m.payload["card"]
            for m in await messages_to(self.db, audit_team, "completeness")
            if f"case {ref}" in texts(m.payload["card"])
        ]
        return await click(self.bot, audit_team, checks[-1], title)

    async def ref(self, audit: Audit) -> str:
        async with self.db.sessions() as session:
            return (await repo.get_case(session, audit.case_id)).case_ref

    async def now(self, audit: Audit) -> Audit:
        return await audit_now(self.db, audit.id)

    async def book_meetings(self) -> int:
        calendar = LocalCalendar(self.db.sessions, RULES)
        booked = await book_due_meetings(self.db.sessions, calendar, self.clock, RULES)
        return booked + await book_group_meetings(self.db.sessions, calendar, self.clock, RULES)

    async def remind(self, at: datetime) -> int:
        self.clock.set(at)
        return await ReminderChaser(self.db.sessions, RULES, self.clock).tick()


def _entry_of(key: str) -> tuple[str, str, date]:
    """The (cycle name, service, month) of a timetable message key
    ("timetable:<programme>:<kind>:<name>:<service>:<YYYY-MM>:to:<id>")."""
    parts = key.split(":")
    year, month = parts[-3].split("-")
    return ":".join(parts[3:-4]), parts[-4], date(int(year), int(month), 1)


def working_days_after(moment: datetime, days: int) -> date:
    return CALENDAR.add_working_days(CALENDAR.local_date(moment), days)


async def moderate_agreeing(year: Year, who: Staff, audit: Audit, **extra: str) -> dict:
    """`who` moderates the audit from the form they were sent, agreeing with every grade."""
    from tests.bot.test_card_actions import press
    from tests.dialogs.test_moderation_setup import execute_data
    from tests.dialogs.test_wizard_cards import inputs_of
    from workflow.moderation import AGREE

    forms = [
        m.payload["card"]
        for m in await messages_to(year.db, who, "moderation")
        if m.idempotency_key.startswith(f"moderate:audit:{audit.id}:")
    ]
    form = forms[-1]
    answers = {key: AGREE for key in inputs_of(form) if key.startswith("agree__")}
    save = "moderation.save"
    return await press(year.bot, who, save, **execute_data(form, save), **answers, **extra)
