"""The Inadequate fast path at submission (DOMAIN.md, "Inadequate: the fast path").

When an auditor submits work graded Inadequate, the practitioner, team
manager, coordinator, Audit Manager and Head of Service are told at once,
and the moderator has 1 working day instead of the month's end. What follows
moderation (the team manager's urgent issues, the shorter UoPP deadline)
is in `dialogs.moderation`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.inadequate import FastPathView, fast_path_card
from dialogs.notify import tell
from dialogs.programmes import audit_inadequate, audit_rules
from storage import repositories as repo
from storage.models import Audit
from workflow.calendar import WorkingCalendar
from workflow.deadlines import moderation_due
from workflow.grades import Grade
from workflow.moderation import FAST_PATH_ROLES
from workflow.roles import Role
from workflow.rules import ProgrammeRules

log = logging.getLogger(__name__)

DEADLINE_FIELDS = ("moderation_due_at", "urgent_issues_due_at", "uopp_due_at", "moderated_at")

_PARTS = {
    Role.COORDINATOR: "coordinator",
    Role.AUDIT_MANAGER: "audit_manager",
    Role.HEAD_OF_SERVICE: "head_of_service",
}


# The audit's programme's choice, kept on the audit at submission so every later step
# (moderation, deadlines, reports, the second meeting) reads the same answer.
FAST_PATH_KEY = "fast_path"


def programme_fast_path(audit: Audit) -> bool:
    """Whether the audit's programme runs the Inadequate fast path (True for audits
    submitted before programmes said, as Tower Hamlets Early Help does)."""
    return bool((audit.draft or {}).get(FAST_PATH_KEY, True))


def on_fast_path(audit: Audit) -> bool:
    """Graded Inadequate by its auditor, in a programme with the fast path."""
    return audit.initial_grade is Grade.INADEQUATE and programme_fast_path(audit)


def meeting_grade(audit: Audit, grade: Grade) -> Grade:
    """The grade a follow-up meeting is planned for. Without the fast path, Inadequate work
    gets the ordinary meeting below Good (its timescale and people), not the fast path's
    three days chaired by the Audit Manager."""
    if grade is Grade.INADEQUATE and not programme_fast_path(audit):
        return Grade.REQUIRES_IMPROVEMENT
    return grade


async def on_submitted(
    session: AsyncSession, audit: Audit, *, now: datetime, rules: ProgrammeRules
) -> None:
    """Call in the transaction that submits the audit, after its initial grade is set.

    Does nothing unless the auditor graded the work Inadequate. Otherwise sets
    `moderation_due_at` to 1 working day after submission (`submitted_at`, or
    `now`), records it, and tells the five people at once. Calling it again
    (a resubmission) moves the deadline but tells nobody twice.
    """
    if audit.initial_grade is not Grade.INADEQUATE:
        return
    if not programme_fast_path(audit):
        await _escalate(session, audit, now=now)
        return
    rules = await audit_rules(session, audit, rules)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    submitted_at = audit.submitted_at or now
    due = moderation_due(
        rules,
        WorkingCalendar.from_rules(rules),
        Grade.INADEQUATE,
        audit_month=cycle.month,
        submitted_at=submitted_at,
    )
    before = repo.snapshot(audit, DEADLINE_FIELDS)
    audit.moderation_due_at = due.due_at
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        "inadequate_fast_path",
        before,
        repo.snapshot(audit, DEADLINE_FIELDS),
        at=now,
    )
    view = await _view(session, audit, rules)
    for person_id, part in await _people_told(session, audit, cycle.service_id):
        await tell(
            session,
            person_id,
            "inadequate",
            f"inadequate:audit:{audit.id}:submitted",
            summary=f"Case {view.case_ref} was graded Inadequate: moderation due "
            f"{view.moderation_due}",
            card=fast_path_card(view, part),
        )
    log.info("inadequate fast path for audit %s", audit.id)


async def _escalate(session: AsyncSession, audit: Audit, *, now: datetime) -> None:
    """No fast path: the people the programme names are told at once that the auditor found
    the work Inadequate (Hillingdon: the team manager), and the audit goes on as any other."""
    choice = await audit_inadequate(session, audit)
    if not choice.escalate_to:
        return
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    told: dict[int, None] = {}
    for role in choice.escalate_to:
        if role is Role.PRACTITIONER:
            told[audit.practitioner_id] = None
        elif role is Role.TEAM_MANAGER and audit.team_manager_id is not None:
            told[audit.team_manager_id] = None
        else:
            for person in await repo.list_staff_with_role_for_team(
                session, role, cycle.service_id, case.team_id
            ):
                told[person.id] = None
    text = (
        f"The auditor graded the work on case {case.case_ref} Inadequate. Your programme asks "
        "that you know at once, so that any serious safeguarding concern is acted on now. The "
        "audit goes on to the Audit Team's check and moderation as usual."
    )
    for person_id in told:
        await tell(
            session,
            person_id,
            "inadequate",
            f"inadequate:audit:{audit.id}:escalated",
            summary=f"Case {case.case_ref} was graded Inadequate by its auditor",
            text=text,
        )
    await repo.record_event(
        session, "system", "audit", audit.id, "inadequate_escalated", None,
        {"told": sorted(told)}, at=now,
    )  # fmt: skip


async def _people_told(
    session: AsyncSession, audit: Audit, service_id: int
) -> list[tuple[int, str]]:
    """(staff id, part) for everyone told, each person once, the closest part first."""
    case = await repo.get_case(session, audit.case_id)
    told: list[tuple[int, str]] = [(audit.practitioner_id, "practitioner")]
    if audit.team_manager_id is not None:
        told.append((audit.team_manager_id, "team_manager"))
    for role in FAST_PATH_ROLES:
        for person in await repo.list_staff_with_role_for_team(
            session, role, service_id, case.team_id
        ):
            told.append((person.id, _PARTS[role]))
    seen: set[int] = set()
    unique = []
    for person_id, part in told:
        if person_id not in seen:
            seen.add(person_id)
            unique.append((person_id, part))
    return unique


async def _view(session: AsyncSession, audit: Audit, rules: ProgrammeRules) -> FastPathView:
    case = await repo.get_case(session, audit.case_id)
    people = await repo.staff_by_ids(
        session,
        {
            p
            for p in (
                audit.practitioner_id,
                audit.team_manager_id,
                audit.auditor_id,
                audit.moderator_id,
            )
            if p is not None
        },
    )

    def name(person_id: int | None) -> str:
        return people[person_id].display_name if person_id in people else "not allocated"

    return FastPathView(
        audit_id=audit.id,
        case_ref=case.case_ref,
        practitioner=name(audit.practitioner_id),
        team_manager=name(audit.team_manager_id),
        auditor=name(audit.auditor_id),
        moderator=name(audit.moderator_id),
        moderation_due=day(audit.moderation_due_at, rules.timezone),
        urgent_days=rules.urgent_issues_working_days,
        uopp_days=rules.uopp_inadequate_working_days,
    )
