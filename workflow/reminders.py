"""The reminder ladder: who is chased about late work, when, and who is copied.

Pure rules (no I/O): the scheduler's tick gives them plain values and a
calendar and gets decisions back. The ladder, for each overdue item:

1. the person who owes the work is reminded;
2. `reminder_tm_after_working_days` working days after the first reminder,
   again with their team manager copied;
3. `reminder_hos_after_working_days` working days after it, the Head of
   Service is told too.

The ladder climbs at most one rung per reminder, so nobody is escalated about
before they were reminded themselves (after downtime, say). Reminders go only
in working hours on working days, at most one bundled reminder per person per
day, and then not again for `reminder_repeat_working_days`. A snooze holds an
item for `reminder_snooze_working_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum

from workflow.calendar import WorkingCalendar
from workflow.rules import ProgrammeRules


class Chase(StrEnum):
    """What is late, each with the person who owes it."""

    AUDIT = "audit"  # the auditor has not submitted (or resubmitted) the audit
    MODERATION = "moderation"  # the moderator has not moderated
    URGENT_ISSUES = "urgent_issues"  # the team manager has not confirmed them, after Inadequate
    UOPP_BOOKING = "uopp_booking"  # the organiser has not booked the UoPP meeting
    UOPP_RECORD = "uopp_record"  # the chair has not recorded that it was held
    ACTION = "action"  # a SMART action's owner has not reported it done
    COMPLETENESS = "completeness"  # the Audit Team has not checked a submitted audit
    PART_B = "part_b"  # the practitioner (with their team manager) has not recorded part B
    # The moderation group has not recorded its moderation: its meeting's organiser is chased.
    GROUP_MODERATION = "group_moderation"
    PANEL = "panel"  # the panel's chair has not recorded the panel's decision

    @property
    def label(self) -> str:
        return CHASE_LABELS[self]


CHASE_LABELS: dict[Chase, str] = {
    Chase.AUDIT: "submit the audit",
    Chase.MODERATION: "moderate the audit",
    Chase.URGENT_ISSUES: "confirm the urgent issues are addressed",
    Chase.UOPP_BOOKING: "book the UoPP meeting",
    Chase.UOPP_RECORD: "record whether the UoPP meeting took place",
    Chase.ACTION: "report progress on an action",
    Chase.COMPLETENESS: "check the audit is complete (for the Audit Team)",
    Chase.PART_B: "record part B of the audit with your team manager",
    Chase.GROUP_MODERATION: "see the moderation group records its moderation (you organise "
    "its meeting)",
    Chase.PANEL: "record the moderation panel's decision (as its chair)",
}


class Rung(IntEnum):
    NONE = 0  # not reminded yet
    OWNER = 1
    TEAM_MANAGER = 2  # the owner again, their team manager copied
    HEAD_OF_SERVICE = 3  # the Head of Service told as well


@dataclass(frozen=True)
class ChaseState:
    """What is remembered about chasing one item."""

    due_at: datetime
    rung: int = Rung.NONE
    first_reminded_on: date | None = None
    next_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What to do about one item in this reminder."""

    rung: Rung
    escalated: bool  # the rung went up: copy the people of the new rung
    late: bool  # it should have gone on an earlier working day, when auditbot was not running
    first_reminded_on: date
    next_at: datetime


def may_remind(calendar: WorkingCalendar, now: datetime) -> bool:
    """Reminders go only in working hours on working days."""
    return calendar.is_working_time(now)


def first_chance(calendar: WorkingCalendar, moment: datetime) -> datetime:
    """The first instant at or after `moment` when a reminder may be sent."""
    if calendar.is_working_time(moment):
        return moment
    day = calendar.local_date(moment)
    if calendar.is_working_day(day) and moment < calendar.start_of_working_day(day):
        return calendar.start_of_working_day(day)
    return calendar.start_of_working_day(calendar.next_working_day(day))


