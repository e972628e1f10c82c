"""Approving a cycle's key lines of enquiry before any case is picked (DOMAIN.md step 1).

The Audit Team proposes; the approvers the cycle's programme names (Tower
Hamlets Early Help: the Head of Service, the coordinator and the Divisional
Director of the service) each approve or send back, from a card. When all
have approved, the cycle opens: cases are selected and allocated, and
everyone is told. A programme with no approval step opens the cycle as soon
as it is proposed. A send-back, or a cycle that cannot be allocated, goes
back to the Audit Team with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.kloes import DECIDE, KloeProposal, kloe_approval_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.cycles import (
    CycleRequest,
    CycleRequestError,
    check_request,
    create_planned_cycle,
    describe_plan,
    open_planned_cycle,
)
from dialogs.notify import tell
from dialogs.programmes import programme_of_version
from storage import repositories as repo
from storage.enums import CycleState, KloeDecision
from storage.models import Cycle, Service, Staff
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.words import counted

log = logging.getLogger(__name__)

# Who approves when no programme file is in force: Tower Hamlets Early Help's choice.
APPROVERS = (Role.HEAD_OF_SERVICE, Role.COORDINATOR, Role.DIVISIONAL_DIRECTOR)


async def approver_roles(session: AsyncSession, cycle: Cycle) -> tuple[Role, ...]:
    """Who approves the cycle's KLOEs, by its programme version; () when nobody does."""
    if cycle.programme_version_id is None:
        return APPROVERS
    programme = await programme_of_version(session, cycle.programme_version_id)
    return tuple(programme.kloes.approval)


@dataclass(frozen=True)
class ProposedCycle:
    cycle_id: int
    title: str
    approvers: tuple[str, ...]
    # With no approval step, what opening it at once did (or why it could not).
    opened: str | None = None

    def __str__(self) -> str:
        if self.opened is not None:
            return f"Proposed cycle {self.cycle_id} ({self.title}). {self.opened}"
        every = "both" if len(self.approvers) == 2 else f"all {len(self.approvers)}"
        if len(self.approvers) == 1:
            every = "they"
        return (
            f"Proposed cycle {self.cycle_id} ({self.title}). The KLOEs went for approval to "
            f"{', '.join(self.approvers)}; cases are picked when {every} approve."
        )


async def propose_cycle(
    session: AsyncSession,
    request: CycleRequest,
    *,
    actor: Staff | str,
    now: datetime,
    rules: ProgrammeRules,
) -> ProposedCycle:
    """Create the cycle and send each approver their card, in the caller's transaction;
    with no approval step in its programme, open it at once."""
    if not any(text.strip() for text in request.kloes):
        raise CycleRequestError("Add at least one key line of enquiry (--kloe) to approve.")
    service, tool_id = await check_request(session, request)
    cycle = await create_planned_cycle(session, service, tool_id, request, actor)
    roles = await approver_roles(session, cycle)
    if not roles:
        opened = await _open_now(session, cycle, rules=rules, now=now, why="no_approval")
        return ProposedCycle(cycle.id, cycle.title, (), opened)
    approvers = await _approvers(session, service, roles)
    proposal = await kloe_proposal(session, cycle)
    for role, people in approvers.items():
        for person in people:
            await tell(
                session,
                person.id,
                "kloe_approval",
                f"kloe:cycle:{cycle.id}:{role}",
                summary=f"Approve the KLOEs for {cycle.title}",
                card=kloe_approval_card(proposal, role=role, role_label=role.label),
            )
    names = tuple(
        f"{person.display_name} ({role.label})"
        for role, people in approvers.items()
        for person in people
    )
    await _tell_audit_team(
        session,
        cycle,
        f"proposed:{cycle.id}",
        f"The KLOEs for {cycle.title} went for approval to {', '.join(names)}.",
    )
    return ProposedCycle(cycle.id, cycle.title, names)


async def _approvers(
    session: AsyncSession, service: Service, roles: tuple[Role, ...]
) -> dict[Role, list[Staff]]:
    approvers = {}
    for role in roles:
        people = await repo.list_staff_with_role(session, role, service.id)
        if not people:
            raise CycleRequestError(
                f"No {role.label} is set up for {service.name}, so the KLOEs cannot be "
                "approved; add one to the staff list and propose again."
            )
        approvers[role] = people
    return approvers


async def kloe_proposal(session: AsyncSession, cycle: Cycle) -> KloeProposal:
    service = await repo.get_service(session, cycle.service_id)
    proposer = await repo.get_staff(session, cycle.proposed_by_id) if cycle.proposed_by_id else None
    decided = {a.approver_role: a for a in await repo.list_kloe_approvals(session, cycle.id)}
    people = await repo.staff_by_ids(session, {a.approver_id for a in decided.values()})
    decisions = []
    for role in await approver_roles(session, cycle):
        approval = decided.get(role)
        if approval is None:
            state = "Waiting"
        else:
            verb = "Approved" if approval.decision is KloeDecision.APPROVED else "Sent back"
            state = f"{verb} by {people[approval.approver_id].display_name}"
        decisions.append((role.label, state))
    return KloeProposal(
        cycle_id=cycle.id,
        title=cycle.title,
        service=service.name if service else "",
        month=f"{cycle.month:%B %Y}",
        kloes=[kloe.text for kloe in await repo.list_kloes(session, cycle.id)],
        plan=describe_plan(cycle.selection_plan, await repo.declared_case_attributes(session)),
        proposed_by=proposer.display_name if proposer else "The Audit Team",
        decisions=decisions,
    )


async def _load_cycle(context: ActionContext) -> Cycle | None:
    return await repo.get_cycle_for_update(context.session, context.number("cycle_id"))


