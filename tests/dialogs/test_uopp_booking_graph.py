"""The same booking flows against Microsoft Graph: GraphCalendar on the real msgraph-sdk and
azure-identity, talking to the local Graph stand-in over HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.graph import GraphCalendar
from dialogs.uopp_booking import _choose, _job, _new_event, book_due_meetings
from dialogs.uopp_planning import BOOKING_STATES
from dialogs.uopp_responses import check_responses
from storage import repositories as repo
from storage.enums import MeetingState
from storage.models import AuditEvent
from tests.conftest import Database
from tests.dialogs.conftest import RecordedWaits
from tests.dialogs.test_moderation_setup import (
    NOW,
    RULES,
    Cast,
    act,
    count_rows,
    execute_data,
    load_audit,
    messages_to,
    texts,
)
from tests.dialogs.test_uopp_booking import WEDNESDAY_9, moderate, the_meeting, utc
from tests.standins.graph import GraphStandIn
from workflow.availability import Slot
from workflow.calendar import FixedClock
from workflow.states import AuditState


def mailboxes(graph: GraphStandIn, cast: Cast) -> None:
    for person in (cast.auditor, cast.practitioner, cast.team_manager, cast.moderator):
        graph.add_person(person.email)


async def tick(db: Database, calendar: GraphCalendar, at: datetime = NOW, rules=RULES) -> int:
    return await book_due_meetings(db.sessions, calendar, FixedClock(at), rules)


def event_of(graph: GraphStandIn) -> dict[str, Any]:
    [event] = graph.events.values()
    return event


def attendee_emails(event: dict[str, Any]) -> set[str]:
    return {a["emailAddress"]["address"].lower() for a in event["attendees"]}


async def test_books_the_earliest_common_slot_in_the_organiser_s_calendar(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    graph.add_busy(cast.team_manager.email, WEDNESDAY_9, utc(2026, 11, 25, 11))
    graph.add_person(cast.practitioner.email, time_zone="Eastern Standard Time", start=time(8))

    assert await tick(db, calendar) == 1

    assert graph.calls["getSchedule"] == 1
    assert graph.calls["createEvent"] == 1
    meeting = await the_meeting(db, cast.audit_id)
    # 08:00 in New York is 13:00 in London: the practitioner's own hours decide.
    assert meeting.starts_at == utc(2026, 11, 25, 13)
    assert meeting.calendar == "graph"
    event = event_of(graph)
    assert meeting.graph_event_id == event["id"]
    assert event["transactionId"] == f"auditbot-uopp-{meeting.id}-0"
    assert event["isOnlineMeeting"] is True
    assert cast.case_ref in event["subject"] and "Pat" not in event["body"]["content"]
    assert attendee_emails(event) == {cast.team_manager.email, cast.practitioner.email}
    join = meeting.join_url
    assert join and join.startswith("https://")
    [told] = await messages_to(db, cast.practitioner, "uopp_booking")
    assert join in told.payload["text"]
    assert "Wed 25 Nov 2026, 08:00 to 09:00 (EST)" in told.payload["text"]
    [told_tm] = await messages_to(db, cast.team_manager, "uopp_booking")
    assert "Wed 25 Nov 2026, 13:00 to 14:00 (GMT)" in told_tm.payload["text"]
    assert (await load_audit(db, cast.audit_id)).state is AuditState.UOPP_BOOKED


async def test_throttled_then_booked(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar, waits: RecordedWaits
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    graph.throttle_next(2, retry_after=3)

    assert await tick(db, calendar) == 1

    assert waits == [3, 3]
    assert len(graph.events) == 1
    assert (await the_meeting(db, cast.audit_id)).state is MeetingState.BOOKED
    assert await messages_to(db, cast.audit_team, "uopp_booking") == []


async def test_graph_down_is_reported_once_nothing_is_booked_and_it_is_tried_again_later(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    graph.fail_next(503, 503, 503)

    assert await tick(db, calendar) == 0

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.PROPOSED
    assert meeting.starts_at is None and meeting.graph_event_id is None
    assert meeting.booking_attempts == 1
    assert "503" in (meeting.last_error or "")
    assert graph.events == {}
    assert (await load_audit(db, cast.audit_id)).state is AuditState.MODERATED
    [report] = await messages_to(db, cast.audit_team, "uopp_booking")
    assert cast.case_ref in report.payload["text"] and "503" in report.payload["text"]
    assert await messages_to(db, cast.practitioner, "uopp_booking") == []

    calls = graph.graph_calls
    assert await tick(db, calendar, NOW + timedelta(minutes=1)) == 0
    assert graph.graph_calls == calls  # not before its retry time

    graph.fail_next(503, 503, 503)
    assert await tick(db, calendar, NOW + timedelta(minutes=6)) == 0
    assert await tick(db, calendar, NOW + timedelta(minutes=17)) == 1
    assert len(await messages_to(db, cast.audit_team, "uopp_booking")) == 1
    assert len(graph.events) == 1
    assert await count_rows(db, AuditEvent, AuditEvent.action == "uopp_booking_failed") == 2


async def test_after_too_many_failures_the_audit_team_is_asked_and_can_reopen_booking(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    rules = RULES.with_overrides({"uopp_booking_max_attempts": 1})
    graph.fail_next(503, 503, 503)

    assert await tick(db, calendar, rules=rules) == 0

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.NEEDS_ORGANISER
    cards = [m for m in await messages_to(db, cast.audit_team, "uopp_booking") if m.payload["card"]]
    [extension] = cards
    assert "503" in texts(extension.payload["card"])
    grant = execute_data(extension.payload["card"], "uopp.extend")
    await act(db, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-02")
    assert await tick(db, calendar, NOW + timedelta(minutes=1), rules=rules) == 1


async def test_a_crash_between_creating_and_committing_books_the_event_once(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    async with db.sessions.begin() as session:
        [claimed] = await repo.claim_meetings_to_book(session, NOW, BOOKING_STATES)
        job = await _job(session, claimed, RULES)
    slot = Slot(WEDNESDAY_9, WEDNESDAY_9 + timedelta(hours=1))
    assert await _choose(db.sessions, job, slot)
    first = await calendar.create_event(_new_event(job, slot))
    # ...and the booker dies here, before its commit.

    assert await tick(db, calendar, NOW + timedelta(minutes=5)) == 0  # still claimed
    assert await tick(db, calendar, NOW + timedelta(minutes=16)) == 1

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.graph_event_id == first.event_id
    assert meeting.starts_at == WEDNESDAY_9
    assert len(graph.events) == 1
    assert graph.calls["createEvent"] == 2


async def test_a_decline_in_outlook_rebooks_and_cancels_the_old_event(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    cast = await moderate(db)
    mailboxes(graph, cast)
    await tick(db, calendar)
    old = (await the_meeting(db, cast.audit_id)).graph_event_id
    assert old is not None
    clock = FixedClock(NOW + timedelta(hours=2))

    assert await check_responses(db.sessions, calendar, clock, RULES) == 0
    graph.set_response(old, cast.practitioner.email, "declined")
    reads = graph.calls["getEvent"]
    assert await check_responses(db.sessions, calendar, clock, RULES) == 0
    assert graph.calls["getEvent"] == reads  # read a moment ago: Graph is not asked again
    clock.advance(timedelta(minutes=RULES.uopp_response_check_minutes))
    assert await check_responses(db.sessions, calendar, clock, RULES) == 1

    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED
    assert meeting.graph_event_id != old and old not in graph.events
    assert meeting.starts_at == utc(2026, 11, 25, 10)
    assert meeting.cancel_event_id is None
    assert event_of(graph)["transactionId"] == f"auditbot-uopp-{meeting.id}-1"
    assert graph.calls["deleteEvent"] == 1
    [*_, moved] = await messages_to(db, cast.team_manager, "uopp_booking")
    assert "Pat Practitioner declined" in moved.payload["text"]
