"""Planning the UoPP meeting when the grade stands (DOMAIN.md step 9).

`plan_uopp_meeting` runs inside the transaction that moderates an audit,
revises a moderation after a dispute, or decides a dispute: it writes the
proposed meeting (attendees, chair, window, length) and its audit-trail row,
which commit with the grade. The booker (`dialogs.uopp_booking`) finds a
time later, outside any transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.inadequate import meeting_grade
from dialogs.programmes import audit_rules, meeting_needed
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import Audit, Meeting
from storage.repositories.events import Actor
from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, transition
from workflow.uopp import Attendee, MeetingPlan, UoppPeople, plan_uopp

log = logging.getLogger(__name__)

# Where a first UoPP may be booked (or rebooked): once the grade stands.
BOOKING_STATES = (AuditState.MODERATED, AuditState.DECIDED, AuditState.UOPP_BOOKED)
PLAN_FIELDS = (
    "state",
    "organiser_id",
    "chair_id",
    "window_starts_at",
    "window_ends_at",
    "length_minutes",
)


async def uopp_people(session: AsyncSession, audit: Audit) -> UoppPeople:
    """The people around the audit that a UoPP meeting may need, from the staff list."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)

    async def holding(role: Role) -> tuple[int, ...]:
        people = await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        )
        return tuple(person.id for person in people)

    return UoppPeople(
        auditor_id=audit.auditor_id,
        practitioner_id=audit.practitioner_id,
        team_manager_id=audit.team_manager_id,
        moderator_id=audit.moderator_id,
        coordinator_ids=await holding(Role.COORDINATOR),
        head_of_service_ids=await holding(Role.HEAD_OF_SERVICE),
        audit_manager_ids=await holding(Role.AUDIT_MANAGER),
    )


async def plan_uopp_meeting(
    session: AsyncSession,
    audit: Audit,
    *,
    now: datetime,
    rules: ProgrammeRules,
    actor: Actor = "system",
) -> Meeting | None:
    """Propose the audit's UoPP meeting, or re-plan one not yet booked; idempotent.

    Call after the audit's final grade and state are set, in the same
    transaction. Nothing is planned where the audit's programme holds no meeting after
    this grade (below Good only, part B at supervision, or none). A meeting already
    booked with the same people and chair is left alone; booked with others, its event is
    cancelled (by the booker, after commit) and it is booked again. A meeting being arranged is
    re-planned from scratch (a booker holding it finds its claim gone and
    books nothing). Records `uopp_planned` in the audit's trail only when
    something changed.
    """
    grade = audit.final_grade
    if grade is None or not await meeting_needed(session, audit, Grade(grade)):
        return None
    rules = await audit_rules(session, audit, rules)
    calendar = WorkingCalendar.from_rules(rules)
    people = await uopp_people(session, audit)
    plan = plan_uopp(
        people,
        initial_grade=audit.initial_grade,
        final_grade=meeting_grade(audit, Grade(grade)),
        moderated_at=now,
        rules=rules,
        calendar=calendar,
    )
    meeting = await repo.live_meeting(session, audit.id, MeetingKind.UOPP)
    if meeting is not None and meeting.state is MeetingState.BOOKED:
        if await _still_fits(session, meeting, plan):
            await _back_to_booked(session, audit, meeting, now=now)
            return meeting
        _release_booked_event(meeting)
    before = await _plan_snapshot(session, meeting) if meeting is not None else None
    pairs = [(a.staff_id, a.required) for a in plan.attendees]
    if meeting is None:
        meeting = await repo.add_meeting(
            session, audit.id, MeetingKind.UOPP, plan.organiser_id, pairs
        )
    else:
        await repo.replace_attendees(session, meeting.id, pairs)
    _apply_plan(meeting, plan)
    await session.flush()
    after = await _plan_snapshot(session, meeting)
    if after != before:
        await repo.record_event(
            session,
            actor,
            "audit",
            audit.id,
            "uopp_planned",
            before,
            {**after, "meeting_id": meeting.id},
            at=now,
        )
    return meeting


async def _back_to_booked(
    session: AsyncSession, audit: Audit, meeting: Meeting, *, now: datetime
) -> None:
    """A dispute settled with the booked meeting still right: the audit waits for it again."""
    if audit.state is AuditState.UOPP_BOOKED:
        return
    before = repo.snapshot(audit, ("state",))
    audit.state = transition(audit.state, Action.BOOK_UOPP, Party.SYSTEM)
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        "uopp_still_booked",
        before,
        {"state": audit.state.value, "meeting_id": meeting.id},
        at=now,
    )


async def _still_fits(session: AsyncSession, meeting: Meeting, plan: MeetingPlan) -> bool:
    attendees = {(a.staff_id, a.required) for a in await repo.list_attendees(session, meeting.id)}
    return (
        attendees == {(a.staff_id, a.required) for a in plan.attendees}
        and (meeting.organiser_id, meeting.chair_id) == (plan.organiser_id, plan.chair_id)
        and meeting.length_minutes == plan.length_minutes
    )


def _release_booked_event(meeting: Meeting) -> None:
    """The booked event is to be cancelled and a new one made (a new transactionId)."""
    log.info("UoPP meeting %s: re-planned after booking; its event will be replaced", meeting.id)
    meeting.cancel_event_id = meeting.graph_event_id
    meeting.graph_event_id = meeting.join_url = None
    meeting.event_sequence += 1


def _apply_plan(meeting: Meeting, plan: MeetingPlan) -> None:
    """The plan's values, and a fresh start for the booking (nothing chosen or offered)."""
    meeting.organiser_id = plan.organiser_id
    meeting.chair_id = plan.chair_id
    meeting.window_starts_at = plan.window_starts_at
    meeting.window_ends_at = plan.window_ends_at
    meeting.length_minutes = plan.length_minutes
    meeting.state = MeetingState.PROPOSED
    meeting.starts_at = meeting.ends_at = None
    meeting.claimed_at = meeting.next_attempt_at = None
    meeting.options = meeting.clash_ids = meeting.avoid_slots = None
    meeting.extended_to = meeting.extension_reason = None
    meeting.booking_attempts = 0
    meeting.last_error = None


async def _plan_snapshot(session: AsyncSession, meeting: Meeting) -> dict[str, Any]:
    shot = repo.snapshot(meeting, PLAN_FIELDS)
    attendees = await repo.list_attendees(session, meeting.id)
    shot["attendees"] = [[a.staff_id, a.required] for a in attendees]
    return shot


async def meeting_plan(session: AsyncSession, meeting: Meeting) -> MeetingPlan:
    """The plan a stored meeting stands for, with any extension the Audit Team granted."""
    attendees = await repo.list_attendees(session, meeting.id)
    assert meeting.window_starts_at is not None and meeting.window_ends_at is not None
    return MeetingPlan(
        organiser_id=meeting.organiser_id,
        chair_id=meeting.chair_id or meeting.organiser_id,
        attendees=tuple(Attendee(a.staff_id, "", a.required) for a in attendees),
        length_minutes=meeting.length_minutes,
        window_starts_at=meeting.window_starts_at,
        window_ends_at=meeting.extended_to or meeting.window_ends_at,
    )
