""" "I've seen this" on an allocation notice: the person the notice was for says they have
read it, once; the Audit Team's tracker lists who has not after a few working days.

The card comes back with the button gone and the date it was pressed; pressing it again
(from another copy of the card) changes nothing and shows the same. Anyone else pressing it
is refused, as for every card.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cards.allocation import (
    ACKNOWLEDGE,
    AllocationView,
    moderator_card,
    practitioner_card,
    team_manager_card,
)
from cards.dates import day
from dialogs.actions import ActionContext, card_action
from dialogs.notices import allocation_views
from storage import repositories as repo
from storage.models import Acknowledgement, Audit

PARTS = {
    "auditor": "auditor_id",
    "moderator": "moderator_id",
    "practitioner": "practitioner_id",
    "team_manager": "team_manager_id",
}


async def acknowledged(
    session: AsyncSession, view: AllocationView, staff_id: int, timezone: str
) -> AllocationView:
    """The view as `staff_id` sees it: with the date they pressed "I've seen this", if so."""
    at = await session.scalar(
        select(Acknowledgement.acknowledged_at).where(
            Acknowledgement.audit_id == view.audit_id, Acknowledgement.staff_id == staff_id
        )
    )
    return replace(view, acknowledged=day(at, timezone)) if at is not None else view


async def _load(context: ActionContext) -> Audit | None:
    return await repo.get_audit(context.session, context.number("audit_id"))


async def _refuse_unless_theirs(context: ActionContext, audit: Audit) -> str | None:
    part = context.text("part")
    if part in PARTS and getattr(audit, PARTS[part]) == context.staff.id:
        return None
    return "the person this notice was sent to"


@card_action(ACKNOWLEDGE, load=_load, refuse=_refuse_unless_theirs)
async def acknowledge(context: ActionContext, audit: Audit) -> dict[str, Any]:
    session, staff, part = context.session, context.staff, context.text("part")
    already = await session.scalar(
        select(Acknowledgement.id).where(
            Acknowledgement.audit_id == audit.id, Acknowledgement.staff_id == staff.id
        )
    )
    if already is None:
        try:
            async with session.begin_nested():
                session.add(
                    Acknowledgement(
                        audit_id=audit.id, staff_id=staff.id, acknowledged_at=context.now
                    )
                )
        except IntegrityError:  # pressed twice at once: the other press recorded it
            return await allocation_card_for(context, audit, part)
        await repo.record_event(
            session, staff, "audit", audit.id, "allocation_acknowledged", None, {"part": part},
            at=context.now,
        )  # fmt: skip
    return await allocation_card_for(context, audit, part)


async def allocation_card_for(context: ActionContext, audit: Audit, part: str) -> dict[str, Any]:
    """The allocation card of `part`, as things stand now."""
    if part == "auditor":
        from dialogs.exemptions import auditor_card_now

        return await auditor_card_now(context, audit)
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    [view] = await allocation_views(
        context.session, cycle, [audit], timezone=context.rules.timezone
    )
    view = await acknowledged(context.session, view, context.staff.id, context.rules.timezone)
    build = {
        "moderator": moderator_card,
        "practitioner": practitioner_card,
        "team_manager": team_manager_card,
    }[part]
    return build(view)
