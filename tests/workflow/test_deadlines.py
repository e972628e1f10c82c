from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflow.calendar import WorkingCalendar
from workflow.deadlines import (
    Deadline,
    audit_due,
    completion_fix_due,
    dip_audit_due,
    escalation_due,
    kloe_meeting_due,
    moderation_due,
    reaudit_due,
    second_uopp_due,
    selection_due,
    uopp_booking_window,
    uopp_due,
    urgent_issues_due,
)
from workflow.grades import Grade
from workflow.rules import ProgrammeRules

LONDON = ZoneInfo("Europe/London")
RULES = ProgrammeRules()
CAL = WorkingCalendar.from_rules(RULES)


def london(year, month, day, hour=10, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Rules


def test_programme_rules_defaults_match_the_domain():
    assert RULES.inadequate_moderation_working_days == 1
    assert RULES.urgent_issues_working_days == 2
    assert RULES.uopp_working_days == 5
    assert RULES.uopp_inadequate_working_days == 3
    assert RULES.dip_audit_weeks == 6
    assert RULES.second_uopp_weeks == 6
    assert RULES.reaudit_months == 6
    assert RULES.reaudit_fraction == 0.10
    assert RULES.escalation_months == 4
    assert RULES.completion_fix_working_days == 5
    assert RULES.audit_due_working_days == 15
    assert (RULES.timezone, RULES.holiday_country, RULES.holiday_subdivision) == (
        "Europe/London",
        "GB",
        "ENG",
    )
    assert (RULES.working_day_start, RULES.working_day_end) == (time(9), time(17))


def test_overrides_return_a_tuned_copy():
    tuned = RULES.with_overrides({"uopp_working_days": 10, "working_day_end": "16:30"})
    assert tuned.uopp_working_days == 10
    assert tuned.working_day_end == time(16, 30)
    assert RULES.uopp_working_days == 5


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"uopp_days": 5}, "uopp_days"),
        ({"uopp_working_days": "5"}, "uopp_working_days"),
        ({"uopp_working_days": 2.5}, "uopp_working_days"),
        ({"uopp_working_days": True}, "uopp_working_days"),
        ({"dip_audit_weeks": -1}, "dip_audit_weeks"),
        ({"reaudit_fraction": 0}, "reaudit_fraction"),
        ({"reaudit_fraction": 1.5}, "reaudit_fraction"),
        ({"reaudit_fraction": "10%"}, "reaudit_fraction"),
        ({"timezone": "Europe/Londinium"}, "timezone"),
        ({"working_day_end": "5pm"}, "working_day_end"),
        ({"working_day_end": "25:00"}, "working_day_end"),
        ({"working_day_start": 9}, "working_day_start"),
        ({"holiday_subdivision": "XYZ"}, "holiday_subdivision"),
        ({"holiday_country": "ZZ"}, "holiday_country"),
        ({"working_day_start": "18:00"}, "working_day_start"),
    ],
)
def test_bad_override_raises_value_error_naming_the_setting(overrides, named):
    with pytest.raises(ValueError, match=named):
        RULES.with_overrides(overrides)


def test_rules_are_frozen():
    with pytest.raises(AttributeError):
        RULES.uopp_working_days = 7  # type: ignore[misc]


# Audit and completion


def test_audit_due_is_three_working_weeks_after_allocation():
    due = audit_due(RULES, CAL, london(2026, 3, 2))
    assert due == Deadline(date(2026, 3, 23), utc(2026, 3, 23, 17))


def test_audit_due_leaves_the_moderator_time_before_month_end():
    # Allocated Mon 16 Nov 2026 for November: 15 working days would be Mon 7 Dec, but
    # moderation is due Mon 30 Nov, so the audit is due 5 working days before: Mon 23 Nov.
    due = audit_due(RULES, CAL, london(2026, 11, 16), audit_month=date(2026, 11, 1))
    assert due.day == date(2026, 11, 23)


def test_audit_due_for_a_later_month_keeps_the_usual_three_weeks():
    due = audit_due(RULES, CAL, london(2026, 11, 2), audit_month=date(2026, 12, 1))
    assert due.day == date(2026, 11, 23)


