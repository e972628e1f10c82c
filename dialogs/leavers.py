"""People leaving: retirement keeps their history and hands on their work.

A person retired (the staff import's `active` column or its --retire-absent) is kept, with
every trail row that names them, but is no longer active: they get no more messages (the
outbox records them as unreachable and tells the Audit Team), hold no role in any check, and
are not allocated. Each audit they were auditing and could still hand on is offered to the
Audit Team covering it, on a card that reallocates it (cards/exemptions.leaver_card); the same
card, pressed again or late, says what became of it. Each audit they were to moderate and that
is not moderated yet is offered the same way, on a card that gives it the least-loaded
independent moderator (cards/exemptions.moderator_leaver_card), who is sent the moderation
form if it had already been asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.exemptions import REPLACE_MODERATOR, LeaverView, leaver_card, moderator_leaver_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.moderation import ask_moderator, audit_team_of
from dialogs.moderation_routes import choose_audit_moderator, moderator_roles
from dialogs.notify import tell
from dialogs.programmes import cycle_moderation
from storage import repositories as repo
from storage.models import Audit
from workflow.states import Action, AuditState, find_transition

# An audit whose moderator may still be changed: not yet moderated.
BEFORE_MODERATION = frozenset(
    {AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.SUBMITTED, AuditState.RETURNED}
)


async def offer_work_of(session: AsyncSession, staff_ids: Iterable[int]) -> int:
    """Offer each audit these (retired) people were auditing, and that can still be handed on,
    and each they were to moderate and is not moderated yet, to the Audit Team covering it;
    once per audit however often this runs. How many offered."""
    staff_ids = list(staff_ids)
    offered = 0
    for audit in await repo.audits_of_moderators(session, staff_ids, BEFORE_MODERATION):
        assert audit.moderator_id is not None
        view = await leaver_view(session, audit, leaver_id=audit.moderator_id)
        await _offer(
            session, audit, "leaver_moderator", f"left:{audit.moderator_id}:moderate:{audit.id}",
            f"Choose a moderator for case {view.case_ref}: its moderator has left",
            moderator_leaver_card(view), audit.moderator_id,
        )  # fmt: skip
        offered += 1
    for audit in await repo.audits_of_auditors(session, staff_ids):
        if find_transition(audit.state, Action.REALLOCATE) is None:
            continue
        view = await leaver_view(session, audit)
        await _offer(
            session, audit, "leaver_reallocate", f"left:{audit.auditor_id}:audit:{audit.id}",
            f"Reallocate case {view.case_ref}: its auditor has left", leaver_card(view),
            audit.auditor_id,
        )  # fmt: skip
        offered += 1
    return offered


async def _offer(
    session: AsyncSession,
    audit: Audit,
    kind: str,
    key: str,
    summary: str,
    offer: dict[str, Any],
    leaver_id: int,
) -> None:
    """The card to each of the audit's Audit Team, bundled with the rest of the leaver's."""
    for person in await audit_team_of(session, audit):
        await tell(
            session, person.id, kind, key, summary=summary, card=offer, bundle=f"left:{leaver_id}"
        )


async def leaver_view(
    session: AsyncSession, audit: Audit, *, leaver_id: int | None = None
) -> LeaverView:
    """The card's facts; the leaver is the auditor unless said otherwise."""
    case = await repo.get_case(session, audit.case_id)
    leaver = await repo.get_staff(session, leaver_id or audit.auditor_id)
    return LeaverView(audit.id, case.case_ref, leaver.display_name, audit.state.label)


async def _load_audit(context: ActionContext) -> Audit | None:
    return await repo.get_audit(context.session, context.number("audit_id"))


async def _refuse_unless_audit_team(context: ActionContext, audit: Audit) -> str | None:
    team = await audit_team_of(context.session, audit)
    return None if context.staff.id in {p.id for p in team} else "the Audit Team for this audit"


@card_action(REPLACE_MODERATOR, load=_load_audit, refuse=_refuse_unless_audit_team)
async def replace_moderator(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Give a leaver's audit another moderator (and the form, if it was asked for); pressed
    again or late, say what became of it."""
    session = context.session
    events = await repo.list_events(session, "audit", audit.id)
    left = next(
        (e.before["moderator_id"] for e in reversed(events)
         if e.action == "moderator_replaced" and e.before),
        audit.moderator_id,
    )  # fmt: skip
    view = await leaver_view(session, audit, leaver_id=left)
    current = await repo.get_staff(session, audit.moderator_id) if audit.moderator_id else None
    if current is not None and current.active:
        return moderator_leaver_card(
            view, outcome=f"{current.display_name} moderates it now; nothing to change."
        )
    if audit.state not in BEFORE_MODERATION:
        return moderator_leaver_card(view, outcome=f"It is {audit.state.label} now.")
    cycle = await repo.get_cycle(session, audit.cycle_id)
    roles = moderator_roles(await cycle_moderation(session, cycle))
    asked = await repo.latest_event(session, "audit", audit.id, "moderation_requested")
    problem = await choose_audit_moderator(
        session, audit, cycle, roles, now=context.now, actor=context.staff,
        action="moderator_replaced",
    ) if roles else "this programme has no one moderator per audit."  # fmt: skip
    if problem is not None:
        raise ActionRefused(
            "No moderator found",
            f"Nobody can moderate this audit: {problem} Nothing was changed.",
        )
    chosen = await repo.get_staff(session, audit.moderator_id)
    words = f"{chosen.display_name} moderates it now"
    if asked is not None and audit.state is AuditState.SUBMITTED:
        await ask_moderator(session, audit, now=context.now, rules=context.rules)
        words += " and has been sent the moderation form"
    return moderator_leaver_card(view, outcome=f"{words}.")
