"""UoPP meetings and their attendees."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import MeetingKind, MeetingState
from storage.models import Meeting, MeetingAttendee


async def add_meeting(
    session: AsyncSession,
    audit_id: int,
    kind: MeetingKind,
    organiser_id: int,
    attendees: Iterable[tuple[int, bool]] = (),
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Meeting:
    """A proposed meeting; attendees are (staff_id, required) pairs."""
    meeting = Meeting(
        audit_id=audit_id,
        kind=kind,
        organiser_id=organiser_id,
        starts_at=starts_at,
        ends_at=ends_at,
        state=MeetingState.PROPOSED,
    )
    session.add(meeting)
    await session.flush()
    session.add_all(
        MeetingAttendee(meeting_id=meeting.id, staff_id=staff_id, required=required)
        for staff_id, required in attendees
    )
    await session.flush()
    return meeting


async def get_meeting(session: AsyncSession, meeting_id: int) -> Meeting | None:
    return await session.get(Meeting, meeting_id)


async def get_meeting_by_graph_event_id(session: AsyncSession, event_id: str) -> Meeting | None:
    return await session.scalar(select(Meeting).where(Meeting.graph_event_id == event_id))


async def list_meetings(session: AsyncSession, audit_id: int) -> list[Meeting]:
    query = select(Meeting).where(Meeting.audit_id == audit_id).order_by(Meeting.id)
    return list((await session.scalars(query)).all())


async def list_attendees(session: AsyncSession, meeting_id: int) -> list[MeetingAttendee]:
    query = (
        select(MeetingAttendee)
        .where(MeetingAttendee.meeting_id == meeting_id)
        .order_by(MeetingAttendee.staff_id)
    )
    return list((await session.scalars(query)).all())


async def set_attendee_response(
    session: AsyncSession, meeting_id: int, staff_id: int, response: str
) -> bool:
    """Record Graph's response status for an invitee; False if they were not invited."""
    attendee = await session.scalar(
        select(MeetingAttendee).where(
            MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.staff_id == staff_id
        )
    )
    if attendee is None:
        return False
    attendee.response = response
    await session.flush()
    return True