async def _refuse_unless_approver(context: ActionContext, cycle: Cycle) -> str | None:
    role = await _role_of(context, cycle)
    service = await repo.get_service(context.session, cycle.service_id)
    if await repo.holds_role(context.session, context.staff.id, (role,), cycle.service_id):
        return None
    return f"the {role.label} for {service.name if service else 'this service'}"


async def _role_of(context: ActionContext, cycle: Cycle) -> Role:
    try:
        role = Role(context.data.get("role"))
    except ValueError:
        role = None
    if role not in await approver_roles(context.session, cycle):
        raise ActionRefused("This card is out of date", "Please use the latest card I sent you.")
    return role


@card_action(DECIDE, load=_load_cycle, refuse=_refuse_unless_approver)
async def decide_kloes(context: ActionContext, cycle: Cycle) -> dict[str, Any]:
    """Approve or send back, once; a repeat or an old card shows how things stand."""
    role = await _role_of(context, cycle)
    session = context.session
    existing = {a.approver_role: a for a in await repo.list_kloe_approvals(session, cycle.id)}
    if cycle.state is not CycleState.PROPOSED or role in existing:
        return await current_kloe_card(session, cycle, role)
    decision = context.data.get("decision")
    if decision not in (KloeDecision.APPROVED, KloeDecision.SENT_BACK):
        raise ActionRefused("This card is out of date", "Please use the latest card I sent you.")
    comment = context.text("comment") or None
    if decision == KloeDecision.SENT_BACK and not comment:
        raise ActionRefused(
            "Say what should change", "Sending back needs a comment for the Audit Team."
        )
    await repo.record_kloe_decision(
        session, cycle.id, context.staff.id, role, KloeDecision(decision), comment, at=context.now
    )
    await repo.record_event(
        session,
        context.staff,
        "cycle",
        cycle.id,
        f"kloes_{decision}",
        None,
        {"role": role, "comment": comment},
    )
    if decision == KloeDecision.SENT_BACK:
        await _send_back(session, cycle, context.staff, role, comment or "")
    elif {r for r in existing} | {role} >= set(await approver_roles(session, cycle)):
        await _open_now(session, cycle, rules=context.rules, now=context.now, why="approved")
    return await current_kloe_card(session, cycle, role)


async def _send_back(
    session: AsyncSession, cycle: Cycle, by: Staff, role: Role, comment: str
) -> None:
    before = repo.snapshot(cycle)
    cycle.state = CycleState.SENT_BACK
    await session.flush()
    await repo.record_event(
        session, by, "cycle", cycle.id, "sent_back", before, repo.snapshot(cycle)
    )
    await _tell_audit_team(
        session,
        cycle,
        f"sent_back:{cycle.id}",
        f"{by.display_name} ({role.label}) sent back the KLOEs for {cycle.title}: "
        f"“{comment}”. Revise them and propose the cycle again.",
    )


async def _open_now(
    session: AsyncSession, cycle: Cycle, *, rules: ProgrammeRules, now: datetime, why: str
) -> str:
    """Open the cycle: all approved (`why="approved"`), or its programme has no approval
    step (`"no_approval"`). If it cannot be allocated, the approvals still stand and the
    Audit Team is told why, so they can fix the data and open it. Says what happened."""
    approved = "are approved" if why == "approved" else "need no approval in this programme"
    before = repo.snapshot(cycle)
    cycle.state = CycleState.KLOE_APPROVED
    await session.flush()
    await repo.record_event(
        session, "system", "cycle", cycle.id, f"kloes_{why}", before, repo.snapshot(cycle)
    )
    try:
        async with session.begin_nested():
            opened = await open_planned_cycle(session, cycle, rules=rules, now=now, actor="system")
    except CycleRequestError as error:
        log.info("cycle %s approved but not allocated", cycle.id)
        text = (
            f"The KLOEs for {cycle.title} {approved}, but the cases could not be allocated, "
            f"so the cycle is not open yet:\n{error}\nFix this, then open it with "
            f"`auditbot cycle open --cycle {cycle.id}`."
        )
        await _tell_audit_team(session, cycle, f"approved_not_opened:{cycle.id}", text)
        return text
    text = (
        f"The KLOEs for {cycle.title} {approved} and the cycle is open: "
        f"{counted(len(opened.allocations), 'audit')} allocated, and everyone has been told. "
        f"{opened.explanation}"
    )
    await _tell_audit_team(session, cycle, f"opened:{cycle.id}", text)
    return text


async def current_kloe_card(session: AsyncSession, cycle: Cycle, role: Role) -> dict[str, Any]:
    proposal = await kloe_proposal(session, cycle)
    outcome = {
        CycleState.PROPOSED: f"The {role.label}'s decision is recorded. Waiting for the others.",
        CycleState.SENT_BACK: "These KLOEs were sent back to the Audit Team.",
        CycleState.KLOE_APPROVED: "Everyone approved. The Audit Team is opening the cycle.",
        CycleState.OPEN: "Everyone approved, and the cycle is open.",
        CycleState.CLOSED: "This cycle is closed.",
    }[cycle.state]
    return kloe_approval_card(proposal, role=role, role_label=role.label, outcome=outcome)


async def _tell_audit_team(session: AsyncSession, cycle: Cycle, key: str, text: str) -> None:
    people = await repo.list_staff_with_role(session, Role.AUDIT_TEAM, cycle.service_id)
    proposer_id = cycle.proposed_by_id
    recipients = {person.id for person in people} | ({proposer_id} if proposer_id else set())
    for person_id in sorted(recipients):
        await tell(session, person_id, "audit_team", f"cycle:{key}", summary=text[:120], text=text)
