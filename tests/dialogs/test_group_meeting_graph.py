"""A cycle's moderation group meeting booked through Microsoft Graph: GraphCalendar on the
real msgraph-sdk against the local Graph stand-in, throttling and outages included. The
meeting is booked once, in everyone's calendar with its Teams link; a Graph that fails
leaves it proposed, is not asked again before the retry time, tells the Audit Team once
after the programme's number of attempts, and books it once when Graph is back."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.demo import _load_programme
from bot.graph import GraphCalendar
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.group_meeting import book_group_meetings
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import CycleMeeting, CycleMeetingState, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to, texts
from tests.standins.graph import GraphStandIn
from workflow.calendar import FixedClock, SystemClock
from workflow.rules import ProgrammeRules

RULES = ProgrammeRules()


async def group_cycle(db: Database, graph: GraphStandIn) -> tuple[CycleMeeting, dict[int, Staff]]:
    """A CSC cycle under Tower Hamlets CSC's programme, its group meeting proposed, and a
    mailbox in Graph for each of the meeting's people."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await _load_programme(session, "th-qaf-csc-yjs")
        await open_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2026, 12, 1), seed=3, total=2, kloes=KLOES),
            rules=RULES,
            now=SystemClock().now(),
        )
        meeting = await session.scalar(select(CycleMeeting))
        assert meeting is not None and meeting.state is CycleMeetingState.PROPOSED
        people = await repo.staff_by_ids(session, set(meeting.attendee_ids))
    for someone in people.values():
        graph.add_person(someone.email)
    return meeting, people


async def meeting_now(db: Database) -> CycleMeeting:
    async with db.sessions() as session:
        meeting = await session.scalar(select(CycleMeeting))
        assert meeting is not None
        return meeting


async def book(db: Database, calendar: GraphCalendar, at: datetime, rules=RULES) -> int:
    return await book_group_meetings(db.sessions, calendar, FixedClock(at), rules)


async def test_the_group_meeting_is_booked_once_in_everyones_calendar_with_its_teams_link(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    planned, people = await group_cycle(db, graph)
    now = SystemClock().now()
    graph.throttle_next(1, retry_after=2)  # Graph's 429 is waited out, not reported

    assert await book(db, calendar, now) == 1
    assert await book(db, calendar, now + timedelta(hours=1)) == 0

    [event] = graph.events.values()
    meeting = await meeting_now(db)
    assert meeting.state is CycleMeetingState.BOOKED and meeting.calendar == "graph"
    assert meeting.event_id and meeting.join_url
    assert event["subject"].startswith("Moderation group: ")
    organiser = people[meeting.organiser_id]
    invited = {a["emailAddress"]["address"] for a in event["attendees"]}
    assert invited == {p.email for i, p in people.items() if i != organiser.id}
    assert planned.window_starts_at <= meeting.starts_at
    assert meeting.ends_at <= planned.window_ends_at
    for someone in people.values():
        [told] = await messages_to(db, someone, "moderation_group_meeting")
        assert meeting.join_url in texts(told.payload["card"])


async def test_graph_failing_leaves_it_proposed_tells_the_audit_team_once_and_books_it_later(
    db: Database, graph: GraphStandIn, calendar: GraphCalendar
):
    await group_cycle(db, graph)
    rules = RULES.with_overrides({"uopp_booking_max_attempts": 2})
    now = SystemClock().now()
    audit_team = await person(db, AUDIT_TEAM)

    graph.fail_next(*[503] * 3)
    assert await book(db, calendar, now, rules) == 0
    meeting = await meeting_now(db)
    assert meeting.state is CycleMeetingState.PROPOSED and meeting.attempts == 1
    assert "503" in (meeting.last_error or "")
    assert graph.events == {}
    assert not await messages_to(db, audit_team, "moderation_group_meeting")

    calls = graph.graph_calls
    assert await book(db, calendar, now + timedelta(minutes=1), rules) == 0
    assert graph.graph_calls == calls  # not before its retry time

    graph.fail_next(*[503] * 3)
    assert await book(db, calendar, now + timedelta(minutes=6), rules) == 0
    [failing] = await messages_to(db, audit_team, "moderation_group_meeting")
    card = texts(failing.payload["card"])
    assert "Moderation group: the meeting could not be booked" in card
    assert "I have tried 2 times to book it" in card and "503" in card

    graph.fail_next(*[503] * 3)
    assert await book(db, calendar, now + timedelta(minutes=12), rules) == 0
    assert len(await messages_to(db, audit_team, "moderation_group_meeting")) == 1  # once

    assert await book(db, calendar, now + timedelta(minutes=18), rules) == 1
    assert len(graph.events) == 1
    assert (await meeting_now(db)).state is CycleMeetingState.BOOKED
