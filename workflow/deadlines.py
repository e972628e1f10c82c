"""When things in the audit programme fall due.

Every function takes the programme's rules, a working calendar and the
moment or date the clock starts from, and returns a `Deadline`:

- `Deadline.day` is the local (Europe/London by default) working day the
  thing is due on;
- `Deadline.due_at` is the aware UTC instant that day's work ends
  (`working_day_end`, 17:00 by default), which is what a scheduler compares
  with `clock.now()`.

Counting "within N working days of X" starts from X's local date, which is
not counted: moderated on Friday, 1 working day is Monday. An event at a
weekend counts from the next working day (Saturday + 1 is Monday).

Periods in weeks or months (dip audit, second UoPP, re-audit, escalation)
land on the same weekday or day of the month; when that is not a working
day the deadline moves to the next working day, never earlier, so a bank
holiday never shortens the time the improvement plan has to work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from workflow.calendar import WorkingCalendar, add_months, to_utc
from workflow.grades import Grade
from workflow.rules import ProgrammeRules


@dataclass(frozen=True)
class Deadline:
    day: date
    due_at: datetime

    def is_past(self, now: datetime) -> bool:
        """True once `now` is after the end of the due day's work."""
        return to_utc(now) > self.due_at


@dataclass(frozen=True)
class BookingWindow:
    """The working days a meeting may be booked on: `first_day` to
    `last_day` inclusive; `opens_at` / `closes_at` are the UTC instants the
    first day's work starts and the last day's work ends."""

    first_day: date
    last_day: date
    opens_at: datetime
    closes_at: datetime

    def working_days(self, calendar: WorkingCalendar) -> list[date]:
        days = []
        day = self.first_day
        while day <= self.last_day:
            if calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def _deadline(calendar: WorkingCalendar, day: date) -> Deadline:
    return Deadline(day, calendar.end_of_working_day(day))


def _working_days_after(calendar: WorkingCalendar, moment: datetime, n: int) -> Deadline:
    start = calendar.local_date(moment)
    return _deadline(calendar, calendar.add_working_days(start, n))


def audit_due(
    rules: ProgrammeRules,
    calendar: WorkingCalendar,
    allocated_at: datetime,
    *,
    audit_month: date | None = None,
) -> Deadline:
    """When the auditor must submit: `audit_due_working_days` after allocation.

    With `audit_month`, never so late that the moderator has fewer than
    `moderation_working_days` before moderation is due (the month's last
    working day), and never before the first working day after allocation.
    """
    due = _working_days_after(calendar, allocated_at, rules.audit_due_working_days)
    if audit_month is None:
        return due
    moderation_day = calendar.last_working_day_of_month(audit_month.year, audit_month.month)
    latest = calendar.add_working_days(moderation_day, -rules.moderation_working_days)
    earliest = calendar.add_working_days(calendar.local_date(allocated_at), 1)
    return _deadline(calendar, max(earliest, min(due.day, latest)))


def completion_fix_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, returned_at: datetime
) -> Deadline:
    """When an audit returned as incomplete must be resubmitted."""
    return _working_days_after(calendar, returned_at, rules.completion_fix_working_days)


def completeness_check_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, submitted_at: datetime
) -> Deadline:
    """When the Audit Team must have checked a submitted audit is complete."""
    return _working_days_after(calendar, submitted_at, rules.completeness_check_working_days)


def moderation_due(
    rules: ProgrammeRules,
    calendar: WorkingCalendar,
    grade: Grade,
    *,
    audit_month: date,
    submitted_at: datetime | None = None,
) -> Deadline:
    """When the moderator must moderate.

    Ordinarily the last working day of the audit month (`audit_month` is any
    date in that month). When the auditor's grade is Inadequate the fast path
    applies instead: `inadequate_moderation_working_days` after submission,
    even when that runs into the next month; `submitted_at` is then required.
    """
    if grade is Grade.INADEQUATE:
        if submitted_at is None:
            raise ValueError("An Inadequate audit's moderation deadline needs submitted_at.")
        return _working_days_after(calendar, submitted_at, rules.inadequate_moderation_working_days)
    return _deadline(
        calendar, calendar.last_working_day_of_month(audit_month.year, audit_month.month)
    )


