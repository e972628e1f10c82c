"""Writing the UoPP record: held (with the plan and any raise) or not held (book again).

Each function runs inside the chair's card action, in its one transaction:
the meeting's new state, the audit's, the tracked actions, the trail rows
and the outbox rows commit together or not at all. A refusal from the state
machine (the audit is not where a UoPP can be recorded) becomes a card
saying so, and rolls everything back.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from cards.uopp_record import MeetingView, RecordSummary, not_held_card, record_card
from dialogs.actions import ActionContext, ActionRefused
from dialogs.inadequate import meeting_grade
from dialogs.moderation import audit_team_of
from dialogs.notify import tell
from dialogs.programmes import audit_follow_up, audit_rules
from dialogs.steps import state_words
from dialogs.uopp_record_views import (
    CONCERN_GRADES,
    HELD_EVENT,
    KIND,
    Pressed,
    chair_of,
    not_held_view,
    second_uopp_follows,
    summary_of,
)
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState, RecommendationLevel, RecommendationSource
from storage.models import Audit, Meeting
from workflow.calendar import WorkingCalendar
from workflow.errors import IllegalTransition, NotAllowed
from workflow.grades import Grade
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, is_terminal, transition
from workflow.uopp_record import (
    GradeDecision,
    PlanAction,
    rebook_window,
    second_uopp_window,
    window_working_days,
)

log = logging.getLogger(__name__)

AUDIT_FIELDS = ("state", "final_grade")
MEETING_FIELDS = ("state", "held_on")


async def chair_party(session: AsyncSession, audit: Audit, meeting: Meeting) -> Party:
    """The part the chair plays, as the state machine knows it: the auditor (Good and RI),
    the coordinator (a second UoPP) or the Audit Manager (Inadequate, or standing in)."""
    chair = chair_of(meeting)
    if chair == audit.auditor_id:
        return Party.AUDITOR
    if meeting.kind is MeetingKind.SECOND_UOPP:
        cycle = await repo.get_cycle(session, audit.cycle_id)
        if await repo.holds_role(session, chair, [Role.COORDINATOR], cycle.service_id):
            return Party.COORDINATOR
    return Party.AUDIT_MANAGER


def _move(audit: Audit, action: Action, party: Party, case_ref: str) -> None:
    try:
        audit.state = transition(audit.state, action, party, case_ref=case_ref)
    except (IllegalTransition, NotAllowed) as refused:
        message = f"{refused} Nothing was changed."
        raise ActionRefused("This can't be recorded now", message) from None


async def _move_on_held(
    session: AsyncSession, audit: Audit, meeting: Meeting, case_ref: str
) -> None:
    """The audit's state once its UoPP is held: held for the first meeting; for the second,
    in follow-up with the follow-up recorded (starting follow-up first if nothing had)."""
    party = await chair_party(session, audit, meeting)
    if meeting.kind is MeetingKind.UOPP:
        _move(audit, Action.RECORD_UOPP_HELD, party, case_ref)
        return
    if audit.state is AuditState.UOPP_HELD:
        _move(audit, Action.START_FOLLOW_UP, Party.SYSTEM, case_ref)
    _move(audit, Action.RECORD_FOLLOW_UP, party, case_ref)


async def record_held(
    context: ActionContext,
    pressed: Pressed,
    view: MeetingView,
    held_on: date,
    plan: list[PlanAction],
    decision: GradeDecision,
) -> RecordSummary:
    """Record the meeting held, its plan and any raise, tell everyone, and after Inadequate
    propose the second UoPP; returns the record as sent."""
    session, meeting, audit = context.session, pressed.meeting, pressed.audit
    rules = await audit_rules(session, audit, context.rules)
    grade_before = audit.final_grade
    audit_before = repo.snapshot(audit, AUDIT_FIELDS)
    meeting_before = repo.snapshot(meeting, MEETING_FIELDS)
    await _move_on_held(session, audit, meeting, view.case_ref)
    if decision.raised_to is not None:
        audit.final_grade = decision.raised_to
    meeting.state = MeetingState.HELD
    meeting.held_on = held_on
    actions = [
        await repo.add_recommendation(
            session,
            audit.id,
            RecommendationLevel.CHILD,
            action.action,
            None,
            action.owner_id,
            action.due_on,
            RecommendationSource.UOPP,
        )
        for action in plan
    ]
    second = None
    if grade_before is not None and second_uopp_follows(
        meeting, meeting_grade(audit, grade_before)
    ):
        second = await propose_second_uopp(session, audit, meeting, held_on, rules)
    await session.flush()
    summary = await summary_of(session, pressed, view, held_on, plan, decision, rules=rules)
    await _record_trail(
        context, pressed, audit_before, meeting_before, grade_before, decision, actions, second,
        summary,
    )  # fmt: skip
    await _send_record(session, audit, meeting, grade_before, summary)
    log.info("UoPP meeting %s recorded held for audit %s", meeting.id, audit.id)
    return summary


async def _record_trail(
    context: ActionContext,
    pressed: Pressed,
    audit_before: dict,
    meeting_before: dict,
    grade_before: Grade | None,
    decision: GradeDecision,
    actions: list,
    second: Meeting | None,
    summary: RecordSummary,
) -> None:
    session, meeting, audit, actor, now = (
        context.session, pressed.meeting, pressed.audit, context.staff, context.now,
    )  # fmt: skip
    ids = [action.id for action in actions]
    await repo.record_event(
        session,
        actor,
        "meeting",
        meeting.id,
        HELD_EVENT,
        meeting_before,
        {
            **repo.snapshot(meeting, MEETING_FIELDS),
            "recommendation_ids": ids,
            "grade_before": grade_before,
            "raised_to": decision.raised_to,
            "reason": decision.reason if decision.raised_to else None,
            "second_meeting_id": second.id if second else None,
            "next_meeting": summary.next_meeting,
        },
        at=now,
    )
    event = "second_uopp_held" if meeting.kind is MeetingKind.SECOND_UOPP else "uopp_held"
    await repo.record_event(
        session,
        actor,
        "audit",
        audit.id,
        event,
        audit_before,
        {
            **repo.snapshot(audit, AUDIT_FIELDS),
            "meeting_id": meeting.id,
            "held_on": meeting.held_on,
            "recommendation_ids": ids,
        },
        at=now,
    )
    if decision.raised_to is not None:
        await repo.record_event(
            session,
            actor,
            "audit",
            audit.id,
            "uopp_grade_raised",
            {"final_grade": grade_before},
            {
                "final_grade": decision.raised_to,
                "reason": decision.reason,
                "meeting_id": meeting.id,
            },
            at=now,
        )
    if second is not None:
        await repo.record_event(
            session,
            actor,
            "meeting",
            second.id,
            "proposed",
            None,
            {
                "kind": second.kind,
                "after_meeting_id": meeting.id,
                "chair_id": second.chair_id,
                "window_starts_at": second.window_starts_at,
                "window_ends_at": second.window_ends_at,
            },
            at=now,
        )


async def _send_record(
    session: AsyncSession,
    audit: Audit,
    meeting: Meeting,
    grade_before: Grade | None,
    summary: RecordSummary,
) -> None:
    """The record to the team manager and practitioner, to whoever the programme's
    `record_to` names (Tower Hamlets Early Help: the coordinator; CSC: the Head of Service
    and the Audit Team), and for RI and Inadequate work to the Head of Service and the
    Audit Team; the chair has it on their card already."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    readers: list[int | None] = [audit.team_manager_id, audit.practitioner_id]
    roles = set((await audit_follow_up(session, audit)).record_to or [Role.COORDINATOR])
    if grade_before in CONCERN_GRADES:
        roles |= {Role.HEAD_OF_SERVICE, Role.AUDIT_TEAM}
    for role in sorted(roles - {Role.TEAM_MANAGER, Role.PRACTITIONER}):
        if role is Role.AUDIT_TEAM:
            readers += [person.id for person in await audit_team_of(session, audit)]
            continue
        people = await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        )
        readers += [person.id for person in people]
    card = record_card(summary)
    told: set[int] = {chair_of(meeting)}
    for person_id in readers:
        if person_id is None or person_id in told:
            continue
        told.add(person_id)
        await tell(
            session,
            person_id,
            KIND,
            f"uopp:record:meeting:{meeting.id}",
            summary=f"The {summary.meeting} for case {summary.case_ref} took place",
            card=card,
        )


