"""An auditor asks to be excused from an audit; only the Head of Service decides (step 4).

Approving tells the auditor and the Audit Team, who reallocate from their
card (or `auditbot audit reallocate`); declining tells the auditor. Every
step is one transaction with its trail and messages.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.allocation import REQUEST_EXEMPTION, auditor_card
from cards.exemptions import (
    DECIDE_EXEMPTION,
    REALLOCATE,
    ExemptionView,
    exemption_decision_card,
    leaver_card,
    reallocate_card,
)
from dialogs.acknowledgements import acknowledged
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.leavers import leaver_view
from dialogs.notices import allocation_views
from dialogs.notify import tell
from dialogs.reallocation import reallocate_audit
from dialogs.steps import state_words
from storage import repositories as repo
from storage.enums import ExemptionState
from storage.models import Audit, ExemptionRequest
from workflow.roles import Role
from workflow.states import Action, AuditState, find_transition

log = logging.getLogger(__name__)

EXEMPTIBLE = frozenset({AuditState.ALLOCATED, AuditState.IN_PROGRESS})


async def _load_audit(context: ActionContext) -> Audit | None:
    return await repo.get_audit(context.session, context.number("audit_id"))


async def _refuse_unless_auditor(context: ActionContext, audit: Audit) -> str | None:
    return None if audit.auditor_id == context.staff.id else "the auditor allocated to this audit"


@card_action(REQUEST_EXEMPTION, load=_load_audit, refuse=_refuse_unless_auditor)
async def request_exemption(context: ActionContext, audit: Audit) -> dict[str, Any]:
    session = context.session
    pending = await repo.open_exemption_request(session, audit.id)
    if pending is not None or audit.state not in EXEMPTIBLE:
        return await auditor_card_now(context, audit)
    reason = context.text("reason")
    if not reason:
        raise ActionRefused("Give a reason", "The Head of Service needs a reason to decide.")
    request = await repo.add_exemption_request(session, audit.id, audit.auditor_id, reason)
    await repo.record_event(
        session, context.staff, "exemption", request.id, "requested", None, repo.snapshot(request)
    )
    view = await exemption_view(session, request, timezone=context.rules.timezone)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    for head in await repo.list_staff_with_role(session, Role.HEAD_OF_SERVICE, cycle.service_id):
        await tell(
            session,
            head.id,
            "exemption",
            f"exemption:{request.id}:decide",
            summary=f"{view.auditor} asks to be exempt from auditing case {view.case_ref}",
            card=exemption_decision_card(view),
        )
    return await auditor_card_now(context, audit)


async def auditor_card_now(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """The auditor's allocation card as things stand now."""
    session = context.session
    cycle = await repo.get_cycle(session, audit.cycle_id)
    [view] = await allocation_views(session, cycle, [audit], timezone=context.rules.timezone)
    view = await acknowledged(session, view, context.staff.id, context.rules.timezone)
    latest = await repo.latest_exemption_request(session, audit.id)
    if audit.state not in EXEMPTIBLE:
        status = f"This audit is now {state_words(audit).lower()}; it can no longer be exempted."
    elif latest is None:
        return auditor_card(view)
    else:
        status = {
            ExemptionState.REQUESTED: "You asked to be exempt. Waiting for the Head of Service.",
            ExemptionState.APPROVED: "Your exemption was approved; the Audit Team will reallocate.",
            ExemptionState.DECLINED: "Your exemption was declined, so this audit is still yours.",
        }[latest.state]
    return auditor_card(view, exemption=status)


async def _load_request(context: ActionContext) -> ExemptionRequest | None:
    return await repo.get_exemption_request_for_update(
        context.session, context.number("request_id")
    )


async def _refuse_unless_head_of_service(
    context: ActionContext, request: ExemptionRequest
) -> str | None:
    service = await _service_of_audit(context.session, request.audit_id)
    if await repo.holds_role(
        context.session, context.staff.id, (Role.HEAD_OF_SERVICE,), service.id
    ):
        return None
    return f"the Head of Service for {service.name}"


