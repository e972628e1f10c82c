"""Recording the UoPP meeting: asking the chair, held with a plan and a raise, not held,
and the second UoPP after Inadequate."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from dialogs.programmes import load_programme
from dialogs.uopp_record import ask_chairs
from storage import repositories as repo
from storage.db import make_engine, session_factory
from storage.enums import (
    MeetingKind,
    MeetingState,
    RecommendationLevel,
    RecommendationSource,
)
from storage.models import AuditEvent, Meeting, OutboxMessage, Staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    RULES,
    act,
    count_rows,
    execute_data,
    load_audit,
    messages_to,
    texts,
    verbs,
)
from tests.dialogs.test_uopp_record_setup import (
    ANSWERED_AT,
    ASKED_AT,
    ENDS_AT,
    Booked,
    asked,
    attendee_ids,
    booked_meeting,
    inputs_of,
    meeting,
    meetings_of,
    plan_row,
    uopp_actions,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.programme import shipped_programme, shipped_programmes
from workflow.states import AuditState

HELD, NOT_HELD, PLAN_DONE, GRADE_DONE, CONFIRM = (
    "uopp.held", "uopp.not_held", "uopp.plan_done", "uopp.grade_done", "uopp.confirm",
)  # fmt: skip


async def question_card(db: Database, booked: Booked) -> dict[str, Any]:
    [message] = await messages_to(db, booked.chair, "uopp_record")
    return message.payload["card"]


async def press(
    db: Database, booked: Booked, card: dict, verb: str, *, who: Staff | None = None,
    now: datetime = ANSWERED_AT, **typed: Any,
) -> dict[str, Any]:  # fmt: skip
    """Press `verb` on `card` as Teams would: the button's data with the card's inputs (as
    shown, or as typed) laid over it."""
    data = {**execute_data(card, verb), **inputs_of(card), **typed}
    return await act(db, who or booked.chair, verb, now=now, **data)


async def through_to_check(
    db: Database, booked: Booked, plan: dict[str, str], grade: dict[str, str]
) -> dict[str, Any]:
    """Yes on the meeting's own date, the plan, the grade: the check card."""
    card = await press(db, booked, await question_card(db, booked), HELD)
    card = await press(db, booked, card, PLAN_DONE, **plan)
    return await press(db, booked, card, GRADE_DONE, **grade)


PLAN_DATE = "2026-12-18"


# --- asking the chair -------------------------------------------------------------------


async def test_should_ask_the_chair_once_when_the_meeting_has_ended(db: Database):
    booked = await booked_meeting(db)

    during = FixedClock(datetime(2026, 12, 1, 10, 30, tzinfo=UTC))
    before_end = await ask_chairs(db.sessions, during, RULES)
    first = await ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES)
    again = await ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES)

    assert (before_end, first, again) == (0, 1, 0)
    [message] = await messages_to(db, booked.chair, "uopp_record")
    card = message.payload["card"]
    assert (
        f"Did the UoPP meeting for case {booked.cast.case_ref} take place?"
        == (message.payload["summary"])
    )
    assert f"Did the UoPP meeting for case {booked.cast.case_ref} take place?" in texts(card)
    assert {HELD, NOT_HELD, "escalate.safeguarding"} <= verbs(card)
    assert inputs_of(card)["held_on"] == "2026-12-01"  # the meeting's own date by default
    assert (await meeting(db, booked.meeting_id)).chair_asked_at == ASKED_AT
    assert await count_rows(db, AuditEvent, AuditEvent.action == "chair_asked") == 1


async def test_should_ask_once_when_two_services_tick_at_the_same_moment(db: Database):
    booked = await booked_meeting(db)
    other = make_engine(db.url)
    try:
        counts = await asyncio.gather(
            ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES),
            ask_chairs(session_factory(other), FixedClock(ASKED_AT), RULES),
        )
    finally:
        await other.dispose()

    assert sorted(counts) == [0, 1]
    assert len(await messages_to(db, booked.chair, "uopp_record")) == 1


