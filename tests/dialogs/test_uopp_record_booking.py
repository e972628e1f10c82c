"""The UoPP record and the booker together: a meeting proposed again (not held) or a second
UoPP (after Inadequate) is booked by the real booker on auditbot's own calendar, and its
chair is asked about it in turn."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.local_calendar import LocalCalendar
from dialogs.uopp_booking import book_due_meetings
from dialogs.uopp_record import ask_chairs
from storage.enums import MeetingKind, MeetingState
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import RULES, load_audit, messages_to, texts
from tests.dialogs.test_uopp_record import CONFIRM, NOT_HELD, PLAN_DATE, press, question_card
from tests.dialogs.test_uopp_record import through_to_check as to_check
from tests.dialogs.test_uopp_record_setup import (
    ANSWERED_AT,
    asked,
    inputs_of,
    meetings_of,
    plan_row,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.states import AuditState


async def book(db: Database, at: datetime) -> int:
    calendar = LocalCalendar(db.sessions, RULES)
    return await book_due_meetings(db.sessions, calendar, FixedClock(at), RULES)


async def test_a_meeting_that_did_not_take_place_is_booked_again_and_its_chair_asked(
    db: Database,
):
    booked = await asked(db, grade=Grade.REQUIRES_IMPROVEMENT)
    await press(db, booked, await question_card(db, booked), NOT_HELD)

    assert await book(db, ANSWERED_AT) == 1

    _, again = await meetings_of(db, booked.audit_id)
    assert again.state is MeetingState.BOOKED
    assert again.window_starts_at <= again.starts_at < again.ends_at <= again.window_ends_at
    assert (await load_audit(db, booked.audit_id)).state is AuditState.UOPP_BOOKED
    assert await ask_chairs(db.sessions, FixedClock(again.ends_at), RULES) == 1
    first_question, second_question = await messages_to(db, booked.chair, "uopp_record")
    card = second_question.payload["card"]
    assert inputs_of(card)["held_on"] == again.starts_at.date().isoformat()
    plan = await press(db, booked, card, "uopp.held", now=again.ends_at)
    assert "The improvement plan agreed" in texts(plan)


async def test_the_second_uopp_after_inadequate_is_booked_six_weeks_on_by_the_booker(
    db: Database,
):
    booked = await asked(db, grade=Grade.INADEQUATE)
    check = await to_check(
        db, booked, plan_row(0, "Safety plan", booked.cast.team_manager, PLAN_DATE),
        {"grade": "no_change"},
    )  # fmt: skip
    await press(db, booked, check, CONFIRM)

    assert await book(db, ANSWERED_AT) == 1

    _, second = await meetings_of(db, booked.audit_id)
    assert (second.kind, second.state) == (MeetingKind.SECOND_UOPP, MeetingState.BOOKED)
    assert datetime(2027, 1, 12, 9, 0, tzinfo=UTC) <= second.starts_at
    assert second.ends_at <= datetime(2027, 1, 18, 17, 0, tzinfo=UTC)
    assert (await load_audit(db, booked.audit_id)).state is AuditState.UOPP_HELD
    assert await ask_chairs(db.sessions, FixedClock(second.ends_at), RULES) == 1
    [question] = [
        m for m in await messages_to(db, booked.cast.coordinator, "uopp_record")
        if m.idempotency_key.startswith("uopp:ask:")
    ]  # fmt: skip
    assert question.payload["summary"] == (
        f"Did the second UoPP meeting for case {booked.cast.case_ref} take place?"
    )