@card_action(DECIDE_EXEMPTION, load=_load_request, refuse=_refuse_unless_head_of_service)
async def decide_exemption(context: ActionContext, request: ExemptionRequest) -> dict[str, Any]:
    """Approve or decline once; a repeat, or another Head of Service's card, shows the outcome."""
    session = context.session
    if request.state is not ExemptionState.REQUESTED:
        return await _decision_card(context, request)
    decision = context.data.get("decision")
    if decision not in (ExemptionState.APPROVED, ExemptionState.DECLINED):
        raise ActionRefused("This card is out of date", "Please use the latest card I sent you.")
    before = repo.snapshot(request)
    request.state = ExemptionState(decision)
    request.decided_by_id = context.staff.id
    request.decided_at = context.now
    request.comment = context.text("comment") or None
    await session.flush()
    await repo.record_event(
        session, context.staff, "exemption", request.id, decision, before, repo.snapshot(request)
    )
    view = await exemption_view(session, request, timezone=context.rules.timezone)
    verb = "approved" if request.state is ExemptionState.APPROVED else "declined"
    note = f" Their note: “{request.comment}”" if request.comment else ""
    await tell(
        session,
        request.auditor_id,
        "exemption",
        f"exemption:{request.id}:{verb}",
        summary=f"Your exemption from case {view.case_ref} was {verb}",
        text=f"{context.staff.display_name} {verb} your request to be exempt from auditing case "
        f"{view.case_ref}.{note}"
        + (" The Audit Team will reallocate it." if verb == "approved" else " It is still yours."),
    )
    if request.state is ExemptionState.APPROVED:
        audit = await repo.get_audit(session, request.audit_id)
        cycle = await repo.get_cycle(session, audit.cycle_id)
        for person in await repo.list_staff_with_role(session, Role.AUDIT_TEAM, cycle.service_id):
            await tell(
                session,
                person.id,
                "exemption",
                f"exemption:{request.id}:reallocate",
                summary=f"Reallocate case {view.case_ref}: its auditor is exempt",
                card=reallocate_card(view),
            )
    return await _decision_card(context, request)


async def _decision_card(context: ActionContext, request: ExemptionRequest) -> dict[str, Any]:
    view = await exemption_view(context.session, request, timezone=context.rules.timezone)
    return exemption_decision_card(view)


async def _refuse_unless_audit_team(context: ActionContext, audit: Audit) -> str | None:
    service = await _service_of_audit(context.session, audit.id)
    roles = (Role.AUDIT_TEAM, Role.AUDIT_MANAGER)
    if await repo.holds_role(context.session, context.staff.id, roles, service.id):
        return None
    return f"the Audit Team for {service.name}"


@card_action(REALLOCATE, load=_load_audit, refuse=_refuse_unless_audit_team)
async def reallocate_from_card(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Reallocate an audit whose auditor was exempted, or has left; pressing twice changes
    nothing."""
    session = context.session
    request = await repo.latest_exemption_request(session, audit.id)
    auditor = await repo.get_staff(session, audit.auditor_id)
    if request is None or request.state is not ExemptionState.APPROVED:
        if auditor is not None and not auditor.active:
            return await _reallocate_leavers(context, audit)
        raise ActionRefused(
            "Nothing to reallocate", "This audit has no approved exemption. Nothing was changed."
        )
    view = await exemption_view(session, request, timezone=context.rules.timezone)
    if audit.state is AuditState.REALLOCATED:
        return reallocate_card(view, outcome=await _reallocated_to(session, audit))
    successor = await reallocate_audit(
        session,
        audit,
        excluding=audit.auditor_id,
        actor=context.staff,
        now=context.now,
        rules=context.rules,
    )
    new_auditor = await repo.get_staff(session, successor.auditor_id)
    return reallocate_card(
        view, outcome=f"Reallocated to {new_auditor.display_name}, who has been told."
    )


async def _reallocate_leavers(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """The leaver's card (dialogs/leavers.py): reallocate, or say what became of it."""
    session = context.session
    view = await leaver_view(session, audit)
    if audit.state is AuditState.REALLOCATED:
        return leaver_card(view, outcome=await _reallocated_to(session, audit))
    if find_transition(audit.state, Action.REALLOCATE) is None:
        return leaver_card(view, outcome=f"It is {audit.state.label} now: nothing to hand on.")
    successor = await reallocate_audit(
        session, audit, excluding=audit.auditor_id, actor=context.staff, now=context.now,
        rules=context.rules,
    )  # fmt: skip
    new_auditor = await repo.get_staff(session, successor.auditor_id)
    return leaver_card(
        view, outcome=f"Reallocated to {new_auditor.display_name}, who has been told."
    )


async def _reallocated_to(session: AsyncSession, audit: Audit) -> str:
    successor = await repo.successor_of(session, audit.id)
    if successor is None:
        return "This audit has already been reallocated."
    auditor = await repo.get_staff(session, successor.auditor_id)
    return f"Already reallocated to {auditor.display_name}."


async def exemption_view(
    session: AsyncSession, request: ExemptionRequest, *, timezone: str
) -> ExemptionView:
    audit = await repo.get_audit(session, request.audit_id)
    case = await repo.get_case(session, audit.case_id)
    people = await repo.staff_by_ids(session, {request.auditor_id, request.decided_by_id or 0})
    decided_by = people.get(request.decided_by_id or 0)
    return ExemptionView(
        request_id=request.id,
        audit_id=audit.id,
        case_ref=case.case_ref,
        auditor=people[request.auditor_id].display_name,
        reason=request.reason,
        state=request.state,
        decided_by=decided_by.display_name if decided_by else None,
        comment=request.comment,
    )


async def _service_of_audit(session: AsyncSession, audit_id: int):
    audit = await repo.get_audit(session, audit_id)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    return await repo.get_service(session, cycle.service_id)
