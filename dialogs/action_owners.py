"""Service-level actions get their owners from the service, not from the audit.

An auditor's service-level recommendation ("supervision every four weeks
across the team") is the service's to carry out. It is saved without an
owner; on submission the service's Head of Service is asked, on a card, to
give each one an owner (the Audit Team may do it too, from `my audits`). The
owner is told, and finds it in `my actions` like any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.action_owners import (
    ASSIGN_OWNERS,
    OwnersView,
    ServiceAction,
    owner_field,
    owners_card,
)
from cards.dates import day
from dialogs.actions import ActionContext, card_action
from dialogs.notify import tell
from storage import repositories as repo
from storage.enums import RecommendationLevel
from storage.models import Audit, Recommendation
from workflow.roles import Role
from workflow.words import agreeing, counted

ASSIGNERS = (Role.HEAD_OF_SERVICE, Role.AUDIT_TEAM, Role.AUDIT_MANAGER)
# Who may carry a service-level action: the people who lead and run the service.
CARRIERS = (
    Role.HEAD_OF_SERVICE,
    Role.COORDINATOR,
    Role.TEAM_MANAGER,
    Role.AUDIT_MANAGER,
    Role.AUDIT_TEAM,
    Role.DIVISIONAL_DIRECTOR,
)


async def service_actions(session: AsyncSession, audit_id: int) -> list[Recommendation]:
    return [
        r
        for r in await repo.list_recommendations(session, audit_id)
        if r.level is RecommendationLevel.SERVICE
    ]


async def ask_for_owners(session: AsyncSession, audit: Audit, *, timezone: str) -> None:
    """Queue the owners card to the service's Head of Service when the audit recommends
    anything at service level. Call in the submitting transaction."""
    unowned = [r for r in await service_actions(session, audit.id) if r.owner_id is None]
    if not unowned:
        return
    view = await owners_view(session, audit, timezone=timezone)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    round_ = (audit.draft or {}).get("completeness", {}).get("round", 1)
    for head in await repo.list_staff_with_role(session, Role.HEAD_OF_SERVICE, cycle.service_id):
        await tell(
            session,
            head.id,
            "action_owners",
            f"owners:audit:{audit.id}:round:{round_}",
            summary=f"Give owners to the service-level actions from case {view.case_ref}",
            card=owners_card(view),
        )


async def owners_view(
    session: AsyncSession,
    audit: Audit,
    *,
    timezone: str,
    errors: dict[int, str] | None = None,
    outcome: str | None = None,
) -> OwnersView:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    service = await repo.get_service(session, cycle.service_id)
    case = await repo.get_case(session, audit.case_id)
    actions = await service_actions(session, audit.id)
    owners = await repo.staff_by_ids(session, {a.owner_id for a in actions if a.owner_id})
    return OwnersView(
        audit_id=audit.id,
        case_ref=case.case_ref,
        service=service.name,
        actions=[
            ServiceAction(
                a.id,
                a.action,
                day(a.due_on, timezone) if a.due_on else "no date",
                owners[a.owner_id].display_name if a.owner_id in owners else None,
            )
            for a in actions
        ],
        candidates=await candidates(session, cycle.service_id),
        errors=errors or {},
        outcome=outcome,
    )


async def candidates(session: AsyncSession, service_id: int) -> list[tuple[str, str]]:
    """Who may carry a service-level action, as (staff id, "Name (role)"), by name."""
    people: dict[int, str] = {}
    for person, role in await repo.staff_holding_roles(session, CARRIERS, service_id):
        people.setdefault(person.id, f"{person.display_name} ({role.label})")
    return sorted(((str(i), name) for i, name in people.items()), key=lambda pair: pair[1])


async def _load(context: ActionContext) -> Audit | None:
    return await repo.get_audit_for_update(context.session, context.number("audit_id"))


async def refuse_unless_assigner(context: ActionContext, audit: Audit) -> str | None:
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    if await repo.holds_role(context.session, context.staff.id, ASSIGNERS, cycle.service_id):
        return None
    service = await repo.get_service(context.session, cycle.service_id)
    return f"the Head of Service or the Audit Team for {service.name}"


@card_action(ASSIGN_OWNERS, load=_load, refuse=refuse_unless_assigner)
async def assign_owners(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Give the chosen owners to the actions still without one; an action already given an
    owner (from another copy of the card, by someone else) keeps it."""
    session, timezone = context.session, context.rules.timezone
    cycle = await repo.get_cycle(session, audit.cycle_id)
    allowed = {int(i) for i, _ in await candidates(session, cycle.service_id)}
    waiting = {a.id: a for a in await service_actions(session, audit.id) if a.owner_id is None}
    chosen: dict[int, int] = {}
    errors: dict[int, str] = {}
    for action_id in waiting:
        typed = context.text(owner_field(action_id), limit=12)
        if not typed:
            continue
        if not typed.isdigit() or int(typed) not in allowed:
            errors[action_id] = "Choose someone from the list."
            continue
        chosen[action_id] = int(typed)
    if errors or not chosen:
        if not waiting:
            return owners_card(await owners_view(session, audit, timezone=timezone))
        if not errors:
            errors = {next(iter(waiting)): "Choose an owner for at least one action."}
        return owners_card(await owners_view(session, audit, timezone=timezone, errors=errors))
    case = await repo.get_case(session, audit.case_id)
    for action_id, owner_id in chosen.items():
        await _give(context, waiting[action_id], owner_id, case.case_ref, now=context.now)
    left = len(waiting) - len(chosen)
    outcome = "Saved: each owner has been told." + (
        f" {counted(left, 'action')} still {agreeing(left, 'needs', 'need')} an owner."
        if left
        else ""
    )
    return owners_card(await owners_view(session, audit, timezone=timezone, outcome=outcome))


async def _give(
    context: ActionContext, action: Recommendation, owner_id: int, case_ref: str, *, now: datetime
) -> None:
    action.owner_id = owner_id
    await context.session.flush()
    await repo.record_event(
        context.session,
        context.staff,
        "recommendation",
        action.id,
        "owner_given",
        {"owner_id": None},
        {"owner_id": owner_id},
        at=now,
    )
    due = day(action.due_on, context.rules.timezone) if action.due_on else "no date"
    await tell(
        context.session,
        owner_id,
        "action_owners",
        f"owners:action:{action.id}:owner:{owner_id}",
        summary=f"A service-level action from case {case_ref} is yours",
        text=(
            f"{context.staff.display_name} gave you a service-level action from the audit of "
            f"case {case_ref}: {action.action} By {due}. It is in my actions as number "
            f"{action.id}."
        ),
    )
