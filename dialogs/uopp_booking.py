"""The UoPP booker: finds a time, books it in the calendar, tells everyone.

Two ticks for the scheduler, each `async def f(sessions, calendar, clock, rules) -> int`:

- `book_due_meetings` claims proposed meetings (a conditional UPDATE, SKIP
  LOCKED on PostgreSQL), asks the calendar for everyone's schedule in one
  request with no transaction open, and then, in one transaction, marks the
  meeting booked, moves the audit to UOPP_BOOKED, writes the audit trail and
  tells every attendee. With no common slot the organiser gets the three
  best options; a calendar that fails leaves the meeting proposed, records
  why, tells the Audit Team once and tries again later (a bounded number of
  times, then asks the Audit Team).
- `check_responses` (in `dialogs.uopp_responses`) asks the calendar who has
  declined a booked meeting; a required attendee's decline re-opens booking
  away from that time.

Crash safety: the chosen time is saved under the claim before the event is
created, and the event's transactionId is the meeting id and its event
number, so a booker that dies between creating and committing makes the same
event again (Graph returns the first) instead of a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.calendar_port import BookedEvent, Calendar, CalendarUnavailable, NewEvent
from dialogs.notify import tell
from dialogs.programmes import audit_rules
from dialogs.uopp_options import offer_options, tell_audit_team_to_extend
from dialogs.uopp_planning import BOOKING_STATES, meeting_plan
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import Audit, Meeting, Staff
from workflow.availability import Schedule, Slot
from workflow.calendar import Clock, WorkingCalendar
from workflow.roles import Party
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, transition
from workflow.uopp import (
    MeetingPlan,
    best_options,
    earliest_slot,
    hours_of,
    programme_hours,
    schedule_span,
)

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]
# A claim older than this belongs to a booker that stopped; the meeting is proposed again.
STALE_CLAIM = timedelta(minutes=15)
CLAIMS_PER_TICK = 20
MEETING_FIELDS = ("state", "starts_at", "ends_at", "graph_event_id", "calendar", "event_sequence")


@dataclass(frozen=True)
class Job:
    """What booking one claimed meeting needs, read in the claim's transaction."""

    meeting_id: int
    claimed_at: datetime
    audit_id: int
    case_ref: str
    plan: MeetingPlan
    people: dict[int, Staff]
    chosen: Slot | None  # a time already chosen (the organiser's pick, or a crash)
    avoid: tuple[tuple[datetime, datetime], ...]
    event_sequence: int
    rules: ProgrammeRules

    @property
    def organiser_email(self) -> str:
        return self.people[self.plan.organiser_id].email

    @property
    def transaction_id(self) -> str:
        return f"auditbot-uopp-{self.meeting_id}-{self.event_sequence}"


async def book_due_meetings(
    sessions: Sessions, calendar: Calendar, clock: Clock, rules: ProgrammeRules
) -> int:
    """Book every proposed meeting that is due an attempt; returns how many were booked."""
    now = clock.now()
    await cancel_replaced_events(sessions, calendar)
    async with sessions.begin() as session:
        released = await repo.release_stale_booking_claims(session, now - STALE_CLAIM)
        if released:
            log.warning("released %s stale UoPP booking claims", released)
        claimed = await repo.claim_meetings_to_book(
            session, now, BOOKING_STATES, limit=CLAIMS_PER_TICK
        )
        jobs = [await _job(session, meeting, rules) for meeting in claimed]
    booked = 0
    for job in jobs:
        try:
            booked += await _book(sessions, calendar, clock, job)
        except Exception:
            log.exception("booking UoPP meeting %s failed", job.meeting_id)
            await _release(sessions, job, clock.now())
    return booked


