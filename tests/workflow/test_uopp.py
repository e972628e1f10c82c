"""The UoPP meeting's rules: who comes, who chairs, the window, and the slot search."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from workflow.availability import Busy, Schedule, WorkingHours
from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.uopp import (
    MeetingPlan,
    UoppPeople,
    best_options,
    candidate_starts,
    earliest_slot,
    plan_uopp,
)

LONDON = ZoneInfo("Europe/London")
RULES = ProgrammeRules()
CAL = WorkingCalendar.from_rules(RULES)
AUDITOR, PRACTITIONER, TM, MODERATOR, COORDINATOR, HOS, AM = 1, 2, 3, 4, 5, 6, 7
PEOPLE = UoppPeople(
    auditor_id=AUDITOR,
    practitioner_id=PRACTITIONER,
    team_manager_id=TM,
    moderator_id=MODERATOR,
    coordinator_ids=(COORDINATOR,),
    head_of_service_ids=(HOS,),
    audit_manager_ids=(AM,),
)


def utc(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def london(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def plan(moderated_at: datetime, grade: Grade = Grade.GOOD, initial: Grade | None = None):
    return plan_uopp(
        PEOPLE,
        initial_grade=initial or grade,
        final_grade=grade,
        moderated_at=moderated_at,
        rules=RULES,
        calendar=CAL,
    )


def busy(*stretches: tuple[datetime, datetime], hours: WorkingHours | None = None, email="x"):
    return Schedule(email, tuple(Busy(a, b) for a, b in stretches), hours)


# Who and when


def test_should_invite_the_team_manager_practitioner_and_auditor_chaired_by_the_auditor():
    meeting = plan(london(2026, 11, 24, 11), Grade.GOOD)

    assert {a.staff_id for a in meeting.attendees} == {TM, PRACTITIONER, AUDITOR}
    assert meeting.chair_id == meeting.organiser_id == AUDITOR
    assert meeting.length_minutes == 60
    # Moderated Tue 24 Nov: from Wed 25 Nov 09:00 to 5 working days on, Tue 1 Dec 17:00.
    assert meeting.window_starts_at == utc(2026, 11, 25, 9)
    assert meeting.window_ends_at == utc(2026, 12, 1, 17)


def test_should_invite_the_moderator_when_the_grade_changed():
    meeting = plan(london(2026, 11, 24, 11), Grade.REQUIRES_IMPROVEMENT, initial=Grade.GOOD)

    assert MODERATOR in {a.staff_id for a in meeting.attendees}
    assert next(a for a in meeting.attendees if a.staff_id == MODERATOR).part == "moderator"


def test_should_have_the_audit_manager_convene_an_inadequate_uopp_within_3_working_days():
    meeting = plan(london(2026, 11, 24, 11), Grade.INADEQUATE)

    assert {a.staff_id for a in meeting.attendees} == {
        TM,
        PRACTITIONER,
        AUDITOR,
        COORDINATOR,
        HOS,
        AM,
    }
    assert meeting.chair_id == meeting.organiser_id == AM
    assert meeting.window_ends_at == utc(2026, 11, 27, 17)


def test_should_let_the_auditor_chair_an_inadequate_uopp_when_the_service_has_no_audit_manager():
    people = UoppPeople(AUDITOR, PRACTITIONER, TM, MODERATOR, (COORDINATOR,), (HOS,), ())
    meeting = plan_uopp(
        people,
        initial_grade=Grade.INADEQUATE,
        final_grade=Grade.INADEQUATE,
        moderated_at=london(2026, 11, 24, 11),
        rules=RULES,
        calendar=CAL,
    )

    assert meeting.chair_id == AUDITOR


def test_should_take_the_meeting_length_from_the_rules():
    rules = RULES.with_overrides({"uopp_meeting_minutes": 90})
    meeting = plan_uopp(
        PEOPLE,
        initial_grade=Grade.GOOD,
        final_grade=Grade.GOOD,
        moderated_at=london(2026, 11, 24, 11),
        rules=rules,
        calendar=CAL,
    )

    assert meeting.length_minutes == 90


# Finding a time


def test_should_find_the_earliest_slot_everyone_required_can_make():
    meeting = plan(london(2026, 11, 24, 11))
    schedules = {
        TM: busy((utc(2026, 11, 25, 9), utc(2026, 11, 25, 12))),
        PRACTITIONER: busy((utc(2026, 11, 25, 12), utc(2026, 11, 25, 17))),
        AUDITOR: busy((utc(2026, 11, 26, 9), utc(2026, 11, 26, 9, 30))),
    }

    slot = earliest_slot(meeting, schedules, CAL)

    assert slot is not None
    assert (slot.start, slot.end) == (utc(2026, 11, 26, 9, 30), utc(2026, 11, 26, 10, 30))


def test_should_not_book_before_now_or_on_a_declined_slot():
    meeting = plan(london(2026, 11, 24, 11))

    slot = earliest_slot(
        meeting,
        {},
        CAL,
        not_before=utc(2026, 11, 25, 10, 10),
        avoid=[(utc(2026, 11, 25, 10, 30), utc(2026, 11, 25, 11, 30))],
    )

    assert slot is not None and slot.start == utc(2026, 11, 25, 11, 30)


def test_should_ignore_free_and_working_elsewhere_items():
    meeting = plan(london(2026, 11, 24, 11))
    free = Schedule("x", (Busy(utc(2026, 11, 25, 9), utc(2026, 11, 25, 17), "free"),))

    slot = earliest_slot(meeting, {TM: free}, CAL)

    assert slot is not None and slot.start == utc(2026, 11, 25, 9)


def test_should_skip_a_bank_holiday_inside_the_window():
    # Moderated Thu 27 Aug 2026; Mon 31 Aug is the summer bank holiday.
    meeting = plan(london(2026, 8, 27, 15))
    friday = (london(2026, 8, 28, 0), london(2026, 8, 29, 0))
    schedules = {TM: busy(friday)}

    slot = earliest_slot(meeting, schedules, CAL)

    assert slot is not None
    assert slot.start == london(2026, 9, 1, 9)  # Tuesday, not the bank holiday
    assert meeting.window_ends_at == london(2026, 9, 4, 17)  # 5 working days, holiday skipped


def test_should_keep_to_working_hours_across_the_october_clock_change():
    # Moderated Thu 22 Oct 2026; clocks go back on Sun 25 Oct.
    meeting = plan(london(2026, 10, 22, 15))
    starts = candidate_starts(meeting, CAL, step_minutes=30)
    schedules = {AUDITOR: busy((london(2026, 10, 23, 0), london(2026, 10, 24, 0)))}

    slot = earliest_slot(meeting, schedules, CAL)

    assert starts[0] == utc(2026, 10, 23, 8)  # 09:00 BST
    assert utc(2026, 10, 26, 9) in starts and utc(2026, 10, 26, 8) not in starts  # 09:00 GMT
    assert all(CAL.is_working_time(start) for start in starts)
    assert slot is not None and slot.start == utc(2026, 10, 26, 9)


def test_should_honour_an_attendee_s_own_hours_in_their_own_time_zone():
    meeting = plan(london(2026, 11, 24, 11))
    new_york = WorkingHours(frozenset({1, 2, 3, 4, 5}), time(9), time(17), "America/New_York")
    schedules = {PRACTITIONER: busy(hours=new_york)}

    slot = earliest_slot(meeting, schedules, CAL)

    # 09:00 in New York is 14:00 in London (UTC) in November.
    assert slot is not None and slot.start == utc(2026, 11, 25, 14)


def test_should_honour_an_attendee_s_working_days():
    meeting = plan(london(2026, 11, 24, 11))  # window starts on a Wednesday
    mon_tue = WorkingHours(frozenset({1, 2}), time(9), time(17), "Europe/London")

    slot = earliest_slot(meeting, {AUDITOR: busy(hours=mon_tue)}, CAL)

    assert slot is not None and slot.start == utc(2026, 11, 30, 9)  # the next Monday


def test_should_plan_someone_whose_schedule_could_not_be_read_on_programme_hours():
    meeting = plan(london(2026, 11, 24, 11))
    unreadable = Schedule("x", (Busy(utc(2026, 11, 25, 9), utc(2026, 11, 26, 0)),), error="denied")

    slot = earliest_slot(meeting, {TM: unreadable}, CAL)

    assert slot is not None and slot.start == utc(2026, 11, 25, 9)


def test_should_find_no_slot_when_hours_never_overlap():
    meeting = plan(london(2026, 11, 24, 11))
    kolkata = WorkingHours(frozenset({1, 2, 3, 4, 5}), time(9), time(14), "Asia/Kolkata")

    assert earliest_slot(meeting, {TM: busy(hours=kolkata)}, CAL) is None


def test_should_rank_options_by_fewest_clashes_then_earliest_when_nobody_is_free():
    meeting = plan(london(2026, 11, 24, 11))
    whole_window = (meeting.window_starts_at, meeting.window_ends_at)
    schedules = {
        # The team manager is never free; the practitioner only Thursday 10:00-11:00 and
        # Friday 14:00-15:00; the auditor is busy on Thursday morning.
        TM: busy(whole_window),
        PRACTITIONER: busy(
            (whole_window[0], utc(2026, 11, 26, 10)),
            (utc(2026, 11, 26, 11), utc(2026, 11, 27, 14)),
            (utc(2026, 11, 27, 15), whole_window[1]),
        ),
        AUDITOR: busy((utc(2026, 11, 26, 9), utc(2026, 11, 26, 12))),
    }

    assert earliest_slot(meeting, schedules, CAL) is None
    options = best_options(meeting, schedules, CAL, n=3)

    assert [o.start for o in options] == [
        utc(2026, 11, 27, 14),  # only the team manager clashes
        utc(2026, 11, 25, 9),  # the team manager and the practitioner: earliest of the rest
        utc(2026, 11, 25, 9, 30),
    ]
    assert options[0].clashes == (TM,)
    assert set(options[1].clashes) == {TM, PRACTITIONER}


def test_should_offer_nothing_once_the_window_has_passed():
    meeting = plan(london(2026, 11, 24, 11))

    assert best_options(meeting, {}, CAL, not_before=utc(2026, 12, 2, 9)) == []


def test_should_refuse_a_slot_grid_of_zero_minutes():
    meeting = MeetingPlan(1, 1, (), 60, utc(2026, 11, 25, 9), utc(2026, 11, 25, 17))

    with pytest.raises(ValueError, match="uopp_slot_step_minutes"):
        candidate_starts(meeting, CAL, step_minutes=0)
