"""Meetings of a whole cycle, booked through the calendar port (Microsoft Graph, or
auditbot's own) as the UoPP meeting is: the moderation group's (Tower Hamlets CSC) and the
moderation panel's (City of London, planned by `dialogs/panel.py`).

`plan_group_meeting` runs in the transaction that opens a cycle whose programme moderates
in a group: the group (and an Audit Team organiser) meet between the day the cycle's
audits are due and its moderation deadline. `book_group_meetings` is a scheduler tick: it
claims a proposed meeting of either kind (a conditional UPDATE), asks the calendar for everyone's
schedule with no transaction open, books the earliest time everyone can make (or, when
nothing suits everyone, the time fewest people miss, saying who), and tells every member
in the transaction that records it. A calendar that fails leaves the meeting proposed; it
is tried again later and, after the programme's number of attempts, the Audit Team is told.
The event's transactionId is the meeting's id, so a booker that dies after creating the
event and before recording it makes the same event again, not a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.dates import day
from cards.notice import notice_card
from dialogs.calendar_port import Calendar, CalendarUnavailable, NewEvent
from dialogs.notify import tell
from dialogs.programmes import cycle_moderation, cycle_rules, group_members
from storage import repositories as repo
from storage.models import Audit, Cycle, CycleMeeting, CycleMeetingKind, CycleMeetingState
from workflow.availability import Slot
from workflow.calendar import Clock, WorkingCalendar
from workflow.programme.model import GroupModeration
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.uopp import Attendee, MeetingPlan, best_options, earliest_slot, schedule_span

log = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]
STALE_CLAIM = timedelta(minutes=15)
GROUP = CycleMeetingKind.MODERATION_GROUP
# Each kind's event subject and what its people are told once it is booked.
WORDS = {
    GROUP: (
        "Moderation group",
        "The moderation group meets to moderate this cycle's audits. Each audit's moderation "
        "form comes to you in Teams when the Audit Team accepts the audit; at the meeting, "
        "any member records the group's moderation of each.",
    ),
    CycleMeetingKind.PANEL: (
        "Senior Leadership Moderation Panel",
        "The panel meets with the reviewers to agree a final grading and recommendations for "
        "each review sent to it. Read each review before the meeting; the chair records the "
        "panel's decision, with the deciding say where members disagree. A member whose own "
        "review is moderated stands aside for it.",
    ),
}


async def plan_group_meeting(
    session: AsyncSession,
    cycle: Cycle,
    audits: Sequence[Audit],
    *,
    now: datetime,
    rules: ProgrammeRules,
) -> CycleMeeting | None:
    """Propose the cycle's moderation group meeting, once; None where the cycle's programme
    does not moderate in a group, or nobody holds the group's roles."""
    moderation = await cycle_moderation(session, cycle)
    if not isinstance(moderation, GroupModeration) or not audits:
        return None
    existing = await cycle_meeting(session, cycle, GROUP)
    if existing is not None:
        return existing
    members = await group_members(session, cycle) or []
    organisers = await repo.list_staff_with_role(session, Role.AUDIT_TEAM, cycle.service_id)
    if not members:
        log.warning("cycle %s: its moderation group's roles are held by nobody", cycle.id)
        return None
    organiser = organisers[0] if organisers else members[0]
    calendar = WorkingCalendar.from_rules(await cycle_rules(session, cycle, rules))
    audits_due = max(audit.due_at or now for audit in audits)
    moderation_due = max(audit.moderation_due_at or audits_due for audit in audits)
    starts = calendar.start_of_working_day(
        calendar.next_working_day(calendar.local_date(audits_due))
    )
    length = timedelta(minutes=moderation.meeting_minutes)
    if starts + length > moderation_due:  # a short month: meet as soon as possible
        starts = calendar.start_of_working_day(calendar.next_working_day(calendar.local_date(now)))
    attendees = sorted({organiser.id, *(m.id for m in members)})
    meeting = CycleMeeting(
        cycle_id=cycle.id,
        kind=GROUP,
        organiser_id=organiser.id,
        attendee_ids=attendees,
        length_minutes=moderation.meeting_minutes,
        window_starts_at=starts,
        window_ends_at=max(moderation_due, starts + length),
    )
    session.add(meeting)
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "cycle",
        cycle.id,
        "moderation_group_meeting_planned",
        None,
        {
            "meeting_id": meeting.id,
            "attendees": attendees,
            "window_starts_at": meeting.window_starts_at,
            "window_ends_at": meeting.window_ends_at,
        },
        at=now,
    )
    return meeting


