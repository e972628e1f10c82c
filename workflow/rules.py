"""Every number in the audit programme, as configuration with its default.

Each council, and each service within it (Early Help, Children's Social
Care, Youth Justice), tunes these; the defaults are the ones in DOMAIN.md
(mostly Tower Hamlets' Early Help programme). Build a council's rules with
`ProgrammeRules().with_overrides({...})`, which refuses unknown names and
values of the wrong type, naming the setting.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays


@dataclass(frozen=True)
class ProgrammeRules:
    """The timescales and proportions of one service's audit programme.

    Moderation of an ordinary audit is due on the last working day of the
    audit month; that is a rule, not a number, so it has no field here.
    """

    # Council setting: working days an auditor has from allocation to submit.
    # DOMAIN.md names no figure; three working weeks fits audits allocated
    # early in the month and moderated by its last working day.
    audit_due_working_days: int = 15
    # Working days the moderator has, at least, between the audit's due date and
    # moderation's (the last working day of the audit month).
    moderation_working_days: int = 5
    # Working days the auditor has to fix an audit returned as incomplete.
    completion_fix_working_days: int = 5
    # Working days the Audit Team has, after submission, to check an audit is complete.
    # DOMAIN.md names no figure; two keeps moderation (due at the month's end) on time.
    completeness_check_working_days: int = 2
    # Inadequate fast path.
    inadequate_moderation_working_days: int = 1
    urgent_issues_working_days: int = 2
    uopp_inadequate_working_days: int = 3
    second_uopp_weeks: int = 6
    # Days between the coordinator's progress reports on Inadequate work.
    inadequate_progress_report_days: int = 7
    # Every audit.
    uopp_working_days: int = 5
    # Booking the UoPP meeting: its length, the grid its start times fall on, and how
    # often (and how far apart at first, doubling) the booker retries a calendar that fails.
    uopp_meeting_minutes: int = 60
    uopp_slot_step_minutes: int = 30
    uopp_booking_max_attempts: int = 6
    uopp_booking_retry_minutes: int = 5
    # How often each booked meeting's attendees' answers are read (one calendar call each).
    uopp_response_check_minutes: int = 15
    dip_audit_weeks: int = 6
    reaudit_months: int = 6
    reaudit_fraction: float = 0.10
    escalation_months: int = 4
    # When a cycle's KLOEs are agreed, when its cases are picked and how far back an audit
    # looks are stages of the programme, not numbers here: see workflow/programme (the
    # programme file's [kloes] lead_weeks and [selection] weeks_after_kloe and lookback).
    # Chasing late work (scheduler/reminders.py): the owner is reminded every
    # reminder_repeat_working_days; reminder_tm_after_working_days after the first
    # reminder their team manager is copied, reminder_hos_after_working_days after
    # it the Head of Service; a snooze holds a reminder for reminder_snooze_working_days.
    reminder_repeat_working_days: int = 1
    reminder_tm_after_working_days: int = 3
    reminder_hos_after_working_days: int = 5
    reminder_snooze_working_days: int = 1
    # Working days the chair has, after a UoPP meeting ends, to record that it was held.
    uopp_record_working_days: int = 1
    # Where and when people work.
    timezone: str = "Europe/London"
    holiday_country: str = "GB"
    # England and Wales share bank holidays; "SCT" or "NIR" elsewhere.
    holiday_subdivision: str | None = "ENG"
    working_day_start: time = time(9, 0)
    working_day_end: time = time(17, 0)

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_field(field.name, getattr(self, field.name))
        if self.working_day_start >= self.working_day_end:
            raise ValueError(
                "working_day_start must be earlier than working_day_end "
                f"(got {self.working_day_start:%H:%M} and {self.working_day_end:%H:%M})."
            )
        try:
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
        except NotImplementedError as error:
            raise ValueError(
                f"holiday_country / holiday_subdivision: no bank holiday calendar for "
                f"{self.holiday_country!r} / {self.holiday_subdivision!r}."
            ) from error

    def with_overrides(self, overrides: Mapping[str, Any]) -> ProgrammeRules:
        """A copy with some settings changed, e.g. from a council's config file.

        Times may be given as `datetime.time` or "HH:MM". Raises ValueError
        naming the setting for an unknown name or a bad value.
        """
        known = {field.name for field in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            if name not in known:
                raise ValueError(f"{name}: not a programme setting.")
            if name in _TIME_FIELDS and isinstance(value, str):
                value = _parse_time(name, value)
            changes[name] = value
        return dataclasses.replace(self, **changes)


_INT_FIELDS = frozenset(
    {
        "audit_due_working_days",
        "completion_fix_working_days",
        "completeness_check_working_days",
        "moderation_working_days",
        "inadequate_moderation_working_days",
        "urgent_issues_working_days",
        "uopp_inadequate_working_days",
        "second_uopp_weeks",
        "inadequate_progress_report_days",
        "uopp_working_days",
        "uopp_meeting_minutes",
        "uopp_slot_step_minutes",
        "uopp_booking_max_attempts",
        "uopp_booking_retry_minutes",
        "uopp_response_check_minutes",
        "dip_audit_weeks",
        "reaudit_months",
        "escalation_months",
        "reminder_repeat_working_days",
        "reminder_tm_after_working_days",
        "reminder_hos_after_working_days",
        "reminder_snooze_working_days",
        "uopp_record_working_days",
    }
)
_TIME_FIELDS = frozenset({"working_day_start", "working_day_end"})


def _check_field(name: str, value: Any) -> None:
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}: must be a whole number of 0 or more (got {value!r}).")
    elif name == "reaudit_fraction":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ValueError(
                f"{name}: must be a fraction above 0 and at most 1, e.g. 0.1 (got {value!r})."
            )
    elif name in _TIME_FIELDS:
        if not isinstance(value, time) or value.tzinfo is not None:
            raise ValueError(f"{name}: must be a local time such as 17:00 (got {value!r}).")
    elif name == "timezone":
        _check_timezone(name, value)
    elif name == "holiday_country":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: must be a country code such as 'GB' (got {value!r}).")
    elif name == "holiday_subdivision":
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{name}: must be a code such as 'ENG' or None (got {value!r}).")


def _check_timezone(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: must be a time zone name such as 'Europe/London'.")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{name}: unknown time zone {value!r}.") from error


def _parse_time(name: str, text: str) -> time:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    try:
        if match is None:
            raise ValueError(text)
        return time(int(match.group(1)), int(match.group(2)))
    except ValueError as error:
        raise ValueError(f"{name}: must be a time such as 17:00 (got {text!r}).") from error
