"""City of London's dispute route: "Should there be any significant disagreement between
Moderation Panel Members and/or the reviewer, the Independent Chair of the Achieving
Excellence Board will have the deciding say."

A review the tier-one moderator did not send to the panel can still go there: the reviewer,
the practitioner, their team manager or a coordinator who disagrees with the moderated grade
asks for it on the result card, with a reason. The review is referred as if the tier-one
moderator had chosen it (members stand aside on their own reviews, the meeting planned or
joined), the chair's card shows who asked and why, and everyone who had the result is told
it now goes to the panel. Once referred, asking again changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from cards.moderation import ASK_PANEL, RATIONALE_LIMIT, result_card
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.moderation import (
    ASK_PANEL_HINT,
    PANEL_STATUS,
    Pressed,
    coordinators_of,
    result_for,
    result_view,
    send_result,
)
from dialogs.panel import panel_of, refer_to_panel
from dialogs.programmes import audit_dispute_route
from storage import repositories as repo
from workflow.states import AuditState

log = logging.getLogger(__name__)

# Moderated and not yet past a follow-up: where the tier-one grade can still be taken further.
ASKABLE = frozenset({AuditState.MODERATED, AuditState.UOPP_BOOKED})


async def load_audit(context: ActionContext) -> Pressed | None:
    """The audit, locked; a repeat is recognised by the review already being referred."""
    audit = await repo.get_audit_for_update(context.session, context.number("audit_id"))
    return Pressed(audit, stale=False) if audit is not None else None


async def _refuse_unless_party(context: ActionContext, pressed: Pressed) -> str | None:
    audit, staff_id = pressed.audit, context.staff.id
    if staff_id in (audit.auditor_id, audit.practitioner_id, audit.team_manager_id):
        return None
    if any(person.id == staff_id for person in await coordinators_of(context.session, audit)):
        return None
    return (
        "the reviewer, the practitioner whose work was reviewed, their team manager or a "
        "coordinator"
    )


@card_action(ASK_PANEL, load=load_audit, refuse=_refuse_unless_party)
async def ask_panel(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    timezone = context.rules.timezone
    if await audit_dispute_route(session, audit) != "panel_chair":
        raise ActionRefused(
            "No panel for this review",
            "This audit's programme has no moderation panel to ask. Nothing was changed.",
        )
    if panel_of(audit):
        view = await result_view(session, audit, timezone=timezone)
        return result_card(
            replace(
                view,
                status="This review is already with the moderation panel, so nothing was "
                "changed. Its chair records the panel's decision.",
            )
        )
    if audit.state not in ASKABLE:
        return await result_for(session, audit, context.staff, timezone=timezone)
    reason = context.text("reason", limit=RATIONALE_LIMIT)
    if not reason:
        view = await result_view(session, audit, timezone=timezone)
        return result_card(
            replace(view, status=ASK_PANEL_HINT),
            ask_panel=True,
            error="Give your reason: the panel's chair reads it. Nothing was sent.",
        )
    referred = await refer_to_panel(
        session,
        audit,
        chosen=True,
        now=context.now,
        rules=context.rules,
        asked=(context.staff, reason),
    )
    if not referred:  # tier one not recorded: the result card would not have been sent
        return await result_for(session, audit, context.staff, timezone=timezone)
    status = f"{context.staff.display_name} asked for the panel. {PANEL_STATUS}"
    await send_result(
        session,
        audit,
        timezone=timezone,
        key=f"panel:audit:{audit.id}:asked",
        may_dispute=False,
        status=status,
        not_to=[context.staff.id],
    )
    log.info("audit %s asked of the panel by staff=%s", audit.id, context.staff.id)
    view = await result_view(session, audit, timezone=timezone)
    return result_card(replace(view, status=status))
