"""Booking the UoPP meeting with auditbot's own calendar: moderation plans it, the booker
books it and tells everyone; no slot gives the organiser options; the Audit Team extends;
a decline rebooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dialogs.local_calendar import LocalCalendar
from dialogs.moderation import ask_moderator
from dialogs.uopp_booking import book_due_meetings
from dialogs.uopp_planning import plan_uopp_meeting
from dialogs.uopp_responses import check_responses
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import AuditEvent, Meeting, OutboxMessage, Staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    NOW,
    RULES,
    Cast,
    act,
    agree_all,
    cast_in,
    count_rows,
    disagree,
    execute_data,
    load_audit,
    messages_to,
    texts,
    verbs,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.moderation import OVERALL, field_id
from workflow.states import AuditState


def utc(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


WEDNESDAY_9 = utc(2026, 11, 25, 9)  # the first slot after moderation on Tue 24 Nov


async def moderate(db: Database, *, overall=Grade.GOOD, moderated_to=None) -> Cast:
    """An audit moderated at NOW (Tue 24 Nov 2026, 11:00 UTC)."""
    cast = await cast_in(db, overall=overall)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await ask_moderator(session, audit, now=NOW, rules=RULES)
    [ask] = await messages_to(db, cast.moderator, "moderation")
    answers = agree_all()
    if moderated_to is not None:
        answers.update(disagree(OVERALL, moderated_to, "Planning drifted"))
    data = execute_data(ask.payload["card"], "moderation.save")
    await act(db, cast.moderator, "moderation.save", **data, **answers)
    return cast


async def the_meeting(db: Database, audit_id: int) -> Meeting:
    async with db.sessions() as session:
        [meeting] = await repo.list_meetings(session, audit_id)
    return meeting


async def invited(db: Database, meeting_id: int) -> set[int]:
    async with db.sessions() as session:
        return {a.staff_id for a in await repo.list_attendees(session, meeting_id)}


async def tick(db: Database, at: datetime = NOW) -> int:
    calendar = LocalCalendar(db.sessions, RULES)
    return await book_due_meetings(db.sessions, calendar, FixedClock(at), RULES)


async def block(db: Database, person: Staff, start: datetime, end: datetime) -> None:
    """Another UoPP meeting auditbot already booked for `person`."""
    async with db.sessions.begin() as session:
        other = await cast_for_block(session)
        meeting = await repo.add_meeting(
            session, other, MeetingKind.UOPP, person.id, [(person.id, True)]
        )
        meeting.state = MeetingState.BOOKED
        meeting.starts_at, meeting.ends_at = start, end
        meeting.graph_event_id = f"local-other-{meeting.id}"


async def cast_for_block(session) -> int:
    from tests.dialogs.test_moderation_setup import make_cast

    other = await make_cast(session, state=AuditState.UOPP_BOOKED)
    return other.audit_id


def uopp_texts(messages: list[OutboxMessage]) -> list[str]:
    return [m.payload["text"] or "" for m in messages]


# --- planning ---------------------------------------------------------------------------


async def test_moderation_plans_the_meeting_with_its_attendees_chair_and_window(db: Database):
    cast = await moderate(db)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.PROPOSED
    assert meeting.chair_id == meeting.organiser_id == cast.auditor.id
    assert await invited(db, meeting.id) == {
        cast.team_manager.id,
        cast.practitioner.id,
        cast.auditor.id,
    }
    assert (meeting.window_starts_at, meeting.window_ends_at) == (
        WEDNESDAY_9,
        utc(2026, 12, 1, 17),
    )
    assert meeting.length_minutes == 60
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_planned") == 1


async def test_planning_again_changes_nothing(db: Database):
    cast = await moderate(db)

    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await plan_uopp_meeting(session, audit, now=NOW, rules=RULES)

    assert await count_rows(db, Meeting) == 1
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_planned") == 1


async def test_an_inadequate_grade_has_the_audit_manager_convene_within_3_working_days(
    db: Database,
):
    cast = await moderate(db, overall=Grade.INADEQUATE)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.chair_id == meeting.organiser_id == cast.audit_manager.id
    assert await invited(db, meeting.id) == {
        cast.team_manager.id,
        cast.practitioner.id,
        cast.auditor.id,
        cast.coordinator.id,
        cast.head_of_service.id,
        cast.audit_manager.id,
    }
    assert meeting.window_ends_at == utc(2026, 11, 27, 17)


async def test_a_changed_grade_brings_the_moderator(db: Database):
    cast = await moderate(db, moderated_to=Grade.REQUIRES_IMPROVEMENT)

    meeting = await the_meeting(db, cast.audit_id)
    assert cast.moderator.id in await invited(db, meeting.id)


# --- booking ----------------------------------------------------------------------------


async def test_the_booker_books_the_earliest_slot_and_tells_every_attendee(db: Database):
    cast = await moderate(db)

    assert await tick(db) == 1

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED
    assert (meeting.starts_at, meeting.ends_at) == (WEDNESDAY_9, WEDNESDAY_9 + timedelta(hours=1))
    assert meeting.calendar == "local"
    assert meeting.graph_event_id == f"local-auditbot-uopp-{meeting.id}-0"
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.UOPP_BOOKED
    for person in (cast.team_manager, cast.practitioner, cast.auditor):
        [message] = await messages_to(db, person, "uopp_booking")
        text = message.payload["text"]
        assert cast.case_ref in text
        assert "Wed 25 Nov 2026, 09:00 to 10:00 (GMT)" in text
        assert "chaired by Ali Auditor" in text
        assert cast.case_ref in message.payload["summary"]
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_booked") == 1
    assert await tick(db) == 0
    assert len(await messages_to(db, cast.practitioner, "uopp_booking")) == 1


async def test_the_booker_plans_around_meetings_it_already_booked(db: Database):
    cast = await moderate(db)
    await block(db, cast.team_manager, WEDNESDAY_9, utc(2026, 11, 25, 12))

    await tick(db)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.starts_at == utc(2026, 11, 25, 12)


async def test_a_disputed_audit_is_not_booked_until_the_dispute_is_settled(db: Database):
    cast = await moderate(db, moderated_to=Grade.REQUIRES_IMPROVEMENT)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.state = AuditState.DISPUTED

    assert await tick(db) == 0
    assert (await the_meeting(db, cast.audit_id)).state is MeetingState.PROPOSED


# --- no common slot ---------------------------------------------------------------------


async def no_slot(db: Database) -> tuple[Cast, OutboxMessage]:
    """The team manager is booked for the whole window: the auditor gets the options."""
    cast = await moderate(db)
    await block(db, cast.team_manager, WEDNESDAY_9, utc(2026, 12, 1, 17))
    assert await tick(db) == 0
    [offer] = await messages_to(db, cast.auditor, "uopp_booking")
    return cast, offer


async def test_with_no_common_slot_the_organiser_gets_the_three_best_options(db: Database):
    cast, offer = await no_slot(db)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.NEEDS_ORGANISER
    card = offer.payload["card"]
    shown = texts(card)
    assert "Option 1: Wed 25 Nov 2026, 09:00 to 10:00 (GMT)" in shown
    assert "Option 3: Wed 25 Nov 2026, 10:00 to 11:00 (GMT)" in shown
    assert shown.count("Tina Manager") == 3
    assert {"uopp.pick", "uopp.ask_extension"} <= verbs(card)
    assert await messages_to(db, cast.practitioner, "uopp_booking") == []
    assert (await load_audit(db, cast.audit_id)).state is AuditState.MODERATED


async def test_the_organiser_picks_an_option_and_everyone_hears_who_cannot_make_it(
    db: Database,
):
    cast, offer = await no_slot(db)
    pick = {**execute_data(offer.payload["card"], "uopp.pick"), "option": 1}

    stranger = await act(db, cast.practitioner, "uopp.pick", **pick)
    assert "isn't yours" in texts(stranger)
    assert (await the_meeting(db, cast.audit_id)).starts_at is None

    shown = await act(db, cast.auditor, "uopp.pick", **pick)
    assert "Booking Wed 25 Nov 2026, 09:30 to 10:30 (GMT)" in texts(shown)
    events = await count_rows(db, AuditEvent)
    again = await act(db, cast.auditor, "uopp.pick", **{**pick, "option": 2})
    assert "Booking Wed 25 Nov 2026, 09:30" in texts(again)
    assert await count_rows(db, AuditEvent) == events

    assert await tick(db) == 1
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED
    assert meeting.starts_at == utc(2026, 11, 25, 9, 30)
    [told] = await messages_to(db, cast.practitioner, "uopp_booking")
    assert "although Tina Manager cannot make it" in told.payload["text"]
    late = await act(db, cast.auditor, "uopp.pick", **pick)
    assert "Booked for Wed 25 Nov 2026, 09:30" in texts(late)


async def test_the_audit_team_extends_the_deadline_and_booking_starts_again(db: Database):
    cast, offer = await no_slot(db)
    ask = execute_data(offer.payload["card"], "uopp.ask_extension")

    no_reason = await act(db, cast.auditor, "uopp.ask_extension", **ask)
    assert "Give a reason" in texts(no_reason)
    asked = await act(db, cast.auditor, "uopp.ask_extension", **ask, reason="TM on leave")
    assert "waiting for them" in texts(asked)
    await act(db, cast.auditor, "uopp.ask_extension", **ask, reason="Again")
    [card_message] = await messages_to(db, cast.audit_team, "uopp_booking")
    card = card_message.payload["card"]
    assert "TM on leave" in texts(card)
    grant = execute_data(card, "uopp.extend")

    stranger = await act(db, cast.auditor, "uopp.extend", **grant, extend_to="2026-12-04")
    assert "Audit Team" in texts(stranger)
    too_early = await act(db, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-01")
    assert "after the current deadline" in texts(too_early)
    weekend = await act(db, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-05")
    assert "not a working day" in texts(weekend)
    granted = await act(
        db, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-04", note="Fine"
    )
    assert "Extended to Fri 4 Dec 2026" in texts(granted)
    again = await act(db, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-11")
    assert "Extended to Fri 4 Dec 2026" in texts(again)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.extended_to == utc(2026, 12, 4, 17)
    assert "TM on leave" in (meeting.extension_reason or "")
    assert (await load_audit(db, cast.audit_id)).uopp_due_at == utc(2026, 12, 4, 17)
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_extended") == 1
    [organiser_told] = [
        m for m in await messages_to(db, cast.auditor, "uopp_booking") if m.payload["text"]
    ]
    assert "Fri 4 Dec 2026" in organiser_told.payload["text"]

    assert await tick(db) == 1
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.starts_at == utc(2026, 12, 2, 9)
    stale_pick = await act(
        db, cast.auditor, "uopp.pick", **execute_data(offer.payload["card"], "uopp.pick")
    )
    assert "Booked for Wed 2 Dec 2026" in texts(stale_pick)


# --- declines ---------------------------------------------------------------------------


async def test_a_decline_rebooks_the_next_slot_and_tells_everyone(db: Database):
    cast = await moderate(db)
    await tick(db)
    calendar = LocalCalendar(db.sessions, RULES)
    clock = FixedClock(NOW + timedelta(hours=1))

    assert await check_responses(db.sessions, calendar, clock, RULES) == 0
    async with db.sessions.begin() as session:
        meeting = await the_meeting(db, cast.audit_id)
        await repo.set_attendee_response(session, meeting.id, cast.practitioner.id, "declined")
    assert await check_responses(db.sessions, calendar, clock, RULES) == 0  # read 0 min ago
    clock.advance(timedelta(minutes=RULES.uopp_response_check_minutes))

    assert await check_responses(db.sessions, calendar, clock, RULES) == 1

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED
    assert meeting.starts_at == utc(2026, 11, 25, 10)
    assert meeting.event_sequence == 1
    assert meeting.graph_event_id == f"local-auditbot-uopp-{meeting.id}-1"
    assert meeting.cancel_event_id is None
    texts_to_tm = uopp_texts(await messages_to(db, cast.team_manager, "uopp_booking"))
    assert len(texts_to_tm) == 3
    assert "Pat Practitioner cannot make the UoPP meeting" in texts_to_tm[1]
    assert "moved from Wed 25 Nov 2026, 09:00 (GMT): Pat Practitioner declined" in texts_to_tm[2]
    assert "10:00 to 11:00" in texts_to_tm[2]
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.UOPP_BOOKED
    async with db.sessions() as session:
        responses = {a.response for a in await repo.list_attendees(session, meeting.id)}
    assert responses == {None}
    assert await check_responses(db.sessions, calendar, clock, RULES) == 0


async def test_a_decline_with_no_other_time_gives_the_organiser_options(db: Database):
    cast = await moderate(db)
    await tick(db)
    await block(db, cast.team_manager, utc(2026, 11, 25, 10), utc(2026, 12, 1, 17))
    async with db.sessions.begin() as session:
        meeting = await the_meeting(db, cast.audit_id)
        await repo.set_attendee_response(session, meeting.id, cast.practitioner.id, "declined")

    calendar = LocalCalendar(db.sessions, RULES)
    await check_responses(db.sessions, calendar, FixedClock(NOW), RULES)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.NEEDS_ORGANISER
    offers = [m for m in await messages_to(db, cast.auditor, "uopp_booking") if m.payload["card"]]
    assert len(offers) == 1
    assert "09:00 to 10:00" not in texts(offers[0].payload["card"])  # the declined time


async def test_only_required_attendees_declining_count(db: Database):
    cast = await moderate(db)
    await tick(db)
    async with db.sessions.begin() as session:
        meeting = await the_meeting(db, cast.audit_id)
        for row in await repo.list_attendees(session, meeting.id):
            if row.staff_id == cast.practitioner.id:
                row.required = False
        await repo.set_attendee_response(session, meeting.id, cast.practitioner.id, "declined")

    calendar = LocalCalendar(db.sessions, RULES)
    assert await check_responses(db.sessions, calendar, FixedClock(NOW), RULES) == 0
    async with db.sessions() as session:
        booked = await session.scalar(select(Meeting.starts_at))
    assert booked == WEDNESDAY_9


# --- re-planning ------------------------------------------------------------------------

LATER = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


async def replan(db: Database, audit_id: int, grade: Grade, at: datetime = LATER) -> None:
    """As a decided dispute does: a new final grade, then the plan, in one transaction."""
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, audit_id)
        audit.final_grade = grade
        await plan_uopp_meeting(session, audit, now=at, rules=RULES)


async def test_a_decided_dispute_re_plans_the_meeting_not_yet_booked(db: Database):
    cast = await moderate(db, moderated_to=Grade.REQUIRES_IMPROVEMENT)
    [result] = await messages_to(db, cast.practitioner, "moderation")
    data = execute_data(result.payload["card"], "dispute.raise")
    await act(db, cast.practitioner, "dispute.raise", **data, reason="Too harsh")
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    stand_by = execute_data(to_moderator.payload["card"], "dispute.stand_by")
    await act(db, cast.moderator, "dispute.stand_by", **stand_by, note="It stands")
    [stood_by] = await messages_to(db, cast.practitioner, "dispute")
    escalate = execute_data(stood_by.payload["card"], "dispute.escalate")
    await act(db, cast.practitioner, "dispute.escalate", **escalate, note="Still unhappy")
    [for_hos] = await messages_to(db, cast.head_of_service, "dispute")
    decide = execute_data(for_hos.payload["card"], "dispute.decide")
    keys = ("journey_of_the_child", "needs_support_outcomes", "management_oversight")
    choice = {field_id("grade", key): Grade.GOOD.value for key in (*keys, "identity")}
    choice[field_id("grade", "multi_agency")] = Grade.GOOD.value
    choice[field_id("grade", OVERALL)] = Grade.GOOD.value
    choice[field_id("why", OVERALL)] = "Good: the plan is working"

    await act(db, cast.head_of_service, "dispute.decide", now=LATER, **decide, **choice)

    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.DECIDED and audit.final_grade is Grade.GOOD
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.PROPOSED
    # The decided grade is the auditor's again, so the moderator no longer comes.
    assert cast.moderator.id not in await invited(db, meeting.id)
    assert meeting.window_starts_at == utc(2026, 11, 26, 9)  # from the decision
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_planned") == 2
    assert await tick(db, LATER) == 1
    assert (await load_audit(db, cast.audit_id)).state is AuditState.UOPP_BOOKED


async def test_re_planning_a_booked_meeting_with_the_same_people_keeps_it(db: Database):
    cast = await moderate(db)
    await tick(db)

    await replan(db, cast.audit_id, Grade.GOOD)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED and meeting.event_sequence == 0


async def test_re_planning_a_booked_meeting_with_other_people_replaces_its_event(db: Database):
    cast = await moderate(db)
    await tick(db)
    old = (await the_meeting(db, cast.audit_id)).graph_event_id

    await replan(db, cast.audit_id, Grade.REQUIRES_IMPROVEMENT)

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.PROPOSED
    assert meeting.cancel_event_id == old and meeting.event_sequence == 1
    assert cast.moderator.id in await invited(db, meeting.id)
    assert await tick(db, LATER) == 1
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED and meeting.cancel_event_id is None
    assert meeting.graph_event_id == f"local-auditbot-uopp-{meeting.id}-1"
    [told] = await messages_to(db, cast.moderator, "uopp_booking")
    assert "Thu 26 Nov 2026, 09:00 to 10:00 (GMT)" in told.payload["text"]


# --- a dispute after booking ------------------------------------------------------------


async def test_a_grade_disputed_after_booking_stood_by_waits_for_the_same_meeting(db: Database):
    cast = await moderate(db, moderated_to=Grade.REQUIRES_IMPROVEMENT)
    await tick(db)
    booked = await the_meeting(db, cast.audit_id)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.UOPP_BOOKED
    [result] = [
        m for m in await messages_to(db, cast.practitioner, "moderation") if m.payload["card"]
    ]

    await act(
        db, cast.practitioner, "dispute.raise",
        **execute_data(result.payload["card"], "dispute.raise"), reason="Too harsh",
    )  # fmt: skip
    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    await act(
        db, cast.moderator, "dispute.stand_by",
        **execute_data(to_moderator.payload["card"], "dispute.stand_by"),
        note="The evidence shows drift",
    )  # fmt: skip

    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.UOPP_BOOKED
    meeting = await the_meeting(db, cast.audit_id)
    assert (meeting.id, meeting.state, meeting.starts_at) == (
        booked.id,
        MeetingState.BOOKED,
        booked.starts_at,
    )
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_still_booked") == 1
    assert await tick(db) == 0
    [stood_by] = await messages_to(db, cast.practitioner, "dispute")
    await act(
        db, cast.practitioner, "dispute.escalate",
        **execute_data(stood_by.payload["card"], "dispute.escalate"), note="Still unhappy",
    )  # fmt: skip
    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