async def test_should_ask_the_coordinator_chairing_a_second_uopp(db: Database):
    booked = await booked_meeting(db, grade=Grade.INADEQUATE, kind=MeetingKind.SECOND_UOPP)

    assert await ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES) == 1

    assert booked.chair.id == booked.cast.coordinator.id
    card = await question_card(db, booked)
    assert f"The second UoPP meeting for case {booked.cast.case_ref}" in texts(card)


async def test_should_not_ask_about_a_meeting_not_booked(db: Database):
    booked = await booked_meeting(db)
    async with db.sessions.begin() as session:
        found = await session.get(Meeting, booked.meeting_id)
        found.state = MeetingState.CANCELLED

    assert await ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES) == 0


# --- held, with a plan and a raise ---------------------------------------------------------


async def test_should_record_a_meeting_held_with_its_plan_and_a_raised_grade(db: Database):
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    cast = booked.cast
    plan = {
        **plan_row(0, "Update the chronology with the child's views", cast.practitioner,
                   PLAN_DATE),
        **plan_row(1, "Supervision to review drift monthly", cast.team_manager, "2027-01-08"),
        "actions": "2",
    }  # fmt: skip
    grade = {"grade": "good", "reason": "Plan now reviewed fortnightly", "outcomes_met": "true"}

    check = await through_to_check(db, booked, plan, grade)
    shown = texts(check)
    assert "Check and record" in shown
    assert "Raised from Requires Improvement to be Good to Good" in shown
    assert "Update the chronology with the child's views" in shown
    recorded = await press(db, booked, check, CONFIRM)

    assert f"The UoPP meeting for case {cast.case_ref} took place" in texts(recorded)
    found = await meeting(db, booked.meeting_id)
    assert (found.state, found.held_on) == (MeetingState.HELD, date(2026, 12, 1))
    audit = await load_audit(db, booked.audit_id)
    assert audit.state is AuditState.UOPP_HELD
    assert (audit.moderated_grade, audit.final_grade) == (Grade.REQUIRES_IMPROVEMENT, Grade.GOOD)
    async with db.sessions() as session:
        owed = await repo.open_action_rows_for_owner(session, cast.practitioner.id)
    [owed_action] = [row.recommendation.action for row in owed]  # in `my actions`
    assert owed_action == "Update the chronology with the child's views"
    actions = await uopp_actions(db, booked.audit_id)
    assert [(a.action, a.owner_id, a.due_on, a.source, a.level) for a in actions] == [
        ("Update the chronology with the child's views", cast.practitioner.id,
         date(2026, 12, 18), RecommendationSource.UOPP, RecommendationLevel.CHILD),
        ("Supervision to review drift monthly", cast.team_manager.id, date(2027, 1, 8),
         RecommendationSource.UOPP, RecommendationLevel.CHILD),
    ]  # fmt: skip
    [raised] = await events(db, "uopp_grade_raised")
    assert raised.before == {"final_grade": "requires_improvement"}
    assert raised.after["final_grade"] == "good"
    assert raised.after["reason"] == "Plan now reviewed fortnightly"
    assert raised.actor_id == booked.chair.id
    [held] = await events(db, "uopp_held")
    assert held.before["state"] == "uopp_booked" and held.after["state"] == "uopp_held"
    assert held.after["recommendation_ids"] == [a.id for a in actions]
    assert [m.id for m in await meetings_of(db, booked.audit_id)] == [found.id]  # no other


async def test_should_send_the_record_of_ri_work_to_the_head_of_service_and_audit_team_too(
    db: Database,
):
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    cast = booked.cast
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    await press(db, booked, check, CONFIRM)

    told = await recipients(db, "uopp_record", exclude_first_question=booked.chair.id)
    assert told == {
        cast.team_manager.id, cast.practitioner.id, cast.coordinator.id,
        cast.head_of_service.id, cast.audit_team.id, cast.audit_manager.id,
    }  # fmt: skip
    [record] = await messages_to(db, cast.practitioner, "uopp_record")
    assert "Stays Requires Improvement to be Good" in texts(record.payload["card"])
    assert "Visit fortnightly" in texts(record.payload["card"])
    assert await events(db, "uopp_grade_raised") == []