def urgent_issues_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, moderated_at: datetime
) -> Deadline:
    """When the Team Manager must have addressed the urgent issues after an
    Inadequate moderated outcome."""
    return _working_days_after(calendar, moderated_at, rules.urgent_issues_working_days)


def part_b_due(calendar: WorkingCalendar, graded_at: datetime, *, working_days: int) -> Deadline:
    """When part B is due: the programme's working days after the final grade (its next
    supervision, or fewer when immediate safeguarding actions were found)."""
    return _working_days_after(calendar, graded_at, working_days)


def _uopp_working_days(rules: ProgrammeRules, grade: Grade) -> int:
    if grade is Grade.INADEQUATE:
        return rules.uopp_inadequate_working_days
    return rules.uopp_working_days


def uopp_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, moderated_at: datetime, grade: Grade
) -> Deadline:
    """When the UoPP meeting must have taken place: `uopp_working_days` after
    moderation, or `uopp_inadequate_working_days` when the moderated grade
    (the decided grade after a dispute) is Inadequate."""
    return _working_days_after(calendar, moderated_at, _uopp_working_days(rules, grade))


def uopp_booking_window(
    rules: ProgrammeRules, calendar: WorkingCalendar, moderated_at: datetime, grade: Grade
) -> BookingWindow:
    """The days the UoPP meeting may be booked on: from the working day after
    moderation to the UoPP deadline, so people have notice to attend."""
    due = uopp_due(rules, calendar, moderated_at, grade)
    first = calendar.next_working_day(calendar.local_date(moderated_at))
    first = min(first, due.day)
    return BookingWindow(first, due.day, calendar.start_of_working_day(first), due.due_at)


def _weeks_after(calendar: WorkingCalendar, day: date, weeks: int) -> Deadline:
    return _deadline(calendar, calendar.on_or_after(day + timedelta(weeks=weeks)))


def _months_after(calendar: WorkingCalendar, day: date, months: int) -> Deadline:
    return _deadline(calendar, calendar.on_or_after(add_months(day, months)))


def dip_audit_due(rules: ProgrammeRules, calendar: WorkingCalendar, audit_date: date) -> Deadline:
    """When work graded RI or Inadequate is dip-audited: `dip_audit_weeks`
    after `audit_date` (the local date the audit was moderated), moved to the
    next working day if that is a bank holiday."""
    return _weeks_after(calendar, audit_date, rules.dip_audit_weeks)


def second_uopp_due(
    rules: ProgrammeRules, calendar: WorkingCalendar, first_uopp_date: date
) -> Deadline:
    """After Inadequate: when the coordinator and TM/practitioner hold the
    second UoPP, `second_uopp_weeks` after the first one."""
    return _weeks_after(calendar, first_uopp_date, rules.second_uopp_weeks)


def reaudit_due(rules: ProgrammeRules, calendar: WorkingCalendar, audit_date: date) -> Deadline:
    """When below-Good work is re-audited in the next cycle: the same day
    `reaudit_months` on (clamped to the month's end), moved to the next
    working day."""
    return _months_after(calendar, audit_date, rules.reaudit_months)


def escalation_due(rules: ProgrammeRules, calendar: WorkingCalendar, audit_date: date) -> Deadline:
    """When work that has not improved is escalated to the Divisional Director
    and the improvement board: `escalation_months` after the audit."""
    return _months_after(calendar, audit_date, rules.escalation_months)


def kloe_meeting_due(lead_weeks: int, calendar: WorkingCalendar, cycle_start: date) -> Deadline:
    """When the key lines of enquiry must be agreed: the programme's `lead_weeks` before
    the cycle starts, moved earlier to a working day (it must come first)."""
    day = calendar.on_or_before(cycle_start - timedelta(weeks=lead_weeks))
    return _deadline(calendar, day)


def selection_due(
    weeks_after_kloe: int, calendar: WorkingCalendar, kloe_meeting_date: date
) -> Deadline:
    """When the cases must have been picked: within the programme's `weeks_after_kloe` of
    the KLOE meeting."""
    return _weeks_after(calendar, kloe_meeting_date, weeks_after_kloe)
