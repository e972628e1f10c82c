"""Giving an audit to someone else when its auditor (or moderator) is exempted.

The old audit ends as `reallocated` and a successor carries on, pointing back
to it, so the trail shows who had the case and when. The new auditor gets
the full allocation card; the practitioner and team manager are told who
their auditor is now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cards.allocation import auditor_card, moderator_card
from dialogs.cycles import CycleRequestError, candidates, moderator_candidates
from dialogs.notices import allocation_views
from dialogs.notify import tell
from storage import repositories as repo
from storage.enums import ExemptionState
from storage.models import Audit, Staff
from workflow.allocation import Allocation, CaseToAllocate, reallocate
from workflow.calendar import WorkingCalendar
from workflow.deadlines import audit_due
from workflow.errors import AllocationImpossible
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, transition


async def reallocate_audit(
    session: AsyncSession,
    audit: Audit,
    *,
    excluding: int,
    actor: Staff | str,
    now: datetime,
    rules: ProgrammeRules,
) -> Audit:
    """End `audit` and start its successor without `excluding`; raises CycleRequestError
    (nothing written) when no one eligible is left, or the audit cannot be reallocated now."""
    case = await repo.get_case(session, audit.case_id)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    new_state = transition(audit.state, Action.REALLOCATE, Party.AUDIT_TEAM, case_ref=case.case_ref)
    involved = await repo.involvements_by_case(session, [case.id])
    try:
        chosen = reallocate(
            CaseToAllocate(
                case_ref=case.case_ref,
                team_id=str(case.team_id),
                practitioner_id=str(case.practitioner_id),
                involved_staff_ids=frozenset(str(i) for i in involved.get(case.id, ())),
            ),
            await candidates(session, Role.AUDITOR, cycle.service_id),
            await moderator_candidates(session, cycle) or [],
            excluding=str(excluding),
            current=Allocation(
                case.case_ref,
                str(audit.auditor_id),
                str(audit.moderator_id) if audit.moderator_id is not None else None,
            ),
            unavailable=[str(i) for i in await _exempted_before(session, audit)],
        )
    except AllocationImpossible as error:
        raise CycleRequestError(error.problems[0].message) from None

    before = repo.snapshot(audit)
    audit.state = new_state
    await session.flush()
    await repo.record_event(
        session, actor, "audit", audit.id, "reallocated", before, repo.snapshot(audit)
    )
    calendar = WorkingCalendar.from_rules(rules)
    successor = await repo.add_audit(
        session,
        cycle.id,
        case.id,
        audit.practitioner_id,
        int(chosen.auditor_id),
        moderator_id=int(chosen.moderator_id) if chosen.moderator_id is not None else None,
        team_manager_id=audit.team_manager_id,
        state=AuditState.ALLOCATED,
        due_at=audit_due(rules, calendar, now, audit_month=cycle.month).due_at,
        moderation_due_at=audit.moderation_due_at,
        predecessor_id=audit.id,
    )
    await repo.record_event(
        session, actor, "audit", successor.id, "allocated", None, repo.snapshot(successor)
    )
    await _tell_about(session, audit, successor, rules.timezone)
    return successor


async def _exempted_before(session: AsyncSession, audit: Audit) -> set[int]:
    """Everyone exempted from this case in this cycle, along the chain of predecessors."""
    exempted: set[int] = set()
    current: Audit | None = audit
    while current is not None:
        request = await repo.latest_exemption_request(session, current.id)
        if request is not None and request.state is ExemptionState.APPROVED:
            exempted.add(request.auditor_id)
        current = (
            await repo.get_audit(session, current.predecessor_id)
            if current.predecessor_id
            else None
        )
    return exempted


async def _tell_about(session: AsyncSession, old: Audit, new: Audit, timezone: str) -> None:
    cycle = await repo.get_cycle(session, new.cycle_id)
    [view] = await allocation_views(session, cycle, [new], timezone=timezone)
    key = f"reallocated:audit:{new.id}"
    await tell(
        session,
        new.auditor_id,
        "allocation",
        f"{key}:auditor",
        summary=f"You're auditing case {view.case_ref}",
        card=auditor_card(view),
    )
    if new.moderator_id != old.moderator_id and new.moderator_id is not None:
        await tell(
            session,
            new.moderator_id,
            "allocation",
            f"{key}:moderator",
            summary=f"You're moderating case {view.case_ref}",
            card=moderator_card(view),
        )
    text = (
        f"The audit of case {view.case_ref} has a new auditor: {view.auditor}, who will be in "
        f"touch. Audit due {view.audit_due}."
    )
    for person in {new.practitioner_id, new.team_manager_id} - {None}:
        await tell(
            session,
            person,
            "allocation",
            f"{key}:told:{person}",
            summary=f"New auditor for case {view.case_ref}",
            text=text,
        )