def next_rung(
    rules: ProgrammeRules, calendar: WorkingCalendar, state: ChaseState, today: date
) -> Rung:
    """The rung this reminder is on: one above the last at most, as far as the days allow."""
    if state.first_reminded_on is None:
        return Rung.OWNER
    elapsed = calendar.working_days_between(state.first_reminded_on, today)
    earned = Rung.OWNER
    if elapsed >= rules.reminder_tm_after_working_days:
        earned = Rung.TEAM_MANAGER
    if elapsed >= rules.reminder_hos_after_working_days:
        earned = Rung.HEAD_OF_SERVICE
    return Rung(max(state.rung, min(state.rung + 1, earned), Rung.OWNER))


def next_reminder_at(rules: ProgrammeRules, calendar: WorkingCalendar, today: date) -> datetime:
    """When an item reminded today may be reminded again: the start of a later working day."""
    repeat = max(1, rules.reminder_repeat_working_days)
    return calendar.start_of_working_day(calendar.add_working_days(today, repeat))


def snoozed_until(rules: ProgrammeRules, calendar: WorkingCalendar, now: datetime) -> datetime:
    """The end of a snooze pressed at `now`: the next working day (or days) pass without a
    reminder, and it may come back at the start of the one after."""
    today = calendar.local_date(now)
    days = max(1, rules.reminder_snooze_working_days) + 1
    return calendar.start_of_working_day(calendar.add_working_days(today, days))


def is_late(
    calendar: WorkingCalendar,
    state: ChaseState,
    now: datetime,
    last_run_at: datetime | None,
) -> bool:
    """True when this reminder should have gone on an earlier working day and the scheduler
    did not run then (the service was down), so the message says why it is late. Before the
    first run ever (a new installation) nothing was missed: nothing is late."""
    expected = first_chance(calendar, max(state.due_at, state.next_at or state.due_at))
    if last_run_at is None or calendar.local_date(expected) >= calendar.local_date(now):
        return False
    return last_run_at < expected


def decide(
    rules: ProgrammeRules,
    calendar: WorkingCalendar,
    state: ChaseState,
    now: datetime,
    last_run_at: datetime | None,
) -> Decision:
    """Everything about reminding one item now (the caller has checked it is due)."""
    today = calendar.local_date(now)
    rung = next_rung(rules, calendar, state, today)
    return Decision(
        rung=rung,
        escalated=rung > max(state.rung, Rung.OWNER),
        late=is_late(calendar, state, now, last_run_at),
        first_reminded_on=state.first_reminded_on or today,
        next_at=next_reminder_at(rules, calendar, today),
    )


def is_due(state: ChaseState, now: datetime) -> bool:
    """The item is past its deadline and not held (by a snooze or the repeat interval)."""
    return now > state.due_at and (state.next_at is None or state.next_at <= now)


def uopp_record_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, meeting_ends_at: datetime
) -> datetime:
    """When the chair must have recorded whether the meeting took place: the end of the
    `uopp_record_working_days`-th working day after it."""
    day = calendar.local_date(meeting_ends_at)
    return calendar.end_of_working_day(
        calendar.add_working_days(day, rules.uopp_record_working_days)
    )


def action_due(calendar: WorkingCalendar, due_on: date) -> datetime:
    """An action due on a date is late once that working day has ended."""
    return calendar.end_of_working_day(due_on)


def working_days_late(calendar: WorkingCalendar, due_at: datetime, today: date) -> int:
    """How many working days have begun since the deadline (for the card's wording)."""
    return max(0, calendar.working_days_between(calendar.local_date(due_at), today))


def valid_new_date(calendar: WorkingCalendar, new_date: date, today: date) -> str | None:
    """Why a "not yet" date cannot be the new due date, or None: it must be a future
    working day, within a year."""
    if new_date <= today:
        return f"Give a date after today ({today:%A %-d %B %Y}); nothing was changed."
    if not calendar.is_working_day(new_date):
        return f"{new_date:%A %-d %B %Y} is not a working day; pick a working day."
    if new_date > today + timedelta(days=366):
        return "The new date must be within a year."
    return None