async def _job(session: AsyncSession, meeting: Meeting, rules: ProgrammeRules) -> Job:
    audit = await repo.get_audit(session, meeting.audit_id)
    assert audit is not None
    case = await repo.get_case(session, audit.case_id)
    plan = await meeting_plan(session, meeting)
    people = await repo.staff_by_ids(
        session, {plan.organiser_id, plan.chair_id, *(a.staff_id for a in plan.attendees)}
    )
    chosen = None
    if meeting.starts_at is not None and meeting.ends_at is not None:
        chosen = Slot(meeting.starts_at, meeting.ends_at, tuple(meeting.clash_ids or ()))
    avoid = tuple(
        (datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in meeting.avoid_slots or ()
    )
    return Job(
        meeting_id=meeting.id,
        claimed_at=meeting.claimed_at or datetime.min,
        audit_id=audit.id,
        case_ref=case.case_ref,
        plan=plan,
        people=people,
        chosen=chosen,
        avoid=avoid,
        event_sequence=meeting.event_sequence,
        rules=await audit_rules(session, audit, rules),
    )


async def _book(sessions: Sessions, calendar: Calendar, clock: Clock, job: Job) -> int:
    working = WorkingCalendar.from_rules(job.rules)
    zones: dict[int, str] = {}
    slot = job.chosen
    if slot is None:
        try:
            schedules = await _schedules(calendar, job, clock.now())
        except CalendarUnavailable as error:
            await _calendar_failed(sessions, job, str(error), clock.now())
            return 0
        default = programme_hours(working)
        zones = {person: hours_of(s, default).time_zone for person, s in schedules.items()}
        found = earliest_slot(
            job.plan,
            schedules,
            working,
            step_minutes=job.rules.uopp_slot_step_minutes,
            not_before=clock.now(),
            avoid=job.avoid,
        )
        if found is None:
            options = best_options(
                job.plan,
                schedules,
                working,
                3,
                step_minutes=job.rules.uopp_slot_step_minutes,
                not_before=clock.now(),
                avoid=job.avoid,
            )
            await _no_common_slot(sessions, job, options, clock.now())
            return 0
        if not await _choose(sessions, job, found):
            return 0
        slot = found
    try:
        event = await calendar.create_event(_new_event(job, slot))
    except CalendarUnavailable as error:
        await _calendar_failed(sessions, job, str(error), clock.now())
        return 0
    outcome = await _confirm(sessions, calendar, job, slot, event, zones, clock.now())
    if outcome == "lost":
        await _cancel_quietly(calendar, job.organiser_email, event.event_id)
    return 1 if outcome == "booked" else 0


async def _schedules(calendar: Calendar, job: Job, now: datetime) -> dict[int, Schedule]:
    """Everyone's schedule in one request, keyed by staff id."""
    start, end = schedule_span(job.plan, now)
    if end <= start:
        return {}
    by_email = {job.people[a.staff_id].email.lower(): a.staff_id for a in job.plan.attendees}
    found = await calendar.schedules(job.organiser_email, tuple(by_email), start, end)
    return {by_email[email.lower()]: s for email, s in found.items() if email.lower() in by_email}


def _new_event(job: Job, slot: Slot) -> NewEvent:
    return NewEvent(
        organiser_email=job.organiser_email,
        attendee_emails=tuple(
            job.people[a.staff_id].email
            for a in job.plan.attendees
            if a.staff_id != job.plan.organiser_id
        ),
        subject=f"UoPP meeting: case {job.case_ref}",
        body_html=(
            f"<p>Understanding our Practice Progression (UoPP) meeting for case {job.case_ref}, "
            f"chaired by {job.people[job.plan.chair_id].display_name}.</p>"
            "<p>Booked by auditbot. Please do not add case details to this invitation.</p>"
        ),
        start=slot.start,
        end=slot.end,
        transaction_id=job.transaction_id,
    )


async def _choose(sessions: Sessions, job: Job, slot: Slot) -> bool:
    """Save the chosen time under the claim, before creating the event (see module doc)."""
    async with sessions.begin() as session:
        meeting = await repo.get_claimed_meeting(session, job.meeting_id, job.claimed_at)
        if meeting is None:
            return False
        meeting.starts_at, meeting.ends_at = slot.start, slot.end
        meeting.clash_ids = None
    return True


async def _release(sessions: Sessions, job: Job, now: datetime) -> None:
    """After an unexpected error: proposed again, not before the retry interval."""
    async with sessions.begin() as session:
        meeting = await repo.get_claimed_meeting(session, job.meeting_id, job.claimed_at)
        if meeting is not None:
            meeting.state = MeetingState.PROPOSED
            meeting.claimed_at = None
            retry = timedelta(minutes=job.rules.uopp_booking_retry_minutes)
            meeting.next_attempt_at = now + retry


async def _calendar_failed(sessions: Sessions, job: Job, reason: str, now: datetime) -> None:
    """Nothing half-booked: the meeting is proposed again, the reason is kept, the Audit
    Team is told once, and the booker tries again later until it has tried enough."""
    log.warning("UoPP meeting %s: calendar unavailable", job.meeting_id)
    async with sessions.begin() as session:
        meeting = await repo.get_claimed_meeting(session, job.meeting_id, job.claimed_at)
        if meeting is None:
            return
        audit = await repo.get_audit(session, job.audit_id)
        assert audit is not None
        meeting.booking_attempts += 1
        meeting.last_error = reason[:1000]
        meeting.claimed_at = None
        attempts, limit = meeting.booking_attempts, job.rules.uopp_booking_max_attempts
        gave_up = attempts >= limit
        if gave_up:
            meeting.state = MeetingState.NEEDS_ORGANISER
            meeting.next_attempt_at = None
            meeting.offer += 1
        else:
            meeting.state = MeetingState.PROPOSED
            wait = job.rules.uopp_booking_retry_minutes * 2 ** (attempts - 1)
            meeting.next_attempt_at = now + timedelta(minutes=wait)
        await repo.record_event(
            session,
            "system",
            "audit",
            audit.id,
            "uopp_booking_failed",
            None,
            {"meeting_id": meeting.id, "attempt": attempts, "reason": reason, "gave_up": gave_up},
            at=now,
        )
        text = (
            f"auditbot could not book the UoPP meeting for case {job.case_ref}: {reason} "
            f"It will try again (up to {limit} tries) and tell you if it gives up."
        )
        for person in await audit_team_for(session, audit):
            await tell(
                session,
                person.id,
                "uopp_booking",
                f"uopp:meeting:{meeting.id}:calendar_failed:{meeting.event_sequence}",
                summary=f"Could not book the UoPP meeting for case {job.case_ref}",
                text=text,
            )
        if gave_up:
            await tell_audit_team_to_extend(
                session,
                meeting,
                audit,
                asked_by="auditbot",
                reason=f"The calendar failed {attempts} times; the last reason: {reason}",
                timezone=job.rules.timezone,
            )


async def _no_common_slot(sessions: Sessions, job: Job, options: list[Slot], now: datetime) -> None:
    async with sessions.begin() as session:
        meeting = await repo.get_claimed_meeting(session, job.meeting_id, job.claimed_at)
        if meeting is None:
            return
        audit = await repo.get_audit(session, job.audit_id)
        assert audit is not None
        await offer_options(session, meeting, audit, options, now=now, rules=job.rules)


async def _confirm(
    sessions: Sessions,
    calendar: Calendar,
    job: Job,
    slot: Slot,
    event: BookedEvent,
    zones: dict[int, str],
    now: datetime,
) -> str:
    """In one transaction: the meeting booked, the audit moved on, the trail, the messages.

    "booked"; "taken" when another booker already confirmed this same event; "lost" when
    the meeting was re-planned meanwhile (the caller cancels the event just made).
    """
    async with sessions.begin() as session:
        meeting = await repo.get_claimed_meeting(session, job.meeting_id, job.claimed_at)
        if meeting is None:
            current = await repo.get_meeting(session, job.meeting_id)
            same = current is not None and current.graph_event_id == event.event_id
            return "taken" if same else "lost"
        audit = await repo.get_audit_for_update(session, job.audit_id)
        assert audit is not None
        before = repo.snapshot(meeting, MEETING_FIELDS)
        rebooked = bool(meeting.avoid_slots)
        meeting.state = MeetingState.BOOKED
        meeting.starts_at, meeting.ends_at = slot.start, slot.end
        meeting.graph_event_id, meeting.join_url = event.event_id, event.join_url
        meeting.calendar = calendar.name
        meeting.claimed_at = meeting.next_attempt_at = None
        meeting.booking_attempts, meeting.last_error = 0, None
        meeting.options = None
        audit_before = audit.state
        _move_audit_on(audit, meeting)
        await session.flush()
        after = repo.snapshot(meeting, MEETING_FIELDS)
        after.update(meeting_id=meeting.id, audit_state=audit.state, was=audit_before)
        action = "uopp_rebooked" if rebooked else "uopp_booked"
        await repo.record_event(session, "system", "audit", audit.id, action, before, after, at=now)
        await _tell_attendees(session, job, meeting, slot, zones)
    log.info("UoPP meeting %s booked in the %s calendar", job.meeting_id, calendar.name)
    return "booked"


def _move_audit_on(audit: Audit, meeting: Meeting) -> None:
    """A first UoPP moves the audit to UOPP_BOOKED (or reschedules it); a second UoPP
    after Inadequate happens during follow-up and leaves the audit's state alone."""
    if meeting.kind is not MeetingKind.UOPP:
        return
    if audit.state is AuditState.UOPP_BOOKED:
        audit.state = transition(audit.state, Action.RESCHEDULE_UOPP, Party.SYSTEM)
    elif audit.state in (AuditState.MODERATED, AuditState.DECIDED):
        audit.state = transition(audit.state, Action.BOOK_UOPP, Party.SYSTEM)
    else:
        log.warning("audit %s is %s; UoPP booked without moving it", audit.id, audit.state)


async def _tell_attendees(
    session: AsyncSession, job: Job, meeting: Meeting, slot: Slot, zones: dict[int, str]
) -> None:
    attendees = await repo.list_attendees(session, meeting.id)
    names = {p: s.display_name for p, s in job.people.items()}
    declined = [names.get(a.staff_id, "Someone") for a in attendees if a.response == "declined"]
    clashes = [names.get(p, "Someone") for p in meeting.clash_ids or ()]
    for attendee in attendees:
        attendee.response = None
    chair = names.get(job.plan.chair_id, "the chair")
    moved = ""
    if meeting.avoid_slots:
        old_start = datetime.fromisoformat(meeting.avoid_slots[-1][0])
        who = ", ".join(declined) if declined else "someone required"
        moved = f"It has moved from {_when(old_start, None, job.rules.timezone)}: {who} declined. "
    for attendee in attendees:
        zone = zones.get(attendee.staff_id) or job.rules.timezone
        when = _when(slot.start, slot.end, zone)
        lines = [f"UoPP meeting for case {job.case_ref}: {when}, chaired by {chair}. {moved}"]
        if meeting.join_url:
            lines.append(f"Join in Teams: {meeting.join_url}")
        else:
            lines.append("There is no Teams link yet: the organiser will say where it is held.")
        if clashes:
            lines.append(f"Chosen by the organiser although {', '.join(clashes)} cannot make it.")
        await tell(
            session,
            attendee.staff_id,
            "uopp_booking",
            f"uopp:meeting:{meeting.id}:booked:{meeting.event_sequence}",
            summary=f"UoPP meeting for case {job.case_ref}: {when}",
            text="\n\n".join(lines),
        )


def _when(start: datetime, end: datetime | None, zone_name: str) -> str:
    """ "Wed 25 Nov 2026, 09:00 to 10:00 (GMT)" in the reader's own time zone."""
    zone = ZoneInfo(zone_name)
    local = start.astimezone(zone)
    text = f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"
    if end is not None:
        text += f" to {end.astimezone(zone):%H:%M}"
    return f"{text} ({local:%Z})"


async def _cancel_quietly(calendar: Calendar, organiser_email: str, event_id: str) -> None:
    try:
        await calendar.cancel(organiser_email, event_id)
    except CalendarUnavailable:
        log.warning("could not cancel an orphaned UoPP event")


async def audit_team_for(session: AsyncSession, audit: Audit) -> list[Staff]:
    """The Audit Team and Audit Managers covering the audit's case."""
    from dialogs.moderation import audit_team_of  # the one definition; imported late (cycle)

    return await audit_team_of(session, audit)


async def cancel_replaced_events(sessions: Sessions, calendar: Calendar) -> None:
    """Cancel events replaced after a decline (again, if a cancel failed before)."""
    async with sessions() as session:
        pending = [
            (m.id, m.cancel_event_id, m.organiser_id)
            for m in await repo.list_meetings_to_cancel(session)
        ]
        organisers = await repo.staff_by_ids(session, {person for *_, person in pending})
        emails = {person: staff.email for person, staff in organisers.items()}
    for meeting_id, event_id, organiser_id in pending:
        assert event_id is not None
        try:
            await calendar.cancel(emails[organiser_id], event_id)
        except CalendarUnavailable:
            log.warning("UoPP meeting %s: could not cancel the replaced event yet", meeting_id)
            continue
        async with sessions.begin() as session:
            await repo.forget_cancelled_event(session, meeting_id, event_id)
