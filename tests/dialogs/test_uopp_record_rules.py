"""The UoPP record's pure rules (workflow/uopp_record.py): dates, the plan, the grade, and
the windows for booking again and for the second UoPP, across bank holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.uopp_record import (
    MAX_ACTIONS,
    NO_CHANGE,
    action_field,
    grade_from,
    held_on_problem,
    higher_grades,
    plan_from,
    rebook_window,
    second_uopp_window,
    window_working_days,
    with_action_added,
    with_action_removed,
)

RULES = ProgrammeRules()
CALENDAR = WorkingCalendar.from_rules(RULES)
TODAY = date(2026, 12, 2)
BOOKED = date(2026, 11, 24)


def row(n: int, action: str, owner: str, due: str) -> dict[str, str]:
    return {action_field(n, "action"): action, action_field(n, "owner"): owner,
            action_field(n, "due"): due}  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("2026-12-01", None),
        ("2026-12-02", None),
        ("2026-11-24", None),
        ("2026-12-03", "can't have taken place in the future"),
        ("2026-11-23", "booked on 24/11/2026"),
        ("01/12/2026", "Give the date as a date"),
        ("", "Give the date the meeting took place."),
    ],
)
def test_a_held_date_is_today_or_before_and_not_before_the_booking(typed, problem):
    found = held_on_problem(typed, today=TODAY, earliest=BOOKED)
    assert (found is None) if problem is None else (problem in found)


def test_a_plan_keeps_complete_rows_and_skips_empty_ones():
    draft = {**row(0, "Visit", "11", "2026-12-18"), "actions": "3",
             **row(2, "Review", "12", "2027-01-08")}  # fmt: skip

    plan, errors = plan_from(draft, today=TODAY, owners=frozenset({11, 12}))

    assert errors == {}
    assert [(a.action, a.owner_id, a.due_on) for a in plan] == [
        ("Visit", 11, date(2026, 12, 18)),
        ("Review", 12, date(2027, 1, 8)),
    ]


def test_a_plan_action_is_due_after_today_and_owned_by_someone_at_the_meeting():
    draft = {**row(0, "Visit", "99", "2026-12-02"), **row(1, "", "11", ""), "actions": "2"}

    plan, errors = plan_from(draft, today=TODAY, owners=frozenset({11}))

    assert plan == []
    assert set(errors) == {"a0_owner", "a0_due", "a1_action", "a1_due"}
    assert "in the future" in errors["a0_due"]


def test_an_empty_plan_asks_for_one_action():
    _, errors = plan_from({}, today=TODAY, owners=frozenset({11}))
    assert list(errors) == ["actions"]


def test_rows_are_added_up_to_the_cap_and_removed_moving_the_rest_up():
    draft = {**row(0, "A", "11", "2026-12-18"), **row(1, "B", "12", "2026-12-19"),
             "actions": "2", "held_on": "2026-12-01"}  # fmt: skip

    assert with_action_added(draft)["actions"] == "3"
    assert with_action_added({"actions": str(MAX_ACTIONS)})["actions"] == str(MAX_ACTIONS)
    removed = with_action_removed(draft, 0)
    assert removed == {**row(0, "B", "12", "2026-12-19"), "actions": "1", "held_on": "2026-12-01"}
    assert with_action_removed({"actions": "1", **row(0, "A", "11", "")}, 0)["actions"] == "1"
    with pytest.raises(ValueError):
        with_action_removed(draft, 2)


def test_only_higher_grades_may_be_chosen():
    assert higher_grades(Grade.INADEQUATE) == [
        Grade.REQUIRES_IMPROVEMENT, Grade.GOOD, Grade.OUTSTANDING,
    ]  # fmt: skip
    assert higher_grades(Grade.OUTSTANDING) == []


def test_a_raise_needs_a_reason_and_to_good_the_outcomes_met():
    kept, errors = grade_from({"grade": NO_CHANGE}, Grade.REQUIRES_IMPROVEMENT)
    assert (kept.raised_to, errors) == (None, {})

    raised, errors = grade_from(
        {"grade": "good", "reason": "Progress", "outcomes_met": "true"}, Grade.REQUIRES_IMPROVEMENT
    )
    assert (raised.raised_to, raised.reason, errors) == (Grade.GOOD, "Progress", {})

    _, errors = grade_from({"grade": "good"}, Grade.REQUIRES_IMPROVEMENT)
    assert set(errors) == {"reason", "outcomes_met"}
    _, errors = grade_from({"grade": "requires_improvement", "reason": "x"}, Grade.INADEQUATE)
    assert errors == {}
    _, errors = grade_from({"grade": "inadequate", "reason": "x"}, Grade.REQUIRES_IMPROVEMENT)
    assert set(errors) == {"grade"}


def test_booking_again_starts_the_next_working_day_for_as_many_working_days():
    # Not held, said on Wed 23 Dec 2026: Christmas, Boxing Day (Mon 28) and New Year skipped.
    window = rebook_window(CALENDAR, date(2026, 12, 23), 5)

    assert (window.first_day, window.last_day) == (date(2026, 12, 24), date(2027, 1, 4))
    assert window.opens_at == datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    assert window.closes_at == datetime(2027, 1, 4, 17, 0, tzinfo=UTC)
    assert window_working_days(CALENDAR, date(2026, 12, 24), date(2026, 12, 31)) == 4


def test_the_second_uopp_window_opens_six_weeks_on_and_never_earlier():
    # Held Mon 23 Feb 2026: six weeks on is Easter Monday (6 Apr), so it opens on Tue 7 Apr,
    # in British Summer Time.
    window = second_uopp_window(RULES, CALENDAR, date(2026, 2, 23))
    assert window.first_day == date(2026, 4, 7)
    assert window.opens_at == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    assert window.last_day == date(2026, 4, 13)