def test_audit_due_is_never_before_the_next_working_day():
    # Allocated Fri 27 Nov for November itself: no time is left, so it is due Mon 30 Nov.
    due = audit_due(RULES, CAL, london(2026, 11, 27), audit_month=date(2026, 11, 1))
    assert due.day == date(2026, 11, 30)


def test_completion_fix_due_crosses_easter():
    # Returned Wednesday 1 April: Thu 2, Tue 7, Wed 8, Thu 9, Fri 10.
    assert completion_fix_due(RULES, CAL, london(2026, 4, 1)).day == date(2026, 4, 10)


# Moderation


def test_moderation_due_on_last_working_day_of_the_audit_month():
    due = moderation_due(RULES, CAL, Grade.GOOD, audit_month=date(2026, 3, 1))
    assert due == Deadline(date(2026, 3, 31), utc(2026, 3, 31, 16))


def test_moderation_due_when_month_ends_on_a_weekend():
    due = moderation_due(RULES, CAL, Grade.REQUIRES_IMPROVEMENT, audit_month=date(2026, 5, 12))
    assert due.day == date(2026, 5, 29)  # 31 May 2026 is a Sunday


def test_moderation_due_skips_bank_holiday_monday_at_month_end():
    due = moderation_due(RULES, CAL, Grade.OUTSTANDING, audit_month=date(2026, 8, 3))
    assert due == Deadline(date(2026, 8, 28), utc(2026, 8, 28, 16))


def test_inadequate_submitted_on_friday_is_moderated_by_monday():
    due = moderation_due(
        RULES,
        CAL,
        Grade.INADEQUATE,
        audit_month=date(2026, 3, 1),
        submitted_at=london(2026, 3, 6, 15),
    )
    assert due == Deadline(date(2026, 3, 9), utc(2026, 3, 9, 17))


def test_inadequate_moderation_skips_late_may_bank_holiday():
    due = moderation_due(
        RULES,
        CAL,
        Grade.INADEQUATE,
        audit_month=date(2026, 5, 1),
        submitted_at=london(2026, 5, 22, 16),
    )
    assert due.day == date(2026, 5, 26)


def test_inadequate_submitted_on_last_working_day_runs_into_next_month():
    due = moderation_due(
        RULES,
        CAL,
        Grade.INADEQUATE,
        audit_month=date(2026, 7, 1),
        submitted_at=london(2026, 7, 31, 12),
    )
    assert due.day == date(2026, 8, 3)


def test_inadequate_submitted_just_after_midnight_london_counts_from_the_london_date():
    # 23:30 UTC on Sunday 29 March 2026 is 00:30 BST on Monday 30 March.
    due = moderation_due(
        RULES,
        CAL,
        Grade.INADEQUATE,
        audit_month=date(2026, 3, 1),
        submitted_at=utc(2026, 3, 29, 23, 30),
    )
    assert due == Deadline(date(2026, 3, 31), utc(2026, 3, 31, 16))


def test_inadequate_moderation_needs_the_submission_time():
    with pytest.raises(ValueError):
        moderation_due(RULES, CAL, Grade.INADEQUATE, audit_month=date(2026, 3, 1))


# Inadequate fast path and UoPP


def test_urgent_issues_due_across_spring_clock_change_is_16_utc():
    due = urgent_issues_due(RULES, CAL, london(2026, 3, 26, 11))
    assert due == Deadline(date(2026, 3, 30), utc(2026, 3, 30, 16))


def test_urgent_issues_due_across_autumn_clock_change_is_17_utc():
    due = urgent_issues_due(RULES, CAL, london(2026, 10, 23, 11))
    assert due == Deadline(date(2026, 10, 27), utc(2026, 10, 27, 17))


def test_uopp_due_five_working_days_crossing_easter():
    due = uopp_due(RULES, CAL, london(2026, 4, 1), Grade.REQUIRES_IMPROVEMENT)
    assert due == Deadline(date(2026, 4, 10), utc(2026, 4, 10, 16))