async def propose_second_uopp(
    session: AsyncSession, audit: Audit, meeting: Meeting, held_on: date, rules: ProgrammeRules
) -> Meeting | None:
    """After an Inadequate grade's first UoPP: the second, proposed for the booker, with the
    coordinator, team manager and practitioner, chaired by the coordinator (the Audit
    Manager where the service has none), in a window from `second_uopp_weeks` later.
    Proposes nothing if the audit already has a live second UoPP."""
    for existing in await repo.list_meetings(session, audit.id):
        if existing.kind is MeetingKind.SECOND_UOPP and existing.state not in (
            MeetingState.NOT_HELD,
            MeetingState.CANCELLED,
        ):
            return None
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    coordinators = await repo.list_staff_with_role_for_team(
        session, Role.COORDINATOR, cycle.service_id, case.team_id
    )
    managers = await repo.list_staff_with_role_for_team(
        session, Role.AUDIT_MANAGER, cycle.service_id, case.team_id
    )
    chair = (coordinators or managers or [None])[0]
    chair_id = chair.id if chair is not None else chair_of(meeting)
    people = [chair_id, *(c.id for c in coordinators), audit.team_manager_id,
              audit.practitioner_id]  # fmt: skip
    attendees = list(dict.fromkeys(p for p in people if p is not None))
    window = second_uopp_window(rules, WorkingCalendar.from_rules(rules), held_on)
    second = await repo.add_meeting(
        session, audit.id, MeetingKind.SECOND_UOPP, chair_id, [(p, True) for p in attendees]
    )
    second.chair_id = chair_id
    second.window_starts_at = window.opens_at
    second.window_ends_at = window.closes_at
    second.length_minutes = meeting.length_minutes
    return second


