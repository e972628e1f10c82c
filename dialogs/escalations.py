"""Escalations one action away on every audit card (DOMAIN.md, after the fast path).

A serious safeguarding concern goes at once to the team manager and the
Audit Manager(s) (Hillingdon); evidence of unaddressed racism or
discrimination goes to the Head of Safeguarding and QA (City of London).
Anyone who may see the audit may raise either. Each is recorded in the
audit's trail with who raised it and who it went to; the person raising it
is shown who was told. A repeated press with the same words (Teams retries
invokes) sends and records nothing new.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from cards.escalations import (
    CONCERN_INPUT,
    CONCERN_LIMIT,
    RAISE_SAFEGUARDING,
    REPORT_DISCRIMINATION,
)
from cards.notice import notice_card
from dialogs.access import can_see_audit
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.notify import tell
from storage import repositories as repo
from storage.models import Audit, Staff
from workflow.roles import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    kind: str  # the trail's action and the outbox kind
    what: str  # how the concern is named in messages
    roles: tuple[Role, ...]  # who it goes to, beside the team manager when `to_team_manager`
    to_team_manager: bool


ROUTES = {
    RAISE_SAFEGUARDING: Route(
        "safeguarding_concern", "a safeguarding concern", (Role.AUDIT_MANAGER,), True
    ),
    REPORT_DISCRIMINATION: Route(
        "discrimination_concern",
        "a concern about racism or discrimination",
        (Role.HEAD_OF_SAFEGUARDING_QA,),
        False,
    ),
}


async def _load_audit(context: ActionContext) -> Audit | None:
    return await repo.get_audit(context.session, context.number("audit_id"))


async def _refuse_unless_can_see(context: ActionContext, audit: Audit) -> str | None:
    if await can_see_audit(context.session, context.staff, audit):
        return None
    return "someone allocated to this audit, their managers or the Audit Team"


async def _recipients(context: ActionContext, audit: Audit, route: Route) -> list[Staff]:
    session = context.session
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    people: dict[int, Staff] = {}
    if route.to_team_manager and audit.team_manager_id is not None:
        manager = await repo.get_staff(session, audit.team_manager_id)
        if manager is not None and manager.active:
            people[manager.id] = manager
    for role in route.roles:
        for person in await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        ):
            people.setdefault(person.id, person)
    people.pop(context.staff.id, None)  # the person raising it knows
    return list(people.values())


async def _escalate(context: ActionContext, audit: Audit, verb: str) -> dict[str, Any]:
    route = ROUTES[verb]
    session = context.session
    concern = context.text(CONCERN_INPUT[verb], limit=CONCERN_LIMIT)
    if not concern:
        raise ActionRefused(
            "Describe the concern", "Say in a sentence or two what the concern is (no names)."
        )
    case = await repo.get_case(session, audit.case_id)
    recipients = await _recipients(context, audit, route)
    if not recipients:
        raise ActionRefused(
            "Nobody to send this to",
            f"No one is set up to receive {route.what} for case {case.case_ref}. Nothing was "
            "sent: raise it with your manager directly now, and ask the Audit Team to fix "
            "the staff list.",
        )
    fingerprint = hashlib.sha256(concern.encode()).hexdigest()[:16]
    key = f"{route.kind}:audit:{audit.id}:by:{context.staff.id}:{fingerprint}"
    names = ", ".join(person.display_name for person in recipients)
    sent = notice_card(
        "Sent",
        f"Your {route.what.removeprefix('a ')} about case {case.case_ref} went to {names}. "
        "It is recorded in the audit's history. If a child is at immediate risk, also call "
        "them or follow your safeguarding procedure now.",
        footnote="To carry on with the audit, type my audits.",
    )
    if await _already_raised(context, audit, route, fingerprint):
        return sent
    for person in recipients:
        await tell(
            session,
            person.id,
            route.kind,
            key,
            summary=f"{route.what.capitalize()} about case {case.case_ref}",
            text=f"**{context.staff.display_name} raised {route.what} about case "
            f"{case.case_ref}.**\n\n{concern}\n\nPlease contact {context.staff.display_name} "
            "today.",
        )
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        route.kind,
        None,
        {
            "concern": concern,
            "fingerprint": fingerprint,
            "sent_to": sorted(person.id for person in recipients),
        },
        at=context.now,
    )
    log.info("%s raised on audit %s by staff=%s", route.kind, audit.id, context.staff.id)
    return sent


async def _already_raised(
    context: ActionContext, audit: Audit, route: Route, fingerprint: str
) -> bool:
    """True when the latest concern of this kind is this person's, in the same words."""
    latest = await repo.latest_event(context.session, "audit", audit.id, route.kind)
    return (
        latest is not None
        and latest.actor_id == context.staff.id
        and (latest.after or {}).get("fingerprint") == fingerprint
    )


@card_action(RAISE_SAFEGUARDING, load=_load_audit, refuse=_refuse_unless_can_see)
async def raise_safeguarding_concern(context: ActionContext, audit: Audit) -> dict[str, Any]:
    return await _escalate(context, audit, RAISE_SAFEGUARDING)


@card_action(REPORT_DISCRIMINATION, load=_load_audit, refuse=_refuse_unless_can_see)
async def report_discrimination_concern(context: ActionContext, audit: Audit) -> dict[str, Any]:
    return await _escalate(context, audit, REPORT_DISCRIMINATION)
