"""Which audits are moderated, and by whom, as the audit's programme says.

Called when the Audit Team accepts an audit as complete. Every audit with a
named moderator (Tower Hamlets Early Help, an external moderator, a panel's
first tier) has that moderator asked. A sampling programme (Hillingdon) draws
the audit, reproducibly, and either chooses its moderator and asks them or lets
the auditor's grade stand; a programme without moderation (Haringey) lets every
grade stand. A grade that stands moves the audit on exactly as a moderated one
does: its follow-up is planned, and the auditor, practitioner and team manager
are told, with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.closing import close_if_done
from dialogs.cycles import candidates
from dialogs.group_meeting import group_meeting_words
from dialogs.moderation import ask_group, ask_moderator, set_deadlines_after_moderation
from dialogs.notify import tell
from dialogs.programmes import cycle_moderation, group_members
from dialogs.uopp_planning import plan_uopp_meeting
from storage import repositories as repo
from storage.models import Audit, Cycle
from storage.repositories.events import Actor
from workflow.allocation import AllocationImpossible, CaseToAllocate, choose_moderator
from workflow.grades import Grade
from workflow.moderation_sample import decide
from workflow.programme.model import (
    EveryAudit,
    ExternalModeration,
    GroupModeration,
    NoModeration,
    PanelModeration,
    SampleModeration,
)
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, transition
from workflow.words import counted

log = logging.getLogger(__name__)

NO_MODERATION = "This programme does not moderate audits."


async def request_moderation(
    session: AsyncSession, audit: Audit, *, now: datetime, rules: ProgrammeRules
) -> str:
    """Ask for the accepted audit's moderation, or let its grade stand; the words for the
    Audit Team's card, saying which and why."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    assert cycle is not None
    moderation = await cycle_moderation(session, cycle)
    if isinstance(moderation, NoModeration):
        await let_grade_stand(session, audit, why=NO_MODERATION, now=now, rules=rules)
        return f"{NO_MODERATION} The auditor's grade stands, and everyone has been told."
    if isinstance(moderation, SampleModeration):
        return await _sampled(session, audit, cycle, moderation, now=now, rules=rules)
    if isinstance(moderation, GroupModeration):
        asked = await ask_group(
            session, audit, await group_members(session, cycle) or [], now=now, rules=rules
        )
        if not asked:
            log.warning("audit %s: its moderation group has nobody to ask", audit.id)
            return (
                "Nobody in the moderation group can moderate this audit (everyone in it has "
                "a part in it, or the group's roles are held by nobody). Give the roles to "
                "someone; the audit waits for the group."
            )
        return (
            f"Sent to the moderation group ({counted(len(asked), 'member')}): any of them "
            "records the group's moderation at its meeting."
            + await group_meeting_words(session, cycle, rules.timezone)
        )
    await ask_moderator(session, audit, now=now, rules=rules)
    return "The moderator has been asked to moderate."


async def _sampled(
    session: AsyncSession,
    audit: Audit,
    cycle: Cycle,
    moderation: SampleModeration,
    *,
    now: datetime,
    rules: ProgrammeRules,
) -> str:
    others = await repo.list_audits_in_cycle(session, cycle.id)
    counted = [
        other.id
        for other in others
        if other.state not in (AuditState.REALLOCATED, AuditState.INVALIDATED)
    ]
    sample = moderation.sample
    decision = decide(
        seed=cycle.selection_seed or 0,
        audit_id=audit.id,
        initial_grade=audit.initial_grade,
        percent=sample.percent,
        per_cycle=sample.per_cycle,
        cycle_audit_ids=counted,
        always_below=sample.always_below,
    )
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        "moderation_sample",
        None,
        {"in_sample": decision.in_sample, "draw": round(decision.draw, 6), "why": decision.why},
        at=now,
    )
    if not decision.in_sample:
        await let_grade_stand(session, audit, why=decision.why, now=now, rules=rules)
        return f"{decision.why} The auditor's grade stands, and everyone has been told."
    if audit.moderator_id is None:
        problem = await choose_audit_moderator(session, audit, cycle, moderation.by, now=now)
        if problem is not None:
            return (
                f"{decision.why} But nobody can moderate it: {problem} Add someone who can to "
                "the staff list; the audit waits, accepted, until a moderator is found."
            )
    await ask_moderator(session, audit, now=now, rules=rules)
    moderator = await repo.get_staff(session, audit.moderator_id)
    name = moderator.display_name if moderator else "The moderator"
    return f"{decision.why} {name} has been asked to moderate it."


