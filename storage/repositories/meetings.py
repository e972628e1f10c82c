"""UoPP meetings and their attendees, and the booker's claims on them.

A meeting is proposed (planned, not in any calendar), booking (claimed by a
booker asking the calendar), needs_organiser (no common slot: the organiser
chooses or asks for an extension), then booked. A proposed meeting with
`starts_at` set already has its time chosen (by the organiser, or by a booker
that stopped before confirming) and is created at that time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import MeetingKind, MeetingState
from storage.models import (
    Audit,
    CycleMeeting,
    CycleMeetingState,
    Meeting,
    MeetingAttendee,
    Staff,
)


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


# --- recording the meeting (dialogs.uopp_record) --------------------------------------------


async def get_meeting_for_update(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """The meeting, locked for this transaction (on PostgreSQL) and read afresh."""
    query = (
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def list_meetings_to_ask_chair(session: AsyncSession, now: datetime) -> list[int]:
    """Ids of booked meetings whose end has passed and whose chair has not been asked."""
    query = (
        select(Meeting.id)
        .where(
            Meeting.state == MeetingState.BOOKED,
            Meeting.ends_at <= now,
            Meeting.chair_asked_at.is_(None),
        )
        .order_by(Meeting.ends_at, Meeting.id)
    )
    return list((await session.scalars(query)).all())


async def claim_chair_question(session: AsyncSession, meeting_id: int, now: datetime) -> bool:
    """Mark the chair as asked, if nobody has yet: a conditional UPDATE, so of two services
    racing for the same meeting exactly one gets True (and asks)."""
    claimed = await session.execute(
        update(Meeting)
        .where(
            Meeting.id == meeting_id,
            Meeting.state == MeetingState.BOOKED,
            Meeting.chair_asked_at.is_(None),
        )
        .values(chair_asked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(claimed, "rowcount", 0) or 0) == 1


# --- booking -------------------------------------------------------------------------

# A meeting still being arranged (no event in a calendar yet, or one to replace).
ARRANGING = (MeetingState.PROPOSED, MeetingState.BOOKING, MeetingState.NEEDS_ORGANISER)
# A meeting that still stands: being arranged, or booked.
LIVE = (*ARRANGING, MeetingState.BOOKED)


async def live_meeting(session: AsyncSession, audit_id: int, kind: MeetingKind) -> Meeting | None:
    """The audit's meeting of this kind that is being arranged or booked, locked (PostgreSQL)."""
    query = (
        select(Meeting)
        .where(Meeting.audit_id == audit_id, Meeting.kind == kind, Meeting.state.in_(LIVE))
        .order_by(Meeting.id.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def replace_attendees(
    session: AsyncSession, meeting_id: int, attendees: Iterable[tuple[int, bool]]
) -> None:
    """Make the invitees exactly `attendees` ((staff_id, required) pairs), keeping the
    responses of people still invited."""
    wanted = dict(attendees)
    for row in await list_attendees(session, meeting_id):
        if row.staff_id in wanted:
            row.required = wanted.pop(row.staff_id)
        else:
            await session.delete(row)
    session.add_all(
        MeetingAttendee(meeting_id=meeting_id, staff_id=staff_id, required=required)
        for staff_id, required in wanted.items()
    )
    await session.flush()


def _bookable(now: datetime, booking_states: Collection[str]) -> Any:
    """Meetings waiting to be booked whose retry time (if any) has come, and whose audit is
    where booking makes sense: a first UoPP once the grade stands, a second UoPP any time."""
    ready = or_(
        and_(Meeting.kind == MeetingKind.UOPP, Audit.state.in_(list(booking_states))),
        Meeting.kind == MeetingKind.SECOND_UOPP,
    )
    return and_(
        Meeting.state == MeetingState.PROPOSED,
        Meeting.window_starts_at.is_not(None),
        Meeting.window_ends_at.is_not(None),
        or_(Meeting.next_attempt_at.is_(None), Meeting.next_attempt_at <= now),
        ready,
    )


async def claim_meetings_to_book(
    session: AsyncSession,
    now: datetime,
    booking_states: Collection[str],
    limit: int = 20,
) -> list[Meeting]:
    """Claim up to `limit` proposed meetings due an attempt, oldest first (state booking).

    As the outbox does: on PostgreSQL rows another booker has locked are skipped (SKIP
    LOCKED); on both databases the claim is a conditional UPDATE, so no meeting is claimed
    twice. Commit before asking any calendar.
    """
    query = (
        select(Meeting.id)
        .join(Audit, Audit.id == Meeting.audit_id)
        .where(_bookable(now, booking_states))
        .order_by(Meeting.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Meeting)
    )
    ids = list((await session.scalars(query)).all())
    if not ids:
        return []
    claim = (
        update(Meeting)
        .where(Meeting.id.in_(ids), Meeting.state == MeetingState.PROPOSED)
        .values(state=MeetingState.BOOKING, claimed_at=now)
        .returning(Meeting)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return sorted((await session.scalars(claim)).all(), key=lambda m: m.id)


async def release_stale_booking_claims(session: AsyncSession, before: datetime) -> int:
    """Give claims older than `before` back (a booker that died mid-way): the meeting is
    proposed again, keeping any time already chosen so the same event is created."""
    result = await session.execute(
        update(Meeting)
        .where(Meeting.state == MeetingState.BOOKING, Meeting.claimed_at < before)
        .values(state=MeetingState.PROPOSED, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get_claimed_meeting(
    session: AsyncSession, meeting_id: int, claimed_at: datetime
) -> Meeting | None:
    """The meeting, locked, if it is still under the claim made at `claimed_at`."""
    meeting = await get_meeting_for_update(session, meeting_id)
    if meeting is None or meeting.state is not MeetingState.BOOKING:
        return None
    if meeting.claimed_at != claimed_at:
        return None
    return meeting


async def list_booked_meetings_to_check(
    session: AsyncSession, now: datetime, checked_before: datetime, limit: int = 100
) -> list[Meeting]:
    """Booked meetings that have not started and whose answers were not read since
    `checked_before`; never-read first, then the longest unread, so every meeting gets
    its turn however many there are."""
    query = (
        select(Meeting)
        .where(
            Meeting.state == MeetingState.BOOKED,
            Meeting.starts_at > now,
            or_(
                Meeting.responses_checked_at.is_(None),
                Meeting.responses_checked_at <= checked_before,
            ),
        )
        .order_by(
            Meeting.responses_checked_at.is_not(None), Meeting.responses_checked_at, Meeting.id
        )
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def list_meetings_to_cancel(session: AsyncSession, limit: int = 100) -> list[Meeting]:
    """Meetings whose replaced event is still to be cancelled in the calendar."""
    query = (
        select(Meeting)
        .where(Meeting.cancel_event_id.is_not(None))
        .order_by(Meeting.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def forget_cancelled_event(session: AsyncSession, meeting_id: int, event_id: str) -> None:
    """The replaced event is cancelled: stop trying (only if it is still the one to cancel)."""
    await session.execute(
        update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.cancel_event_id == event_id)
        .values(cancel_event_id=None)
        .execution_options(synchronize_session=False)
    )


async def busy_times_by_email(
    session: AsyncSession, emails: Collection[str], start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """(email, start, end) of every meeting auditbot holds for these people overlapping
    [start, end): UoPP meetings booked or with a time chosen but not yet confirmed, and the
    cycles' booked meetings (a moderation group's, a panel's)."""
    lowered = [email.lower() for email in emails]
    if not lowered:
        return []
    query = (
        select(Staff.email, Meeting.starts_at, Meeting.ends_at)
        .join(MeetingAttendee, MeetingAttendee.staff_id == Staff.id)
        .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(
            func.lower(Staff.email).in_(lowered),
            Meeting.state.in_(LIVE),
            Meeting.starts_at.is_not(None),
            Meeting.starts_at < end,
            Meeting.ends_at > start,
        )
        .order_by(Meeting.starts_at)
    )
    rows = (await session.execute(query)).all()
    found = [(email, a, b) for email, a, b in rows if a is not None and b is not None]
    found += await _cycle_meetings_busy(session, lowered, start, end)
    return sorted(found, key=lambda row: row[1])


async def _cycle_meetings_busy(
    session: AsyncSession, lowered: list[str], start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """A cycle's meetings hold their attendees by id (a handful of meetings, each a list)."""
    meetings = (
        await session.scalars(
            select(CycleMeeting).where(
                CycleMeeting.state == CycleMeetingState.BOOKED,
                CycleMeeting.starts_at < end,
                CycleMeeting.ends_at > start,
            )
        )
    ).all()
    ids = {int(i) for meeting in meetings for i in meeting.attendee_ids}
    if not ids:
        return []
    emails = dict(
        (
            await session.execute(
                select(Staff.id, Staff.email).where(
                    Staff.id.in_(ids), func.lower(Staff.email).in_(lowered)
                )
            )
        ).all()
    )
    return [
        (emails[int(i)], meeting.starts_at, meeting.ends_at)
        for meeting in meetings
        for i in meeting.attendee_ids
        if int(i) in emails and meeting.starts_at is not None and meeting.ends_at is not None
    ]


async def responses_for_event(session: AsyncSession, event_id: str) -> dict[str, str]:
    """Each invitee's recorded response to the meeting holding `event_id`, by email."""
    query = (
        select(Staff.email, MeetingAttendee.response)
        .join(MeetingAttendee, MeetingAttendee.staff_id == Staff.id)
        .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(Meeting.graph_event_id == event_id)
        .order_by(Staff.id)
    )
    return {email: response or "none" for email, response in (await session.execute(query)).all()}
