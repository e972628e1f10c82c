"""An audit closes when its programme owes nothing more on it.

After moderation (or a grade let stand, a panel's decision, part B recorded, urgent issues
confirmed) `close_if_done` closes the audit, in the caller's transaction with a trail row,
when nothing is left: no follow-up meeting due, no part B, no urgent issues unconfirmed, no
review waiting for the panel, and no way left to take the grade further under the
programme's dispute route (Tower Hamlets' dispute, or City of London's "Ask the panel",
keeps a moderated audit open). Haringey's light-touch audits close as their grade stands;
Hillingdon's once part B is recorded; City of London's once the panel has decided. Dip
audits, re-audits and escalation read the final grade, not the state, and go on as before.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.panel import panel_of
from dialogs.programmes import audit_dispute_route
from storage import repositories as repo
from storage.models import Audit
from storage.repositories.reminders import URGENT_CONFIRMED
from workflow.roles import Party
from workflow.states import Action, AuditState, transition

log = logging.getLogger(__name__)

CLOSABLE = frozenset({AuditState.MODERATED, AuditState.DECIDED})


async def close_if_done(session: AsyncSession, audit: Audit, *, now: datetime) -> bool:
    """Close the audit if its programme owes nothing more on it; whether it was closed."""
    if audit.state not in CLOSABLE or audit.final_grade is None:
        return False
    if audit.uopp_due_at is not None or audit.part_b_due_at is not None:
        return False
    if audit.urgent_issues_due_at is not None and not await repo.latest_event(
        session, "audit", audit.id, URGENT_CONFIRMED
    ):
        return False
    panel = panel_of(audit).get("state")
    if panel == "referred":
        return False
    if audit.state is AuditState.MODERATED:
        route = await audit_dispute_route(session, audit)
        if route == "moderator_then_hos_and_audit_team":
            return False  # the grade may still be disputed
        if route == "panel_chair" and panel is None:
            return False  # the reviewer may still ask the panel
    before = repo.snapshot(audit, ("state",))
    audit.state = transition(audit.state, Action.CLOSE, Party.SYSTEM)
    await session.flush()
    await repo.record_event(
        session, "system", "audit", audit.id, "closed", before,
        {"state": audit.state.value, "why": "nothing more is owed under its programme"}, at=now,
    )  # fmt: skip
    log.info("audit %s closed: nothing more owed", audit.id)
    return True
