from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflow.calendar import FixedClock, SystemClock, WorkingCalendar, add_months, to_utc
from workflow.rules import ProgrammeRules

LONDON = ZoneInfo("Europe/London")


def make_calendar(**kwargs) -> WorkingCalendar:
    return WorkingCalendar("Europe/London", "GB", "ENG", **kwargs)


def test_weekend_is_not_a_working_day():
    cal = make_calendar()
    assert not cal.is_working_day(date(2026, 3, 28))  # Saturday
    assert not cal.is_working_day(date(2026, 3, 29))  # Sunday
    assert cal.is_working_day(date(2026, 3, 30))


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 4),  # early May
        date(2026, 5, 25),  # spring bank holiday
        date(2026, 8, 31),  # late summer bank holiday
        date(2026, 12, 25),
        date(2026, 12, 28),  # Boxing Day falls on Saturday; Monday is the substitute
    ],
)
def test_english_bank_holidays_are_not_working_days(holiday):
    assert not make_calendar().is_working_day(holiday)


def test_scottish_calendar_works_on_easter_monday_but_not_2_january():
    cal = WorkingCalendar("Europe/London", "GB", "SCT")
    assert cal.is_working_day(date(2026, 4, 6))
    assert not cal.is_working_day(date(2026, 1, 2))


def test_council_closure_days_are_not_working_days():
    cal = make_calendar(closure_days=[date(2026, 12, 29), date(2026, 12, 30)])
    assert cal.next_working_day(date(2026, 12, 24)) == date(2026, 12, 31)


def test_holiday_name_for_messages():
    cal = make_calendar()
    assert cal.holiday_name(date(2026, 4, 6)) == "Easter Monday"
    assert cal.holiday_name(date(2026, 4, 7)) is None


def test_friday_plus_one_working_day_is_monday():
    assert make_calendar().add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_saturday_plus_one_working_day_is_monday():
    assert make_calendar().add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_add_working_days_skips_the_easter_weekend():
    # Thursday 2 April 2026 + 1 skips Good Friday, the weekend and Easter Monday.
    assert make_calendar().add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)


def test_add_working_days_skips_christmas_and_the_boxing_day_substitute():
    assert make_calendar().add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_add_zero_working_days_rolls_a_weekend_forward():
    cal = make_calendar()
    assert cal.add_working_days(date(2026, 3, 4), 0) == date(2026, 3, 4)
    assert cal.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 9)


def test_add_negative_working_days_goes_back_over_easter():
    assert make_calendar().add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 2)


def test_working_days_between_inverts_add_working_days():
    cal = make_calendar()
    start = date(2026, 3, 20)
    for n in range(1, 40):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


def test_working_days_between_is_negative_backwards_and_zero_for_same_day():
    cal = make_calendar()
    assert cal.working_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1
    assert cal.working_days_between(date(2026, 4, 7), date(2026, 4, 7)) == 0


def test_last_working_day_of_month_on_a_weekday():
    assert make_calendar().last_working_day_of_month(2026, 3) == date(2026, 3, 31)


def test_last_working_day_of_month_ending_on_a_weekend():
    # 31 January 2026 is a Saturday.
    assert make_calendar().last_working_day_of_month(2026, 1) == date(2026, 1, 30)


def test_last_working_day_of_august_2026_skips_bank_holiday_monday():
    assert make_calendar().last_working_day_of_month(2026, 8) == date(2026, 8, 28)


def test_last_working_day_of_december_2026():
    assert make_calendar().last_working_day_of_month(2026, 12) == date(2026, 12, 31)


def test_first_working_day_of_month_skips_new_year():
    assert make_calendar().first_working_day_of_month(2027, 1) == date(2027, 1, 4)


def test_next_and_previous_working_day_are_strict():
    cal = make_calendar()
    assert cal.next_working_day(date(2026, 3, 4)) == date(2026, 3, 5)
    assert cal.previous_working_day(date(2026, 3, 9)) == date(2026, 3, 6)


def test_local_date_after_spring_forward_is_already_the_next_day():
    cal = make_calendar()
    assert cal.local_date(datetime(2026, 3, 29, 23, 30, tzinfo=UTC)) == date(2026, 3, 30)
    assert cal.local_date(datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == date(2026, 1, 15)


def test_local_date_accepts_any_timezone():
    new_york = ZoneInfo("America/New_York")
    moment = datetime(2026, 6, 1, 20, 0, tzinfo=new_york)  # 01:00 BST on 2 June
    assert make_calendar().local_date(moment) == date(2026, 6, 2)


def test_local_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        make_calendar().local_date(datetime(2026, 3, 30, 12, 0))


def test_end_of_working_day_in_summer_is_16_utc():
    end = make_calendar().end_of_working_day(date(2026, 3, 30))
    assert end == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    assert end.tzinfo is UTC


def test_end_of_working_day_in_winter_is_17_utc():
    assert make_calendar().end_of_working_day(date(2026, 10, 26)) == datetime(
        2026, 10, 26, 17, 0, tzinfo=UTC
    )


def test_start_of_working_day_follows_the_clock_change():
    cal = make_calendar()
    assert cal.start_of_working_day(date(2026, 3, 27)) == datetime(2026, 3, 27, 9, tzinfo=UTC)
    assert cal.start_of_working_day(date(2026, 3, 30)) == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_is_working_time():
    cal = make_calendar()
    assert cal.is_working_time(datetime(2026, 3, 30, 8, 0, tzinfo=UTC))  # 09:00 BST
    assert not cal.is_working_time(datetime(2026, 3, 30, 16, 0, tzinfo=UTC))  # 17:00 BST
    assert not cal.is_working_time(datetime(2026, 4, 6, 10, 0, tzinfo=UTC))  # Easter Monday


def test_calendar_from_rules_uses_the_councils_hours():
    rules = ProgrammeRules().with_overrides({"working_day_end": "16:30"})
    cal = WorkingCalendar.from_rules(rules)
    assert cal.working_day_end == time(16, 30)
    assert cal.end_of_working_day(date(2026, 1, 5)) == datetime(2026, 1, 5, 16, 30, tzinfo=UTC)


def test_working_day_must_start_before_it_ends():
    with pytest.raises(ValueError):
        make_calendar(working_day_start=time(17), working_day_end=time(9))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 15), 6, date(2026, 9, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 10, 31), 4, date(2027, 2, 28)),
        (date(2026, 1, 31), -2, date(2025, 11, 30)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_fixed_clock_returns_utc_and_advances():
    clock = FixedClock(datetime(2026, 3, 30, 9, 0, tzinfo=LONDON))
    assert clock.now() == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    clock.advance(timedelta(hours=2))
    assert clock.now() == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_fixed_clock_refuses_naive_time():
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 3, 30, 9, 0))


def test_system_clock_is_aware_utc():
    assert SystemClock().now().tzinfo is UTC


def test_to_utc_converts_from_london():
    assert to_utc(datetime(2026, 7, 1, 12, tzinfo=LONDON)) == datetime(2026, 7, 1, 11, tzinfo=UTC)