# --- it did not take place ------------------------------------------------------------------


async def record_not_held(context: ActionContext, pressed: Pressed) -> dict:
    """Mark the meeting not held and propose it again, same people and chair, from the next
    working day for as many working days as its window had; everyone invited is told."""
    session, meeting, audit = context.session, pressed.meeting, pressed.audit
    rules = await audit_rules(session, audit, context.rules)
    calendar = WorkingCalendar.from_rules(rules)
    case = await repo.get_case(session, audit.case_id)
    if meeting.kind is MeetingKind.UOPP:
        party = await chair_party(session, audit, meeting)
        _move(audit, Action.RESCHEDULE_UOPP, party, case.case_ref)
    elif is_terminal(audit.state):
        raise ActionRefused(
            "This can't be recorded now",
            f"The audit of case {case.case_ref} is {state_words(audit)}. Nothing was changed.",
        )
    days = rules.uopp_working_days
    if meeting.window_starts_at and meeting.window_ends_at:
        days = window_working_days(
            calendar,
            calendar.local_date(meeting.window_starts_at),
            calendar.local_date(meeting.window_ends_at),
        )
    window = rebook_window(calendar, calendar.local_date(context.now), days)
    attendees = await repo.list_attendees(session, meeting.id)
    before = repo.snapshot(meeting, MEETING_FIELDS)
    meeting.state = MeetingState.NOT_HELD
    again = await repo.add_meeting(
        session,
        audit.id,
        meeting.kind,
        meeting.organiser_id,
        [(a.staff_id, a.required) for a in attendees],
    )
    again.chair_id = meeting.chair_id
    again.window_starts_at = window.opens_at
    again.window_ends_at = window.closes_at
    again.length_minutes = meeting.length_minutes
    await session.flush()
    after = {
        **repo.snapshot(meeting, MEETING_FIELDS),
        "rebooked_as": again.id,
        "window_first_day": window.first_day,
        "window_last_day": window.last_day,
    }
    await repo.record_event(
        session, context.staff, "meeting", meeting.id, "not_held", before, after, at=context.now
    )
    await repo.record_event(
        session,
        context.staff,
        "meeting",
        again.id,
        "proposed",
        None,
        {
            "kind": again.kind,
            "replaces_meeting_id": meeting.id,
            "chair_id": again.chair_id,
            "window_starts_at": again.window_starts_at,
            "window_ends_at": again.window_ends_at,
        },
        at=context.now,
    )
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "uopp_not_held",
        {"meeting_id": meeting.id},
        {"meeting_id": meeting.id, "new_meeting_id": again.id},
        at=context.now,
    )
    view = await not_held_view(session, pressed, rules=context.rules)
    for attendee in attendees:
        if attendee.staff_id == chair_of(meeting):
            continue
        await tell(
            session,
            attendee.staff_id,
            KIND,
            f"uopp:not_held:meeting:{meeting.id}",
            summary=f"The UoPP meeting for case {case.case_ref} did not take place: "
            f"it will be booked again {view.window}",
            card=not_held_card(view),
        )
    log.info("UoPP meeting %s not held; proposed again as %s", meeting.id, again.id)
    return not_held_card(view, for_chair=True)
