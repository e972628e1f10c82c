"""Who declined a booked UoPP meeting, and rebooking when a required attendee did.

`check_responses` is a scheduler tick, `async def f(sessions, calendar, clock,
rules) -> int`. Responses are asked outside any transaction; a required
attendee's decline is recorded with the meeting put back to proposed (the
declined time to be avoided, the old event to be cancelled, a new event
number for the next creation) in one transaction, with everyone told it is
being rearranged; then the booker books the next time, or offers the organiser
options.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from dialogs.calendar_port import Calendar, CalendarUnavailable
from dialogs.notify import tell
from dialogs.uopp_booking import (
    MEETING_FIELDS,
    Sessions,
    book_due_meetings,
    cancel_replaced_events,
)
from storage import repositories as repo
from storage.enums import MeetingState
from storage.models import Staff
from storage.repositories.meetings import get_meeting_for_update
from workflow.calendar import Clock
from workflow.rules import ProgrammeRules

log = logging.getLogger(__name__)


async def check_responses(
    sessions: Sessions, calendar: Calendar, clock: Clock, rules: ProgrammeRules
) -> int:
    """Ask who declined each booked meeting that has not started; when a required attendee
    declined, re-open booking away from that time (booked again at once, or the organiser
    gets the options card). Returns how many meetings were re-opened."""
    now = clock.now()
    await cancel_replaced_events(sessions, calendar)
    async with sessions() as session:
        checked_before = now - timedelta(minutes=rules.uopp_response_check_minutes)
        meetings = await repo.list_booked_meetings_to_check(session, now, checked_before)
        checks = []
        for meeting in meetings:
            attendees = await repo.list_attendees(session, meeting.id)
            people = await repo.staff_by_ids(
                session, {meeting.organiser_id, *(a.staff_id for a in attendees)}
            )
            checks.append((meeting.id, meeting.graph_event_id, people, attendees, meeting))
    reopened = 0
    for meeting_id, event_id, people, attendees, meeting in checks:
        if event_id is None or meeting.calendar not in (None, calendar.name):
            continue  # booked in another calendar (e.g. the demo's, before Graph was set up)
        organiser = people[meeting.organiser_id].email
        try:
            answers = await calendar.responses(organiser, event_id)
        except CalendarUnavailable:
            log.warning("UoPP meeting %s: responses unavailable", meeting_id)
            continue
        by_email = {k.lower(): v for k, v in answers.items()}
        responses = {a.staff_id: by_email.get(people[a.staff_id].email.lower()) for a in attendees}
        if await _record_responses(sessions, meeting_id, event_id, responses, people, now):
            reopened += 1
            await cancel_replaced_events(sessions, calendar)
    if reopened:
        await book_due_meetings(sessions, calendar, clock, rules)
    return reopened


async def _record_responses(
    sessions: Sessions,
    meeting_id: int,
    event_id: str,
    responses: dict[int, str | None],
    people: dict[int, Staff],
    now: datetime,
) -> bool:
    """Save the responses; on a required attendee's decline re-open booking. True if so."""
    async with sessions.begin() as session:
        meeting = await get_meeting_for_update(session, meeting_id)
        if meeting is None or meeting.state is not MeetingState.BOOKED:
            return False
        if meeting.graph_event_id != event_id:
            return False
        meeting.responses_checked_at = now
        attendees = await repo.list_attendees(session, meeting_id)
        for attendee in attendees:
            answer = responses.get(attendee.staff_id)
            if answer and answer != attendee.response:
                attendee.response = answer
        declined = [
            a.staff_id
            for a in attendees
            if a.required and a.response == "declined" and a.staff_id != meeting.organiser_id
        ]
        if not declined:
            return False
        audit = await repo.get_audit(session, meeting.audit_id)
        assert audit is not None and meeting.starts_at is not None and meeting.ends_at is not None
        before = repo.snapshot(meeting, MEETING_FIELDS)
        old = [meeting.starts_at.isoformat(), meeting.ends_at.isoformat()]
        meeting.avoid_slots = [*(meeting.avoid_slots or []), old]
        meeting.cancel_event_id = meeting.graph_event_id
        meeting.graph_event_id = meeting.join_url = None
        meeting.starts_at = meeting.ends_at = None
        meeting.state = MeetingState.PROPOSED
        meeting.event_sequence += 1
        meeting.next_attempt_at = meeting.claimed_at = None
        after = {**repo.snapshot(meeting, MEETING_FIELDS), "declined_by": declined}
        await repo.record_event(
            session, "system", "audit", audit.id, "uopp_declined", before, after, at=now
        )
        case = await repo.get_case(session, audit.case_id)
        names = ", ".join(people[p].display_name for p in declined if p in people)
        for attendee in attendees:
            await tell(
                session,
                attendee.staff_id,
                "uopp_booking",
                f"uopp:meeting:{meeting.id}:declined:{meeting.event_sequence}",
                summary=f"The UoPP meeting for case {case.case_ref} is being rearranged",
                text=f"{names} cannot make the UoPP meeting for case {case.case_ref}, so it is "
                "being rearranged. You will hear the new time.",
            )
    return True