def test_uopp_due_for_inadequate_is_three_working_days_crossing_christmas():
    due = uopp_due(RULES, CAL, london(2026, 12, 23), Grade.INADEQUATE)
    # Thu 24, then Christmas Day, the weekend and the Boxing Day substitute.
    assert due == Deadline(date(2026, 12, 30), utc(2026, 12, 30, 17))


def test_uopp_due_follows_a_council_override():
    rules = RULES.with_overrides({"uopp_working_days": 10})
    assert uopp_due(rules, CAL, london(2026, 3, 2), Grade.GOOD).day == date(2026, 3, 16)


def test_uopp_booking_window_runs_from_next_working_day_to_deadline():
    window = uopp_booking_window(RULES, CAL, london(2026, 4, 1, 16), Grade.GOOD)
    assert (window.first_day, window.last_day) == (date(2026, 4, 2), date(2026, 4, 10))
    assert window.opens_at == utc(2026, 4, 2, 8)
    assert window.closes_at == utc(2026, 4, 10, 16)
    assert window.working_days(CAL) == [
        date(2026, 4, 2),
        date(2026, 4, 7),
        date(2026, 4, 8),
        date(2026, 4, 9),
        date(2026, 4, 10),
    ]


def test_uopp_booking_window_for_inadequate_moderated_on_a_friday():
    window = uopp_booking_window(RULES, CAL, london(2026, 3, 6), Grade.INADEQUATE)
    assert (window.first_day, window.last_day) == (date(2026, 3, 9), date(2026, 3, 11))


# Follow-up


def test_dip_audit_due_six_weeks_on_moves_off_early_may_bank_holiday():
    # 23 March 2026 + 6 weeks is Monday 4 May, a bank holiday.
    due = dip_audit_due(RULES, CAL, date(2026, 3, 23))
    assert due == Deadline(date(2026, 5, 5), utc(2026, 5, 5, 16))


def test_dip_audit_due_on_an_ordinary_day_is_exactly_six_weeks():
    assert dip_audit_due(RULES, CAL, date(2026, 2, 4)).day == date(2026, 3, 18)


def test_second_uopp_due_moves_off_spring_bank_holiday():
    assert second_uopp_due(RULES, CAL, date(2026, 4, 13)).day == date(2026, 5, 26)


def test_reaudit_due_six_months_on_moves_past_christmas():
    # 26 June 2026 + 6 months is Saturday 26 December; Monday 28 is the
    # Boxing Day substitute.
    assert reaudit_due(RULES, CAL, date(2026, 6, 26)).day == date(2026, 12, 29)


def test_reaudit_due_clamps_to_month_end():
    assert reaudit_due(RULES, CAL, date(2026, 3, 31)).day == date(2026, 9, 30)


def test_escalation_due_clamps_then_moves_to_a_working_day():
    # 31 October 2025 + 4 months is Saturday 28 February 2026.
    assert escalation_due(RULES, CAL, date(2025, 10, 31)).day == date(2026, 3, 2)


def test_escalation_due_moves_past_august_bank_holiday():
    # 30 April 2026 + 4 months is Sunday 30 August; Monday 31 is a bank holiday.
    assert escalation_due(RULES, CAL, date(2026, 4, 30)).day == date(2026, 9, 1)


# The cycle


def test_kloe_meeting_moves_earlier_off_easter_monday():
    # A cycle starting Monday 20 April 2026: two weeks before is Easter Monday.
    assert kloe_meeting_due(2, CAL, date(2026, 4, 20)).day == date(2026, 4, 2)


def test_selection_due_a_week_after_kloe_meeting():
    assert selection_due(1, CAL, date(2026, 5, 18)).day == date(2026, 5, 26)


def test_deadline_is_past_only_after_the_working_day_ends():
    due = urgent_issues_due(RULES, CAL, london(2026, 3, 26))
    assert not due.is_past(utc(2026, 3, 30, 16))
    assert due.is_past(utc(2026, 3, 30, 16) + timedelta(seconds=1))
    assert due.is_past(london(2026, 3, 30, 17, 1))
