"""People leaving and coming back: retirement keeps their history and hands on their work.

A person retired (the staff import's `active` column or its --retire-absent, or the directory
sync when Entra disables, deletes or ungroups them) is kept, with every trail row that names
them, but is no longer active: they get no more messages (the outbox records them as
unreachable and tells the Audit Team), hold no role in any check, and are not allocated. Each
audit they were auditing and could still hand on is offered to the Audit Team covering it, on
a card that reallocates it (cards/exemptions.leaver_card); the same card, pressed again or
late, says what became of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cards.exemptions import LeaverView, leaver_card
from dialogs.moderation import audit_team_of
from dialogs.notify import tell
from storage import repositories as repo
from storage.models import Audit, Staff
from storage.repositories.events import Actor
from workflow.states import Action, find_transition

log = logging.getLogger(__name__)


async def retire(
    session: AsyncSession, staff: Staff, *, actor: Actor, now: datetime, why: str
) -> bool:
    """Mark the person as left and offer their open audits; False if they had left already."""
    if not staff.active:
        return False
    before = repo.snapshot(staff, ("active",))
    staff.active = False
    await session.flush()
    await repo.record_event(
        session, actor, "staff", staff.id, "retired", before, {"active": False, "why": why}, at=now
    )
    await offer_work_of(session, [staff.id])
    log.info("staff=%s retired (%s)", staff.id, why)
    return True


async def reinstate(session: AsyncSession, staff: Staff, *, actor: Actor, now: datetime) -> bool:
    """A person back (re-enabled, back in a group): active again; False if they were."""
    if staff.active:
        return False
    staff.active = True
    await session.flush()
    await repo.record_event(
        session, actor, "staff", staff.id, "reinstated", {"active": False}, {"active": True}, at=now
    )
    return True


async def offer_work_of(session: AsyncSession, staff_ids: Iterable[int]) -> int:
    """Offer each audit these (retired) people were auditing, and that can still be handed on,
    to the Audit Team covering it; once per audit however often this runs. How many offered."""
    offered = 0
    for audit in await repo.audits_of_auditors(session, list(staff_ids)):
        if find_transition(audit.state, Action.REALLOCATE) is None:
            continue
        view = await leaver_view(session, audit)
        for person in await audit_team_of(session, audit):
            await tell(
                session,
                person.id,
                "leaver_reallocate",
                f"left:{audit.auditor_id}:audit:{audit.id}",
                summary=f"Reallocate case {view.case_ref}: its auditor has left",
                card=leaver_card(view),
                bundle=f"left:{audit.auditor_id}",
            )
        offered += 1
    return offered


async def leaver_view(session: AsyncSession, audit: Audit) -> LeaverView:
    case = await repo.get_case(session, audit.case_id)
    auditor = await repo.get_staff(session, audit.auditor_id)
    return LeaverView(audit.id, case.case_ref, auditor.display_name, audit.state.label)