async def cycle_meeting(
    session: AsyncSession, cycle: Cycle, kind: CycleMeetingKind
) -> CycleMeeting | None:
    """The cycle's meeting of this kind (there is at most one), or None."""
    return await session.scalar(
        select(CycleMeeting).where(CycleMeeting.cycle_id == cycle.id, CycleMeeting.kind == kind)
    )


async def book_group_meetings(
    sessions: Sessions, calendar: Calendar, clock: Clock, rules: ProgrammeRules
) -> int:
    """Book every proposed moderation group meeting due an attempt; how many were booked."""
    now = clock.now()
    async with sessions.begin() as session:
        await session.execute(
            update(CycleMeeting)
            .where(
                CycleMeeting.state == CycleMeetingState.BOOKING,
                CycleMeeting.claimed_at < now - STALE_CLAIM,
            )
            .values(state=CycleMeetingState.PROPOSED, claimed_at=None)
        )
        ids = list(
            await session.scalars(
                select(CycleMeeting.id).where(
                    CycleMeeting.state == CycleMeetingState.PROPOSED,
                    or_(
                        CycleMeeting.next_attempt_at.is_(None), CycleMeeting.next_attempt_at <= now
                    ),
                )
            )
        )
    booked = 0
    for meeting_id in ids:
        try:
            booked += await _book(sessions, calendar, clock, rules, meeting_id)
        except Exception:
            log.exception("booking moderation group meeting %s failed", meeting_id)
            await _release(sessions, meeting_id, clock.now(), rules, None)
    return booked


async def _claim(session: AsyncSession, meeting_id: int, now: datetime) -> bool:
    claimed = await session.execute(
        update(CycleMeeting)
        .where(CycleMeeting.id == meeting_id, CycleMeeting.state == CycleMeetingState.PROPOSED)
        .values(state=CycleMeetingState.BOOKING, claimed_at=now)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def _book(
    sessions: Sessions, calendar: Calendar, clock: Clock, rules: ProgrammeRules, meeting_id: int
) -> int:
    now = clock.now()
    async with sessions.begin() as session:
        if not await _claim(session, meeting_id, now):
            return 0  # another booker has it
        meeting = await session.get(CycleMeeting, meeting_id)
        assert meeting is not None
        cycle = await repo.get_cycle(session, meeting.cycle_id)
        assert cycle is not None
        cycle_rules_ = await cycle_rules(session, cycle, rules)
        people = await repo.staff_by_ids(session, set(meeting.attendee_ids))
        plan = MeetingPlan(
            organiser_id=meeting.organiser_id,
            chair_id=meeting.organiser_id,
            attendees=tuple(Attendee(i, "moderation group") for i in meeting.attendee_ids),
            length_minutes=meeting.length_minutes,
            window_starts_at=meeting.window_starts_at,
            window_ends_at=meeting.window_ends_at,
        )
        title, kind = cycle.title, meeting.kind
    working = WorkingCalendar.from_rules(cycle_rules_)
    organiser = people[plan.organiser_id]
    emails = {person_id: people[person_id].email for person_id in meeting.attendee_ids}
    start, end = schedule_span(plan, not_before=now)
    try:
        found = await calendar.schedules(organiser.email, tuple(emails.values()), start, end)
        schedules = {pid: found[email] for pid, email in emails.items() if email in found}
        slot = earliest_slot(plan, schedules, working, not_before=now)
        if slot is None:
            options = best_options(plan, schedules, working, 1, not_before=now)
            slot = options[0] if options else None
        if slot is None:
            raise CalendarUnavailable("no time is left before the moderation deadline")
        event = await calendar.create_event(
            NewEvent(
                organiser_email=organiser.email,
                attendee_emails=tuple(e for pid, e in emails.items() if pid != organiser.id),
                subject=f"{WORDS[kind][0]}: {title}",
                body_html=f"<p>{WORDS[kind][1]}</p>",
                start=slot.start,
                end=slot.end,
                transaction_id=f"auditbot-group-{meeting_id}",
            )
        )
    except CalendarUnavailable as failed:
        await _release(sessions, meeting_id, clock.now(), rules, str(failed))
        return 0
    async with sessions.begin() as session:
        meeting = await session.get(CycleMeeting, meeting_id)
        if meeting is None or meeting.state is not CycleMeetingState.BOOKING:
            return 0
        await _booked(session, meeting, slot, event.event_id, event.join_url, calendar.name, now)
        await _tell_members(session, meeting, title, cycle_rules_.timezone, people)
    return 1


async def _booked(
    session: AsyncSession,
    meeting: CycleMeeting,
    slot: Slot,
    event_id: str,
    join_url: str | None,
    calendar_name: str,
    now: datetime,
) -> None:
    meeting.state = CycleMeetingState.BOOKED
    meeting.starts_at, meeting.ends_at = slot.start, slot.end
    meeting.clash_ids = list(slot.clashes) or None
    meeting.event_id, meeting.join_url, meeting.calendar = event_id, join_url, calendar_name
    meeting.claimed_at = None
    meeting.attempts += 1
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "cycle",
        meeting.cycle_id,
        "moderation_group_meeting_booked",
        None,
        {
            "meeting_id": meeting.id,
            "starts_at": slot.start,
            "ends_at": slot.end,
            "clashes": list(slot.clashes),
            "calendar": calendar_name,
        },
        at=now,
    )


