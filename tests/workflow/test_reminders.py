"""The reminder ladder's rules, without a database: rungs, working hours, snooze, lateness."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_rules, load_settings
from workflow.calendar import WorkingCalendar
from workflow.reminders import (
    ChaseState,
    Rung,
    decide,
    first_chance,
    is_due,
    is_late,
    next_reminder_at,
    next_rung,
    snoozed_until,
    valid_new_date,
)
from workflow.rules import ProgrammeRules

RULES = ProgrammeRules()
CALENDAR = WorkingCalendar.from_rules(RULES)
LONDON = ZoneInfo("Europe/London")


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


DUE = at(2026, 11, 20, 17)  # end of Fri 20 Nov 2026


def test_the_first_reminder_is_to_the_owner():
    assert next_rung(RULES, CALENDAR, ChaseState(DUE), date(2026, 11, 23)) is Rung.OWNER


@pytest.mark.parametrize(
    ("today", "rung"),
    [
        (date(2026, 11, 24), Rung.OWNER),
        (date(2026, 11, 25), Rung.OWNER),
        (date(2026, 11, 26), Rung.TEAM_MANAGER),  # 3 working days after Mon 23
        (date(2026, 11, 30), Rung.TEAM_MANAGER),  # 5 days, but one rung at a time
    ],
)
def test_the_ladder_climbs_by_working_days_one_rung_per_reminder(today: date, rung: Rung):
    state = ChaseState(DUE, rung=Rung.OWNER, first_reminded_on=date(2026, 11, 23))
    assert next_rung(RULES, CALENDAR, state, today) is rung


def test_after_a_long_silence_the_ladder_still_climbs_one_rung_at_a_time():
    state = ChaseState(DUE, rung=Rung.OWNER, first_reminded_on=date(2026, 10, 1))
    assert next_rung(RULES, CALENDAR, state, date(2026, 11, 23)) is Rung.TEAM_MANAGER
    state = ChaseState(DUE, rung=Rung.TEAM_MANAGER, first_reminded_on=date(2026, 10, 1))
    assert next_rung(RULES, CALENDAR, state, date(2026, 11, 23)) is Rung.HEAD_OF_SERVICE


def test_the_ladder_days_are_settings():
    quick = RULES.with_overrides(
        {"reminder_tm_after_working_days": 1, "reminder_hos_after_working_days": 2}
    )
    state = ChaseState(DUE, rung=Rung.OWNER, first_reminded_on=date(2026, 11, 23))
    assert next_rung(quick, CALENDAR, state, date(2026, 11, 24)) is Rung.TEAM_MANAGER
    with pytest.raises(ValueError, match="reminder_repeat_working_days"):
        RULES.with_overrides({"reminder_repeat_working_days": -1})
    environ = {"AUDITBOT_RULE_REMINDER_TM_AFTER_WORKING_DAYS": "4"}
    assert load_rules(load_settings(demo=True), environ).reminder_tm_after_working_days == 4


@pytest.mark.parametrize(
    ("moment", "chance"),
    [
        (at(2026, 11, 20, 17, 30), at(2026, 11, 23, 9)),  # Friday evening -> Monday 9:00
        (at(2026, 11, 23, 7, 0), at(2026, 11, 23, 9)),  # early -> the same morning
        (at(2026, 11, 23, 11, 0), at(2026, 11, 23, 11)),  # in hours -> at once
        (at(2026, 12, 24, 17, 30), at(2026, 12, 29, 9)),  # Christmas Day and Boxing Day (Mon)
        (at(2026, 10, 23, 17, 0), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),  # GMT again
    ],
)
def test_reminders_wait_for_working_hours_on_a_working_day(moment: datetime, chance: datetime):
    assert first_chance(CALENDAR, moment) == chance


def test_a_snooze_on_friday_holds_through_monday():
    assert snoozed_until(RULES, CALENDAR, at(2026, 11, 20, 9, 30)) == at(2026, 11, 24, 9)
    # Over the August bank holiday: Fri 28 Aug -> Tue 1 Sep passes, back Wed 2 Sep.
    assert snoozed_until(RULES, CALENDAR, at(2026, 8, 28, 9, 30)) == at(2026, 9, 2, 9)


def test_an_item_reminded_today_is_held_until_the_next_working_morning():
    held_until = next_reminder_at(RULES, CALENDAR, date(2026, 11, 20))
    assert held_until == at(2026, 11, 23, 9)
    state = ChaseState(DUE, rung=Rung.OWNER, next_at=held_until)
    assert not is_due(state, at(2026, 11, 20, 16))
    assert is_due(state, at(2026, 11, 23, 9))


def test_a_reminder_is_late_only_when_the_scheduler_missed_an_earlier_working_day():
    fresh = ChaseState(DUE)
    monday, thursday = at(2026, 11, 23, 9, 0), at(2026, 11, 26, 14, 0)
    assert not is_late(CALENDAR, fresh, monday, last_run_at=at(2026, 11, 20, 16, 59))
    assert is_late(CALENDAR, fresh, thursday, last_run_at=at(2026, 11, 20, 16, 59))
    assert not is_late(CALENDAR, fresh, thursday, last_run_at=at(2026, 11, 26, 13, 59))
    assert not is_late(CALENDAR, fresh, thursday, last_run_at=None)  # a new installation
    decision = decide(RULES, CALENDAR, fresh, thursday, at(2026, 11, 20, 16, 59))
    assert decision.late and decision.rung is Rung.OWNER and not decision.escalated


def test_a_not_yet_date_must_be_a_future_working_day_within_a_year():
    today = date(2026, 11, 23)
    assert valid_new_date(CALENDAR, date(2026, 11, 24), today) is None
    assert "after today" in (valid_new_date(CALENDAR, today, today) or "")
    assert "not a working day" in (valid_new_date(CALENDAR, date(2026, 12, 25), today) or "")
    assert "within a year" in (valid_new_date(CALENDAR, date(2028, 1, 4), today) or "")
