"""What the UoPP record's cards show, drawn from the database (no writes here).

Shared by the chair's buttons (`dialogs.uopp_record`) and the writes that
record the meeting (`dialogs.uopp_record_save`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.notice import notice_card
from cards.uopp_record import (
    MeetingView,
    NotHeldView,
    PlanLine,
    RecordSummary,
    held_question_card,
    not_held_card,
    record_card,
)
from dialogs.actions import ActionContext
from dialogs.inadequate import meeting_grade
from dialogs.programmes import audit_rules
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import Audit, Meeting
from storage.repositories.meetings import get_meeting_for_update
from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.uopp_record import (
    GradeDecision,
    PlanAction,
    draft_limits,
    higher_grades,
    second_uopp_window,
)
from workflow.wizard_rules import parse_day

log = logging.getLogger(__name__)

KIND = "uopp_record"  # the outbox kind of every message sent here
# Grades whose UoPP record also goes to the Head of Service and the Audit Team.
CONCERN_GRADES = frozenset({Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE})
# The booker's trail rows (dialogs.uopp_booking) saying a meeting was booked.
BOOKING_EVENTS = frozenset({"uopp_booked", "uopp_rebooked"})
HELD_EVENT = "held"  # on the meeting: what was recorded, for drawing the record again


def chair_of(meeting: Meeting) -> int:
    return meeting.chair_id if meeting.chair_id is not None else meeting.organiser_id


# --- what the cards show ----------------------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    """The meeting a card is about and its audit, both locked for this transaction."""

    meeting: Meeting
    audit: Audit


async def load_meeting(context: ActionContext) -> Pressed | None:
    meeting = await get_meeting_for_update(context.session, context.number("meeting_id"))
    if meeting is None:
        return None
    audit = await repo.get_audit_for_update(context.session, meeting.audit_id)
    return Pressed(meeting, audit) if audit is not None else None


async def refuse_unless_chair(context: ActionContext, pressed: Pressed) -> str | None:
    if chair_of(pressed.meeting) == context.staff.id:
        return None
    return "the person chairing this UoPP meeting"


async def meeting_view(
    session: AsyncSession, meeting: Meeting, audit: Audit, *, now: datetime, rules: ProgrammeRules
) -> MeetingView:
    rules = await audit_rules(session, audit, rules)
    calendar = WorkingCalendar.from_rules(rules)
    case = await repo.get_case(session, audit.case_id)
    chair = await repo.get_staff(session, chair_of(meeting))
    today = calendar.local_date(now)
    starts = meeting.starts_at
    scheduled = (
        f"{day(starts, rules.timezone)}, {calendar.local_time(starts):%H:%M}"
        if starts
        else "a time not recorded"
    )
    return MeetingView(
        meeting_id=meeting.id,
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        second=meeting.kind is MeetingKind.SECOND_UOPP,
        scheduled=scheduled,
        scheduled_day=(calendar.local_date(starts) if starts else today).isoformat(),
        earliest=calendar.local_date(await booked_at(session, meeting)).isoformat(),
        today=today.isoformat(),
        tomorrow=(today + timedelta(days=1)).isoformat(),
        chair=chair.display_name if chair else "not known",
        people=await plan_owners(session, meeting, audit),
        grade=audit.final_grade,
        grades_above=higher_grades(audit.final_grade),
        told=told_words(audit.final_grade),
    )


async def booked_at(session: AsyncSession, meeting: Meeting) -> datetime:
    """When the meeting was last booked (the booker's trail row on the audit), or, with no
    such row, when it was proposed: the meeting cannot have taken place before."""
    booked = [
        event.occurred_at
        for event in await repo.list_events(session, "audit", meeting.audit_id)
        if event.action in BOOKING_EVENTS and (event.after or {}).get("meeting_id") == meeting.id
    ]
    return max(booked, default=meeting.created_at)


_PARTS = (("practitioner_id", "practitioner"), ("team_manager_id", "team manager"),
          ("auditor_id", "auditor"), ("moderator_id", "moderator"))  # fmt: skip


async def plan_owners(
    session: AsyncSession, meeting: Meeting, audit: Audit
) -> list[tuple[str, str]]:
    """Who may own an action: the people invited to the meeting and its chair, as
    (staff id, "Name (part)"), the practitioner and team manager first."""
    invited = {a.staff_id for a in await repo.list_attendees(session, meeting.id)}
    invited.add(chair_of(meeting))
    people = await repo.staff_by_ids(session, invited)
    parts: dict[int, str] = {}
    for attribute, part in _PARTS:
        person = getattr(audit, attribute)
        if person in people:
            parts.setdefault(person, part)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    roles = (Role.COORDINATOR, Role.AUDIT_MANAGER, Role.HEAD_OF_SERVICE)
    for person, role in await repo.staff_holding_roles(session, roles, cycle.service_id):
        if person.id in people:
            parts.setdefault(person.id, role.label)
    for person_id in sorted(people):
        parts.setdefault(person_id, "chair" if person_id == chair_of(meeting) else "attendee")
    return [
        (str(person_id), f"{people[person_id].display_name} ({part})")
        for person_id, part in parts.items()
        if people[person_id].active
    ]


def told_words(grade: Grade | None) -> str:
    if grade in CONCERN_GRADES:
        return (
            "the team manager, practitioner and coordinator, the Head of Service and the Audit Team"
        )
    return "the team manager, practitioner and coordinator"


def read_draft(context: ActionContext) -> dict[str, str]:
    """The chair's answers so far, from the card; anything a card does not ask is ignored."""
    draft = {}
    for key, limit in draft_limits().items():
        value = context.text(key, limit=limit)
        if value:
            draft[key] = value
    return draft


# --- the record as words ----------------------------------------------------------------


def grade_line(before: Grade | None, after: Grade | None) -> str:
    if after is None or after == before:
        return f"Stays {before.label if before else 'not graded'}"
    return f"Raised from {before.label if before else 'not graded'} to {after.label}"


async def summary_of(
    session: AsyncSession,
    pressed: Pressed,
    view: MeetingView,
    held_on: date,
    plan: list[PlanAction],
    decision: GradeDecision,
    *,
    rules: ProgrammeRules,
) -> RecordSummary:
    """The record as it will read (on the check card) and as it is sent."""
    rules = await audit_rules(session, pressed.audit, rules)
    names = dict(view.people)
    lines = [
        PlanLine(a.action, _name(names.get(str(a.owner_id))), day(a.due_on, rules.timezone))
        for a in plan
    ]
    next_meeting = None
    grade = meeting_grade(pressed.audit, view.grade) if view.grade is not None else None
    if second_uopp_follows(pressed.meeting, grade):
        window = second_uopp_window(rules, WorkingCalendar.from_rules(rules), held_on)
        next_meeting = second_uopp_words(window.first_day, window.last_day, rules.timezone)
    return RecordSummary(
        case_ref=view.case_ref,
        second=view.second,
        held_on=day(held_on, rules.timezone),
        chair=view.chair,
        plan=lines,
        grade_line=grade_line(view.grade, decision.raised_to),
        reason=decision.reason if decision.raised_to else "",
        next_meeting=next_meeting,
        told=view.told,
    )


def _name(label: str | None) -> str:
    """ "Name (part)" -> "Name"."""
    if not label:
        return "someone no longer at the meeting"
    return label.rsplit(" (", 1)[0]


def second_uopp_follows(meeting: Meeting, grade: Grade | None) -> bool:
    """After Inadequate, the first UoPP is followed by a second one."""
    return meeting.kind is MeetingKind.UOPP and grade is Grade.INADEQUATE


def second_uopp_words(first: date, last: date, timezone: str) -> str:
    return (
        "A second UoPP meeting, with the coordinator and the team manager and practitioner, "
        f"will be booked between {day(first, timezone)} and {day(last, timezone)} to check "
        "the plan is working."
    )


async def recorded_summary(
    session: AsyncSession, pressed: Pressed, *, rules: ProgrammeRules
) -> RecordSummary:
    """The record of a meeting already held, drawn again from its trail row."""
    meeting, audit = pressed.meeting, pressed.audit
    rules = await audit_rules(session, audit, rules)
    event = await repo.latest_event(session, "meeting", meeting.id, HELD_EVENT)
    after = (event.after if event else None) or {}
    case = await repo.get_case(session, audit.case_id)
    chair = await repo.get_staff(session, chair_of(meeting))
    wanted = set(after.get("recommendation_ids") or [])
    plan = [r for r in await repo.list_recommendations(session, audit.id) if r.id in wanted]
    owners = await repo.staff_by_ids(session, {r.owner_id for r in plan if r.owner_id})
    before = _grade(after.get("grade_before"))
    raised = _grade(after.get("raised_to"))
    return RecordSummary(
        case_ref=case.case_ref,
        second=meeting.kind is MeetingKind.SECOND_UOPP,
        held_on=day(meeting.held_on, rules.timezone),
        chair=chair.display_name if chair else "not known",
        plan=[
            PlanLine(
                r.action,
                owners[r.owner_id].display_name if r.owner_id in owners else "not known",
                day(r.due_on, rules.timezone),
            )
            for r in plan
        ],
        grade_line=grade_line(before, raised),
        reason=after.get("reason") or "",
        next_meeting=after.get("next_meeting"),
        told=told_words(before),
    )


def _grade(value: Any) -> Grade | None:
    try:
        return Grade(value) if value else None
    except ValueError:
        return None


async def not_held_view(
    session: AsyncSession, pressed: Pressed, *, rules: ProgrammeRules
) -> NotHeldView:
    meeting, audit = pressed.meeting, pressed.audit
    rules = await audit_rules(session, audit, rules)
    event = await repo.latest_event(session, "meeting", meeting.id, "not_held")
    after = (event.after if event else None) or {}
    case = await repo.get_case(session, audit.case_id)
    who = await repo.get_staff(session, event.actor_id) if event and event.actor_id else None
    first, last = after.get("window_first_day"), after.get("window_last_day")
    window = "as soon as everyone can make it"
    if first and last:
        zone = rules.timezone
        window = f"between {day(parse_day(first), zone)} and {day(parse_day(last), zone)}"
    scheduled = (
        f"{day(meeting.starts_at, rules.timezone)}" if meeting.starts_at else "its booked time"
    )
    return NotHeldView(
        case_ref=case.case_ref,
        second=meeting.kind is MeetingKind.SECOND_UOPP,
        scheduled=scheduled,
        window=window,
        recorded_by=who.display_name if who else "The chair",
    )


async def current_card(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """The meeting as it stands now, for the chair."""
    meeting, session = pressed.meeting, context.session
    if meeting.state is MeetingState.HELD:
        return record_card(await recorded_summary(session, pressed, rules=context.rules))
    if meeting.state is MeetingState.NOT_HELD:
        not_held = await not_held_view(session, pressed, rules=context.rules)
        return not_held_card(not_held, for_chair=True)
    if meeting.state is MeetingState.BOOKED:
        view = await meeting_view(session, meeting, pressed.audit, now=context.now,
                                  rules=context.rules)  # fmt: skip
        return held_question_card(view)
    case = await repo.get_case(session, pressed.audit.case_id)
    return notice_card(
        f"UoPP meeting for case {case.case_ref}",
        "This meeting is no longer booked, so there is nothing to record. Nothing was changed.",
    )