async def test_should_send_the_record_of_good_work_to_the_tm_practitioner_and_coordinator(
    db: Database,
):
    booked = await asked(db, grade=Grade.GOOD)
    cast = booked.cast
    check = await through_to_check(
        db, booked, plan_row(0, "Keep it up", cast.team_manager, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    await press(db, booked, check, CONFIRM)

    told = await recipients(db, "uopp_record", exclude_first_question=booked.chair.id)
    assert told == {cast.team_manager.id, cast.practitioner.id, cast.coordinator.id}


async def test_should_send_the_record_to_whom_the_programme_says(db: Database):
    """Tower Hamlets CSC records the meeting "to HoS and Audit Team": not the coordinator."""
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    cast = booked.cast
    programme = shipped_programme("th-qaf-csc-yjs")
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, booked.audit_id)
        cycle = await repo.get_cycle(session, audit.cycle_id)
        service = await repo.get_service(session, cycle.service_id)
        loaded = await load_programme(
            session, shipped_programmes()["th-qaf-csc-yjs"], actor="test",
            now=datetime(2026, 11, 2, 9, tzinfo=UTC),
            services_as={
                s.code: (service.code if s.code == "CSC-MASH" else None)
                for s in programme.services
            },
        )  # fmt: skip
        cycle.programme_version_id = loaded.version.id
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    await press(db, booked, check, CONFIRM)

    told = await recipients(db, "uopp_record", exclude_first_question=booked.chair.id)
    assert told == {
        cast.team_manager.id, cast.practitioner.id,
        cast.head_of_service.id, cast.audit_team.id, cast.audit_manager.id,
    }  # fmt: skip


async def test_should_record_once_when_pressed_twice(db: Database):
    booked = await asked(db)
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", booked.cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip

    first = await press(db, booked, check, CONFIRM)
    sent = await count_rows(db, OutboxMessage)
    second = await press(db, booked, check, CONFIRM)
    earlier_card = await press(db, booked, await question_card(db, booked), HELD)

    assert second == first == earlier_card
    assert len(await uopp_actions(db, booked.audit_id)) == 1
    assert len(await events(db, "uopp_held")) == 1
    assert await count_rows(db, OutboxMessage) == sent


async def test_should_refuse_anyone_but_the_chair_and_change_nothing(db: Database):
    booked = await asked(db)
    cast = booked.cast
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip

    for person in (cast.practitioner, cast.team_manager, cast.audit_manager, cast.outsider):
        refused = await press(db, booked, check, CONFIRM, who=person)
        assert "This isn't yours to do" in texts(refused)
        assert "the person chairing this UoPP meeting" in texts(refused)
        refused = await press(db, booked, await question_card(db, booked), NOT_HELD, who=person)
        assert "This isn't yours to do" in texts(refused)

    assert (await meeting(db, booked.meeting_id)).state is MeetingState.BOOKED
    assert (await load_audit(db, booked.audit_id)).state is AuditState.UOPP_BOOKED
    assert await uopp_actions(db, booked.audit_id) == []
    assert await count_rows(db, OutboxMessage) == 1


async def test_should_show_the_check_again_when_the_audit_changed_since_it_was_drawn(
    db: Database,
):
    booked = await asked(db)
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", booked.cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    async with db.sessions.begin() as session:
        audit = await session.get(type(await load_audit(db, booked.audit_id)), booked.audit_id)
        audit.uopp_due_at = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # someone else's change

    shown = await press(db, booked, check, CONFIRM)

    assert "This audit changed since this card was drawn" in texts(shown)
    assert "Visit fortnightly" in texts(shown)
    assert (await meeting(db, booked.meeting_id)).state is MeetingState.BOOKED
    again = await press(db, booked, shown, CONFIRM)
    assert "took place" in texts(again)
    assert (await meeting(db, booked.meeting_id)).state is MeetingState.HELD


async def test_should_say_the_chair_will_be_asked_later_before_the_meeting_is_over(db: Database):
    booked = await booked_meeting(db)

    shown = await act(db, booked.chair, HELD, now=ENDS_AT, meeting_id=booked.meeting_id,
                      version=1, held_on="2026-12-01")  # fmt: skip

    assert "once its time has passed" in texts(shown)


# --- what the chair is told to put right ---------------------------------------------------


async def test_should_refuse_a_date_in_the_future_or_before_the_booking(db: Database):
    booked = await asked(db)
    card = await question_card(db, booked)

    future = await press(db, booked, card, HELD, held_on="2026-12-03")
    early = await press(db, booked, card, HELD, held_on="2026-11-23")
    missing = await press(db, booked, card, HELD, held_on="")

    assert "can't have taken place in the future" in texts(future)
    assert inputs_of(future)["held_on"] == "2026-12-03"  # what was typed stays
    assert "booked on 24/11/2026, so it can't have taken place before then" in texts(early)
    assert "Give the date the meeting took place." in texts(missing)
    assert (await meeting(db, booked.meeting_id)).state is MeetingState.BOOKED


async def test_should_explain_each_problem_in_the_plan_next_to_its_field(db: Database):
    booked = await asked(db)
    plan = await press(db, booked, await question_card(db, booked), HELD, held_on="2026-12-01")
    assert "The improvement plan agreed" in texts(plan)

    empty = await press(db, booked, plan, PLAN_DONE)
    assert "Add at least one action the meeting agreed" in texts(empty)

    typed = {
        **plan_row(0, "Visit fortnightly", booked.cast.outsider, "2026-12-02"),
        **plan_row(1, "", booked.cast.team_manager, PLAN_DATE),
        "actions": "2",
    }
    wrong = await press(db, booked, await press(db, booked, plan, "uopp.add_action"),
                        PLAN_DONE, **typed)  # fmt: skip
    shown = texts(wrong)
    assert "3 answers need your attention" in shown
    assert "Choose who will do it, from the people at the meeting." in shown
    assert "Give a date in the future" in shown
    assert "Say what will be done." in shown
    assert inputs_of(wrong)["a0_action"] == "Visit fortnightly"
    assert inputs_of(wrong)["a1_due"] == PLAN_DATE


async def test_should_offer_only_the_people_at_the_meeting_as_owners(db: Database):
    booked = await asked(db)
    plan = await press(db, booked, await question_card(db, booked), HELD)

    owners = choices_of(plan, "a0_owner")

    assert set(owners) == {str(person.id) for person in booked.attendees}
    assert owners[str(booked.cast.practitioner.id)] == "Pat Practitioner (practitioner)"
    assert owners[str(booked.cast.auditor.id)] == "Ali Auditor (auditor)"


async def test_should_add_and_remove_action_rows_keeping_what_was_typed(db: Database):
    booked = await asked(db)
    plan = await press(db, booked, await question_card(db, booked), HELD)
    typed = plan_row(0, "First", booked.cast.practitioner, PLAN_DATE)

    two = await press(db, booked, plan, "uopp.add_action", **typed)
    assert inputs_of(two)["a0_action"] == "First" and "a1_action" in inputs_of(two)
    typed_two = {**typed, **plan_row(1, "Second", booked.cast.team_manager, PLAN_DATE)}
    remove_first = [
        data for data in all_execute_data(two, "uopp.remove_action") if data["row"] == 0
    ][0]
    one = await act(db, booked.chair, "uopp.remove_action", now=ANSWERED_AT,
                    **{**remove_first, **typed_two})  # fmt: skip

    assert inputs_of(one)["a0_action"] == "Second"
    assert "a1_action" not in inputs_of(one)
    assert await count_rows(db, OutboxMessage) == 1  # nothing saved on the way


async def test_should_need_a_reason_and_outcomes_to_raise_the_grade(db: Database):
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    card = await press(db, booked, await question_card(db, booked), HELD)
    typed = plan_row(0, "Visit", booked.cast.practitioner, PLAN_DATE)
    grade_card = await press(db, booked, card, PLAN_DONE, **typed)
    assert set(choices_of(grade_card, "grade")) == {"no_change", "good", "outstanding"}

    nothing = await press(db, booked, grade_card, GRADE_DONE)
    bare = await press(db, booked, grade_card, GRADE_DONE, grade="good", reason="",
                       outcomes_met="false")  # fmt: skip
    lower = await press(db, booked, grade_card, GRADE_DONE, grade="inadequate", reason="x")

    assert "Say whether the grade stays as it is or is raised." in texts(nothing)
    assert "Say what progress since the audit justifies raising the grade." in texts(bare)
    assert "when the child's outcomes are met or on the way to being met" in texts(bare)
    assert "Choose a grade higher than the current one" in texts(lower)
    assert (await load_audit(db, booked.audit_id)).final_grade is Grade.REQUIRES_IMPROVEMENT


async def test_should_go_back_a_step_keeping_every_answer(db: Database):
    booked = await asked(db)
    typed = plan_row(0, "Visit fortnightly", booked.cast.practitioner, PLAN_DATE)
    check = await through_to_check(db, booked, typed, {"grade": "no_change"})

    grade_again = await press(db, booked, check, "uopp.back")
    plan_again = await press(db, booked, grade_again, "uopp.back")

    assert inputs_of(grade_again)["grade"] == "no_change"
    assert inputs_of(plan_again)["a0_action"] == "Visit fortnightly"
    recorded = await press(
        db,
        booked,
        await press(db, booked, await press(db, booked, plan_again, PLAN_DONE), GRADE_DONE),
        CONFIRM,
    )
    assert "took place" in texts(recorded)


# --- not held -------------------------------------------------------------------------------


async def test_should_propose_the_meeting_again_when_it_did_not_take_place(db: Database):
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    cast = booked.cast

    shown = await press(db, booked, await question_card(db, booked), NOT_HELD)

    assert f"The UoPP meeting for case {cast.case_ref} did not take place" in texts(shown)
    old, new = await meetings_of(db, booked.audit_id)
    assert old.state is MeetingState.NOT_HELD and old.held_on is None
    assert new.state is MeetingState.PROPOSED and new.kind is MeetingKind.UOPP
    assert (new.chair_id, new.organiser_id) == (old.chair_id, old.organiser_id)
    assert await attendee_ids(db, new.id) == await attendee_ids(db, old.id)
    # The first window had 5 working days; the new one: Thu 3 Dec to Wed 9 Dec.
    assert new.window_starts_at == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert new.window_ends_at == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    assert (new.starts_at, new.chair_asked_at) == (None, None)
    assert (await load_audit(db, booked.audit_id)).state is AuditState.UOPP_BOOKED
    [event] = await events(db, "uopp_not_held")
    assert event.after == {"meeting_id": old.id, "new_meeting_id": new.id}
    for person in (cast.team_manager, cast.practitioner):
        [told] = await messages_to(db, person, "uopp_record")
        assert "between Thu 3 Dec 2026 and Wed 9 Dec 2026" in texts(told.payload["card"])
    assert len(await messages_to(db, booked.chair, "uopp_record")) == 1  # only the question


async def test_should_answer_an_old_card_with_the_meeting_as_it_stands(db: Database):
    booked = await asked(db)
    card = await question_card(db, booked)
    first = await press(db, booked, card, NOT_HELD)

    again = await press(db, booked, card, NOT_HELD)
    yes_now = await press(db, booked, card, HELD)

    assert again == first == yes_now
    assert len(await meetings_of(db, booked.audit_id)) == 2
    assert len(await events(db, "uopp_not_held")) == 1


# --- Inadequate: the second UoPP ---------------------------------------------------------------


async def test_should_propose_a_second_uopp_six_weeks_after_an_inadequate_one(db: Database):
    booked = await asked(db, grade=Grade.INADEQUATE)
    cast = booked.cast
    assert booked.chair.id == cast.audit_manager.id
    check = await through_to_check(
        db, booked, plan_row(0, "Safety plan reviewed weekly", cast.team_manager, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    assert "A second UoPP meeting" in texts(check)

    recorded = await press(db, booked, check, CONFIRM)

    assert "between Tue 12 Jan 2027 and Mon 18 Jan 2027" in texts(recorded)
    first, second = await meetings_of(db, booked.audit_id)
    assert first.state is MeetingState.HELD
    assert (second.kind, second.state) == (MeetingKind.SECOND_UOPP, MeetingState.PROPOSED)
    assert second.chair_id == second.organiser_id == cast.coordinator.id
    assert {s for s, _ in await attendee_ids(db, second.id)} == {
        cast.coordinator.id, cast.team_manager.id, cast.practitioner.id,
    }  # fmt: skip
    # Held Tue 1 Dec; 6 weeks on is Tue 12 Jan 2027, for 5 working days.
    assert second.window_starts_at == datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    assert second.window_ends_at == datetime(2027, 1, 18, 17, 0, tzinfo=UTC)
    assert (await load_audit(db, booked.audit_id)).state is AuditState.UOPP_HELD
    told = await recipients(db, "uopp_record", exclude_first_question=booked.chair.id)
    assert told == {
        cast.team_manager.id, cast.practitioner.id, cast.coordinator.id,
        cast.head_of_service.id, cast.audit_team.id,
    }  # fmt: skip


async def test_should_have_the_audit_manager_chair_the_second_uopp_without_a_coordinator(
    db: Database,
):
    booked = await asked(db, grade=Grade.INADEQUATE, with_coordinator=False)
    check = await through_to_check(
        db, booked, plan_row(0, "Safety plan", booked.cast.team_manager, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    await press(db, booked, check, CONFIRM)

    _, second = await meetings_of(db, booked.audit_id)
    assert second.chair_id == booked.cast.audit_manager.id


async def test_should_record_the_second_uopp_as_follow_up(db: Database):
    booked = await asked(db, grade=Grade.INADEQUATE, kind=MeetingKind.SECOND_UOPP)
    cast = booked.cast
    check = await through_to_check(
        db, booked, plan_row(0, "Keep the safety plan", cast.practitioner, PLAN_DATE),
        {"grade": "requires_improvement", "reason": "Visits now weekly and recorded"},
    )  # fmt: skip

    recorded = await press(db, booked, check, CONFIRM)

    assert f"The second UoPP meeting for case {cast.case_ref} took place" in texts(recorded)
    audit = await load_audit(db, booked.audit_id)
    assert audit.state is AuditState.FOLLOW_UP
    assert audit.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert [m.kind for m in await meetings_of(db, booked.audit_id)] == [MeetingKind.SECOND_UOPP]
    assert len(await events(db, "second_uopp_held")) == 1


# --- helpers ---------------------------------------------------------------------------------


async def events(db: Database, action: str) -> list[AuditEvent]:
    async with db.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await session.scalars(query)).all())


async def recipients(db: Database, kind: str, *, exclude_first_question: int) -> set[int]:
    """Who got a message of `kind`, leaving out the chair's question."""
    async with db.sessions() as session:
        rows = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        ).all()
    return {
        row.recipient_id
        for row in rows
        if not (
            row.recipient_id == exclude_first_question
            and row.idempotency_key.startswith("uopp:ask:")
        )
    }


def choices_of(card: dict[str, Any], input_id: str) -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("id") == input_id and node.get("type") == "Input.ChoiceSet":
                found.update({c["value"]: c["title"] for c in node["choices"]})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def all_execute_data(card: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                found.append(dict(node.get("data") or {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_should_record_a_second_uopp_when_follow_up_has_already_started(db: Database):
    booked = await asked(
        db, grade=Grade.INADEQUATE, kind=MeetingKind.SECOND_UOPP, audit_state=AuditState.FOLLOW_UP
    )
    check = await through_to_check(
        db, booked, plan_row(0, "Keep the safety plan", booked.cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip

    await press(db, booked, check, CONFIRM)

    assert (await load_audit(db, booked.audit_id)).state is AuditState.FOLLOW_UP
    assert (await meeting(db, booked.meeting_id)).state is MeetingState.HELD


async def test_should_refuse_to_record_a_uopp_for_a_closed_audit_and_change_nothing(db: Database):
    booked = await asked(db, audit_state=AuditState.CLOSED)
    check = await through_to_check(
        db, booked, plan_row(0, "Visit fortnightly", booked.cast.practitioner, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip

    refused = await press(db, booked, check, CONFIRM)

    assert "because it is closed" in texts(refused)
    assert "Nothing was changed." in texts(refused)
    assert (await meeting(db, booked.meeting_id)).state is MeetingState.BOOKED
    assert await uopp_actions(db, booked.audit_id) == []
    assert await count_rows(db, OutboxMessage) == 1
