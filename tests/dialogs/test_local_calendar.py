"""auditbot's own calendar: busy times from the meetings it holds, the programme's hours,
creation that gives the same id twice, and responses people told auditbot."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from dialogs.calendar_port import NewEvent
from dialogs.local_calendar import LocalCalendar
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import CycleMeeting, CycleMeetingKind, CycleMeetingState, Staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import RULES, cast_in
from workflow.states import AuditState

WEDNESDAY = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return WEDNESDAY + timedelta(hours=hour, minutes=minute)


async def meeting_for(
    db: Database,
    audit_id: int,
    people: list[Staff],
    start: datetime,
    state: MeetingState = MeetingState.BOOKED,
    event_id: str | None = None,
) -> int:
    async with db.sessions.begin() as session:
        meeting = await repo.add_meeting(
            session, audit_id, MeetingKind.UOPP, people[0].id, [(p.id, True) for p in people]
        )
        meeting.state = state
        meeting.starts_at, meeting.ends_at = start, start + timedelta(hours=1)
        meeting.graph_event_id = event_id
        return meeting.id


async def test_busy_times_are_the_meetings_it_holds_for_each_person(db: Database):
    cast = await cast_in(db, state=AuditState.UOPP_BOOKED)
    await meeting_for(db, cast.audit_id, [cast.auditor, cast.practitioner], at(10))
    await meeting_for(db, cast.audit_id, [cast.auditor], at(14), MeetingState.PROPOSED)
    await meeting_for(db, cast.audit_id, [cast.practitioner], at(12), MeetingState.CANCELLED)
    await meeting_for(db, cast.audit_id, [cast.practitioner], at(9) + timedelta(days=3))
    calendar = LocalCalendar(db.sessions, RULES)
    auditor, practitioner = cast.auditor.email.upper(), cast.practitioner.email

    found = await calendar.schedules(
        auditor, (auditor, practitioner, "nobody@council.example"), at(0), at(24)
    )

    assert set(found) == {auditor, practitioner, "nobody@council.example"}
    assert [(b.start, b.end) for b in found[auditor].busy] == [
        (at(10), at(11)),
        (at(14), at(15)),  # a time chosen, not yet confirmed, is held too
    ]
    assert [(b.start, b.end) for b in found[practitioner].busy] == [(at(10), at(11))]
    assert found["nobody@council.example"].busy == ()
    hours = found[practitioner].working_hours
    assert hours is not None
    assert (hours.start, hours.end, hours.time_zone) == (time(9), time(17), "Europe/London")
    assert hours.days == frozenset({1, 2, 3, 4, 5})


async def test_creating_the_same_event_twice_gives_the_same_id_and_no_link(db: Database):
    calendar = LocalCalendar(db.sessions, RULES)
    event = NewEvent("a@x", ("b@x",), "UoPP meeting: case C-1", "", at(9), at(10), "t-17-0")

    first, again = await calendar.create_event(event), await calendar.create_event(event)

    assert first == again
    assert first.event_id == "local-t-17-0" and first.join_url is None
    assert calendar.name == "local"


async def test_responses_are_what_attendees_told_auditbot(db: Database):
    cast = await cast_in(db, state=AuditState.UOPP_BOOKED)
    meeting_id = await meeting_for(
        db, cast.audit_id, [cast.auditor, cast.practitioner], at(10), event_id="local-t-1-0"
    )
    async with db.sessions.begin() as session:
        await repo.set_attendee_response(session, meeting_id, cast.practitioner.id, "declined")
    calendar = LocalCalendar(db.sessions, RULES)

    answers = await calendar.responses(cast.auditor.email, "local-t-1-0")

    assert answers == {cast.auditor.email: "none", cast.practitioner.email: "declined"}
    assert await calendar.responses(cast.auditor.email, "local-unknown") == {}
    await calendar.cancel(cast.auditor.email, "local-t-1-0")  # nothing to do, and no error


async def test_a_cycles_booked_meetings_hold_their_attendees_too(db: Database):
    """A moderation group's or panel's meeting is busy time for the UoPP meetings after it."""
    cast = await cast_in(db, state=AuditState.UOPP_BOOKED)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        for kind, state, hour in (
            (CycleMeetingKind.MODERATION_GROUP, CycleMeetingState.BOOKED, 13),
            (CycleMeetingKind.PANEL, CycleMeetingState.PROPOSED, 15),  # no time yet
        ):
            session.add(
                CycleMeeting(
                    cycle_id=audit.cycle_id, kind=kind, state=state,
                    organiser_id=cast.moderator.id,
                    attendee_ids=[cast.moderator.id, cast.practitioner.id],
                    length_minutes=90, window_starts_at=at(9), window_ends_at=at(17),
                    starts_at=at(hour), ends_at=at(hour, 90),
                )
            )  # fmt: skip
    await meeting_for(db, cast.audit_id, [cast.practitioner], at(10))
    calendar = LocalCalendar(db.sessions, RULES)
    practitioner, auditor = cast.practitioner.email, cast.auditor.email

    found = await calendar.schedules(auditor, (practitioner, auditor), at(0), at(24))

    assert [(b.start, b.end) for b in found[practitioner].busy] == [
        (at(10), at(11)),
        (at(13), at(14, 30)),
    ]
    assert found[auditor].busy == ()
    later = await calendar.schedules(auditor, (practitioner,), at(14, 30), at(24))
    assert later[practitioner].busy == ()
