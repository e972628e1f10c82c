"""Recording part B of an audit: the practitioner or team manager, once, for both (see
`dialogs/part_b_request.py` for when it is asked for)."""

from __future__ import annotations

from typing import Any

from cards.part_b import ANSWER_LIMIT, RECORD_PART_B, answer_field, part_b_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.closing import close_if_done
from dialogs.moderation import Pressed, audit_team_of
from dialogs.notify import tell
from dialogs.part_b_request import RECORDED, REQUESTED, part_b_view
from storage import repositories as repo


async def _refuse_unless_practitioner_or_manager(
    context: ActionContext, pressed: Pressed
) -> str | None:
    audit = pressed.audit
    if context.staff.id in (audit.practitioner_id, audit.team_manager_id):
        return None
    return "the practitioner whose work was audited, or their team manager"


async def load_audit(context: ActionContext) -> Pressed | None:
    """The audit, locked. Part B's card is never stale: what it asks does not change as the
    audit moves on (it is sent while the grade is being settled), and a second recording is
    refused on its own."""
    audit = await repo.get_audit_for_update(context.session, context.number("audit_id"))
    return Pressed(audit, stale=False) if audit is not None else None


@card_action(RECORD_PART_B, load=load_audit, refuse=_refuse_unless_practitioner_or_manager)
async def record_part_b(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """Once, by either of them, with every question answered; the other and the Audit Team
    are told."""
    audit, session = pressed.audit, context.session
    timezone = context.rules.timezone
    if await repo.latest_event(session, "audit", audit.id, REQUESTED) is None:
        raise ActionRefused(
            "There is no part B to record",
            "This audit's programme has not asked for part B. Nothing was changed.",
        )
    view = await part_b_view(session, audit, timezone=timezone)
    if view.recorded is not None:
        return part_b_card(
            await part_b_view(
                session,
                audit,
                timezone=timezone,
                notice="Part B was already recorded, so nothing was changed.",
            )
        )
    typed = {
        answer_field(n): context.text(answer_field(n), limit=ANSWER_LIMIT)
        for n in range(1, len(view.prompts) + 1)
    }
    missing = [n for n in range(1, len(view.prompts) + 1) if not typed[answer_field(n)]]
    if missing:
        which = ", ".join(str(n) for n in missing)
        return part_b_card(
            await part_b_view(
                session,
                audit,
                timezone=timezone,
                values=typed,
                error=f"Answer every question before recording part B (not yet: {which}). "
                "Nothing was saved.",
            )
        )
    answers = [typed[answer_field(n)] for n in range(1, len(view.prompts) + 1)]
    before = {"part_b_due_at": audit.part_b_due_at}
    audit.part_b_due_at = None
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        RECORDED,
        before,
        {"answers": answers, "part_b_due_at": None},
        at=context.now,
    )
    shown = await part_b_view(session, audit, timezone=timezone)
    others = {audit.practitioner_id, audit.team_manager_id} - {context.staff.id}
    others |= {person.id for person in await audit_team_of(session, audit)}
    for person_id in sorted(p for p in others if p is not None):
        await tell(
            session,
            person_id,
            "part_b",
            f"part_b:audit:{audit.id}:recorded",
            summary=f"Case {view.case_ref}: part B recorded",
            card=part_b_card(shown),
        )
    await close_if_done(session, audit, now=context.now)
    return part_b_card(shown)
