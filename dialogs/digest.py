"""The digest's buttons: each opens the decision card of one thing waiting for the Head of Service.

Opening changes nothing: it answers with the same card the decision flow
sends (exemption, dispute, KLOE approval), drawn as things stand now, so a
decision already taken shows its outcome and the card's own buttons act
under their own checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cards.digest import OPEN_DECISION
from cards.exemptions import exemption_decision_card
from cards.kloes import kloe_approval_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.disputes import current_decision_card
from dialogs.exemptions import exemption_view
from dialogs.kloes import current_kloe_card, kloe_proposal
from storage import repositories as repo
from storage.enums import CycleState
from storage.models import Audit, Cycle, ExemptionRequest
from workflow.roles import Role

ITEMS = ("exemption", "dispute", "kloe")


@dataclass(frozen=True)
class Waiting:
    kind: str
    service_id: int
    subject: ExemptionRequest | Audit | Cycle


async def _load(context: ActionContext) -> Waiting | None:
    kind = context.data.get("item")
    if kind not in ITEMS:
        raise ActionRefused("This card is out of date", "Please use the latest digest I sent.")
    item_id = context.number("item_id")
    session = context.session
    if kind == "kloe":
        cycle = await repo.get_cycle(session, item_id)
        return Waiting(kind, cycle.service_id, cycle) if cycle else None
    audit_id = item_id
    subject: ExemptionRequest | Audit | None
    if kind == "exemption":
        subject = await session.get(ExemptionRequest, item_id)
        audit_id = subject.audit_id if subject else 0
    else:
        subject = await repo.get_audit(session, item_id)
    audit = await repo.get_audit(session, audit_id) if subject else None
    cycle = await repo.get_cycle(session, audit.cycle_id) if audit else None
    if subject is None or cycle is None:
        return None
    return Waiting(kind, cycle.service_id, subject)


async def _refuse_unless_head_of_service(context: ActionContext, item: Waiting) -> str | None:
    if await repo.holds_role(
        context.session, context.staff.id, (Role.HEAD_OF_SERVICE,), item.service_id
    ):
        return None
    service = await repo.get_service(context.session, item.service_id)
    return f"the Head of Service for {service.name if service else 'this service'}"


@card_action(OPEN_DECISION, load=_load, refuse=_refuse_unless_head_of_service)
async def open_decision(context: ActionContext, item: Waiting) -> dict[str, Any]:
    session, timezone = context.session, context.rules.timezone
    if isinstance(item.subject, ExemptionRequest):
        return exemption_decision_card(
            await exemption_view(session, item.subject, timezone=timezone)
        )
    if isinstance(item.subject, Audit):
        return await current_decision_card(session, item.subject, timezone=timezone)
    cycle, role = item.subject, Role.HEAD_OF_SERVICE
    decided = {a.approver_role for a in await repo.list_kloe_approvals(session, cycle.id)}
    if cycle.state is CycleState.PROPOSED and role not in decided:
        return kloe_approval_card(
            await kloe_proposal(session, cycle), role=role, role_label=role.label
        )
    return await current_kloe_card(session, cycle, role)