def moderator_roles(moderation: object) -> list[Role]:
    """Who may moderate one audit alone under this moderation (none: a group, or none)."""
    if isinstance(moderation, PanelModeration):
        return list(moderation.tier_one_by)
    if isinstance(moderation, EveryAudit | SampleModeration | ExternalModeration):
        return list(moderation.by)
    return []


async def choose_audit_moderator(
    session: AsyncSession,
    audit: Audit,
    cycle: Cycle,
    roles: list[Role],
    *,
    now: datetime,
    actor: Actor = "system",
    action: str = "moderator_chosen",
) -> str | None:
    """Give the audit the least-loaded independent moderator holding one of these roles
    (active staff only); None, or why not."""
    case = await repo.get_case(session, audit.case_id)
    assert case is not None
    people = {}
    for role in roles:
        for person in await candidates(session, role, cycle.service_id, moderating=True):
            people.setdefault(person.staff_id, person)
    involved = await repo.involvements_by_case(session, [case.id])
    try:
        chosen = choose_moderator(
            CaseToAllocate(
                case_ref=case.case_ref,
                team_id=str(case.team_id),
                practitioner_id=str(case.practitioner_id),
                involved_staff_ids=frozenset(str(i) for i in involved.get(case.id, ())),
            ),
            list(people.values()),
            auditor_id=str(audit.auditor_id),
        )
    except AllocationImpossible as error:
        return error.problems[0].message
    before = repo.snapshot(audit, ("moderator_id",))
    audit.moderator_id = int(chosen)
    await session.flush()
    await repo.record_event(
        session, actor, "audit", audit.id, action, before,
        repo.snapshot(audit, ("moderator_id",)), at=now,
    )  # fmt: skip
    return None


async def let_grade_stand(
    session: AsyncSession, audit: Audit, *, why: str, now: datetime, rules: ProgrammeRules
) -> None:
    """No moderation for this audit: the auditor's grade is final, and the audit moves on
    (follow-up planned, people told) as a moderated one does."""
    grade = audit.initial_grade
    if grade is None:
        raise ValueError(f"audit {audit.id} has no grade to stand")
    before = repo.snapshot(audit, ("state", "final_grade"))
    audit.state = transition(audit.state, Action.LET_GRADE_STAND, Party.SYSTEM)
    audit.final_grade = grade
    await set_deadlines_after_moderation(session, audit, Grade(grade), now=now, rules=rules)
    await session.flush()
    await plan_uopp_meeting(session, audit, now=now, rules=rules)
    await repo.record_event(
        session, "system", "audit", audit.id, "grade_stands", before,
        {**repo.snapshot(audit, ("state", "final_grade")), "why": why}, at=now,
    )  # fmt: skip
    case = await repo.get_case(session, audit.case_id)
    ref = case.case_ref if case else f"audit {audit.id}"
    text = (
        f"The audit of case {ref} was accepted as complete and is not moderated: {why} "
        f"The auditor's grade, {Grade(grade).label}, stands."
    )
    people = [audit.auditor_id, audit.practitioner_id, audit.team_manager_id]
    for person_id in dict.fromkeys(p for p in people if p is not None):
        await tell(
            session,
            person_id,
            "grade_stands",
            f"grade_stands:audit:{audit.id}",
            summary=f"Case {ref}: the auditor's grade stands",
            text=text,
        )
    await close_if_done(session, audit, now=now)
    log.info("audit %s: grade stands without moderation", audit.id)