async def group_meeting_words(session: AsyncSession, cycle: Cycle, timezone: str) -> str:
    """When the cycle's moderation group meets, as a sentence; empty when not booked yet."""
    meeting = await cycle_meeting(session, cycle, GROUP)
    if meeting is None or meeting.state is not CycleMeetingState.BOOKED:
        return " Its meeting is still being booked."
    return f" It meets on {meeting_time(meeting, timezone)}."


def meeting_time(meeting: CycleMeeting, timezone: str) -> str:
    """ "Thu 17 Dec 2026, 10:00 to 12:00" in the council's time zone."""
    assert meeting.starts_at is not None and meeting.ends_at is not None
    zone = ZoneInfo(timezone)
    starts, ends = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    return f"{day(meeting.starts_at, timezone)}, {starts:%H:%M} to {ends:%H:%M}"


async def _tell_members(
    session: AsyncSession,
    meeting: CycleMeeting,
    title: str,
    timezone: str,
    people: dict,
) -> None:
    when = meeting_time(meeting, timezone)
    clashes = [people[i].display_name for i in meeting.clash_ids or () if i in people]
    details = [("When", when), ("Cycle", title)]
    if meeting.join_url:
        details.append(("Join", meeting.join_url))
    footnote = (
        f"Nothing suited everyone before the moderation deadline: {', '.join(clashes)} "
        "cannot make this time."
        if clashes
        else None
    )
    await tell_booked(session, meeting, meeting.attendee_ids, details, footnote)


async def tell_booked(
    session: AsyncSession,
    meeting: CycleMeeting,
    people: Sequence[int],
    details: Sequence[tuple[str, str]],
    footnote: str | None = None,
) -> None:
    """Tell `people` the cycle meeting is booked and when, once each."""
    subject, words = WORDS[meeting.kind]
    for person_id in people:
        await tell(
            session,
            person_id,
            "moderation_group_meeting",
            f"group_meeting:{meeting.id}:booked",
            summary=f"{subject} meeting: {details[0][1]}",
            card=notice_card(
                f"{subject}: the meeting is booked",
                "It is in your calendar. " + words,
                details,
                footnote=footnote,
            ),
        )


async def _release(
    sessions: Sessions, meeting_id: int, now: datetime, rules: ProgrammeRules, reason: str | None
) -> None:
    """Proposed again, not before the retry interval; after enough failed attempts the Audit
    Team is told, once, why."""
    async with sessions.begin() as session:
        meeting = await session.get(CycleMeeting, meeting_id)
        if meeting is None or meeting.state is not CycleMeetingState.BOOKING:
            return
        meeting.state = CycleMeetingState.PROPOSED
        meeting.claimed_at = None
        meeting.attempts += 1
        meeting.last_error = reason or "an unexpected error"
        meeting.next_attempt_at = now + timedelta(minutes=rules.uopp_booking_retry_minutes)
        log.warning(
            "%s meeting %s not booked (attempt %s)",
            meeting.kind.value,
            meeting_id,
            meeting.attempts,
        )
        if meeting.attempts != rules.uopp_booking_max_attempts:
            return
        cycle = await repo.get_cycle(session, meeting.cycle_id)
        assert cycle is not None
        subject = f"{WORDS[meeting.kind][0]}: the meeting could not be booked"
        for person in await repo.list_staff_with_role(session, Role.AUDIT_TEAM, cycle.service_id):
            await tell(
                session,
                person.id,
                "moderation_group_meeting",
                f"group_meeting:{meeting.id}:failing",
                summary=subject,
                card=notice_card(
                    subject,
                    f"I have tried {meeting.attempts} times to book it for {cycle.title}: "
                    f"{meeting.last_error}. I'll keep trying; you can also book it yourself.",
                ),
            )
