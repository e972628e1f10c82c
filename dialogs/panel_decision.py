"""The panel's chair records its final grading of one review: once, with reasons, and
whether members or the reviewer disagreed so the chair's deciding say settled it ("the
Independent Chair of the Achieving Excellence Board will have the deciding say"). The
grade becomes the review's final grade and everyone who had the result gets it again."""

from __future__ import annotations

from typing import Any

from cards.panel import DECISION_LIMIT, PANEL_DECIDE, panel_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.closing import close_if_done
from dialogs.moderation import PANEL_DECIDED, Pressed, send_result
from dialogs.panel import panel_of, panel_view
from storage import repositories as repo
from workflow.grades import Grade


async def load_audit(context: ActionContext) -> Pressed | None:
    """The audit, locked; the card is refused on its own once the decision is recorded."""
    audit = await repo.get_audit_for_update(context.session, context.number("audit_id"))
    return Pressed(audit, stale=False) if audit is not None else None


async def _refuse_unless_chair(context: ActionContext, pressed: Pressed) -> str | None:
    if panel_of(pressed.audit).get("chair_id") == context.staff.id:
        return None
    return "the chair of the moderation panel"


@card_action(PANEL_DECIDE, load=load_audit, refuse=_refuse_unless_chair)
async def decide_panel(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    timezone = context.rules.timezone
    panel = panel_of(audit)
    if panel.get("state") == "decided":
        return panel_card(
            await panel_view(
                session,
                audit,
                timezone=timezone,
                notice="The panel's decision was already recorded, so nothing was changed.",
            )
        )
    typed = {
        "grade": context.text("grade", limit=32),
        "chair_decided": context.text("chair_decided", limit=5),
        "rationale": context.text("rationale", limit=DECISION_LIMIT),
    }
    try:
        grade = Grade(typed["grade"])
    except ValueError:
        raise ActionRefused(
            "This card is out of date", "Please use the latest card I sent."
        ) from None
    if not typed["rationale"]:
        return panel_card(
            await panel_view(
                session,
                audit,
                timezone=timezone,
                values=typed,
                error="Say what the panel agreed and why. Nothing was saved.",
            )
        )
    before = {"final_grade": audit.final_grade, "panel": panel}
    decided = {
        **panel,
        "state": "decided",
        "grade": grade.value,
        "chair_decided": typed["chair_decided"] == "true",
        "rationale": typed["rationale"],
        "decided_by": context.staff.id,
        "decided_at": context.now.isoformat(),
    }
    audit.draft = {**(audit.draft or {}), "panel": decided}
    audit.final_grade = grade  # the tier-one moderator's grade stays as moderated_grade
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "panel_decided",
        before,
        {"final_grade": grade, "panel": decided},
        at=context.now,
    )
    await send_result(
        session,
        audit,
        timezone=timezone,
        key=f"panel:audit:{audit.id}",
        may_dispute=False,
        status=PANEL_DECIDED,
        also=list(panel.get("sitting", ())),
    )
    await close_if_done(session, audit, now=context.now)
    return panel_card(await panel_view(session, audit, timezone=timezone))
