"""People leaving: retirement keeps their history and hands on their work.

A person retired (the staff import's `active` column or its --retire-absent) is kept, with
every trail row that names them, but is no longer active: they get no more messages (the
outbox records them as unreachable and tells the Audit Team), hold no role in any check, and
are not allocated. Each audit they were auditing and could still hand on is offered to the
Audit Team covering it, on a card that reallocates it (cards/exemptions.leaver_card); the same
card, pressed again or late, says what became of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from cards.exemptions import LeaverView, leaver_card
from dialogs.moderation import audit_team_of
from dialogs.notify import tell
from storage import repositories as repo
from storage.models import Audit
from workflow.states import Action, find_transition


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
