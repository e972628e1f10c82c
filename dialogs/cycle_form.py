"""`open cycle`: the Audit Team (or whoever the service's programme asks to propose, select,
set a theme or ask for an ad hoc cycle) proposes a cycle from the chat, with a form.

The form's button proposes the cycle exactly as `auditbot cycle propose`
does; a mistake brings the form back with the message and what was typed.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cards.cycle_form import DEFAULT_APPROVAL, NO_APPROVAL, PROPOSE, cycle_form_card
from cards.notice import notice_card
from dialogs.actions import ActionContext, card_action
from dialogs.commands import CommandContext, command
from dialogs.cycles import CycleRequest, CycleRequestError
from dialogs.kloes import propose_cycle
from dialogs.programmes import programme_for_service
from storage import repositories as repo
from storage.models import Service
from workflow.roles import Role
from workflow.words import as_list

PROPOSERS = frozenset({Role.AUDIT_TEAM, Role.AUDIT_MANAGER})
# Who a programme may ask to propose, select or set the theme of a cycle, or to ask for an
# ad hoc one, beyond the Audit Team: whether a person may, for a service, is its programme's.
MAY_PROPOSE = PROPOSERS | {
    Role.PRINCIPAL_SOCIAL_WORKER,
    Role.HEAD_OF_SAFEGUARDING_QA,
    Role.LEAD_AUDITOR,
    Role.SMT,
}
MONTHS_AHEAD = 6


@command(
    "open cycle",
    "Audit Team (or whoever your programme asks): propose a new audit cycle.",
    roles=MAY_PROPOSE,
)
async def open_cycle_form(context: CommandContext, argument: str) -> dict[str, Any]:
    services = await _services_for(context.session, context.staff.id)
    if not services:
        return notice_card(
            "No cycle for you to propose",
            "Your services' programmes do not ask you to propose cycles: the Audit Team does. "
            "Nothing was changed.",
        )
    approval = await approval_words(context.session, services[0][0])
    return cycle_form_card(services, _months(context.today()), approval=approval)


async def approval_words(session: AsyncSession, service_code: str) -> str:
    """What happens to the KLOEs of the service's next cycle, by its programme."""
    service = await repo.get_service_by_code(session, service_code)
    found = await programme_for_service(session, service) if service else None
    if found is None:
        return DEFAULT_APPROVAL
    roles = found[1].kloes.approval
    if not roles:
        return NO_APPROVAL
    everyone = "they approve" if len(roles) == 1 else f"all {len(roles)} approve"
    return (
        f"The key lines of enquiry go to {as_list([role.label for role in roles])}. Cases are "
        f"picked at random, with a recorded seed, once {everyone}."
    )


async def proposer_roles(session: AsyncSession, service: Service) -> frozenset[Role]:
    """Who may propose the service's cycles: the Audit Team, and whoever its programme asks
    to propose or select them, set a theme or ask for an ad hoc cycle."""
    found = await programme_for_service(session, service)
    if found is None:
        return PROPOSERS
    programme = found[1]
    extra = {*programme.timetable.proposed_to, *programme.selection.by}
    for cycle in programme.timetable.cycles:
        if service.code in cycle.services:
            extra |= set(getattr(cycle, "theme_set_by", ()) or getattr(cycle, "requested_by", ()))
    return PROPOSERS | frozenset(extra)


async def _services_for(session, staff_id: int) -> list[tuple[str, str]]:
    """The services whose cycles this person may propose, by each one's programme."""
    held = await repo.roles_of(session, staff_id)
    found = []
    for code in sorted({role.service_code for role in held}):
        service = await repo.get_service_by_code(session, code)
        if service is None:
            continue
        may = await proposer_roles(session, service)
        if any(role.role in may and role.service_code == code for role in held):
            found.append((service.code, service.name))
    return found


def _months(today: date) -> list[tuple[str, str]]:
    months, year, month = [], today.year, today.month
    for _ in range(MONTHS_AHEAD):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        first = date(year, month, 1)
        months.append((f"{first:%Y-%m}", f"{first:%B %Y}"))
    return months


async def _load_service(context: ActionContext) -> Service | None:
    code = context.text("service").upper()
    return await repo.get_service_by_code(context.session, code) if code else None


async def _refuse_unless_proposer(context: ActionContext, service: Service) -> str | None:
    roles = tuple(await proposer_roles(context.session, service))
    if await repo.holds_role(context.session, context.staff.id, roles, service.id):
        return None
    return f"the Audit Team for {service.name}"


@card_action(PROPOSE, load=_load_service, refuse=_refuse_unless_proposer)
async def propose_from_form(context: ActionContext, service: Service) -> dict[str, Any]:
    values = {name: context.text(name) for name in ("service", "month", "cases", "kloes")}
    values["title"] = context.text("title", limit=200)
    if values["title"]:
        for cycle in await repo.list_cycles(context.session, service.id):
            if cycle.title == values["title"]:
                state = cycle.state.value.replace("_", " ")
                return notice_card(
                    "Proposed already",
                    f"{cycle.title} was proposed already (it is {state}). Nothing was changed.",
                )
    kloes = [line.strip() for line in values["kloes"].splitlines() if line.strip()]
    offered = {value for value, _ in _months(_local_today(context))}
    try:
        if values["month"] not in offered:
            raise ValueError
        year, month = (int(part) for part in values["month"].split("-"))
        cases = int(float(values["cases"]))
        if not 1 <= cases <= 500:
            raise ValueError
        request = CycleRequest(
            service_code=service.code,
            month=date(year, month, 1),
            seed=secrets.randbelow(2**31),
            total=cases,
            kloes=tuple(kloes),
            title=values["title"] or None,
        )
        proposed = await propose_cycle(
            context.session, request, actor=context.staff, now=context.now, rules=context.rules
        )
    except (ValueError, OverflowError):
        return await _form_again(
            context, values, "Choose a month from the list and a number of cases from 1 to 500."
        )
    except CycleRequestError as error:
        return await _form_again(context, values, str(error))
    if proposed.opened is not None:
        return notice_card("Proposed", proposed.opened)
    return notice_card(
        "Sent for approval",
        f"The KLOEs for {proposed.title} went to {', '.join(proposed.approvers)}. "
        "I'll tell you when they have all approved and the cases are allocated.",
    )


async def _form_again(context: ActionContext, values: dict[str, str], error: str) -> dict[str, Any]:
    services = await _services_for(context.session, context.staff.id)
    if values["service"] not in {code for code, _ in services}:
        service = await repo.get_service_by_code(context.session, values["service"])
        if service is not None:  # asked by the timetable, not an Audit Team member
            services = [(service.code, service.name)]
    approval = await approval_words(context.session, values["service"])
    return cycle_form_card(
        services, _months(_local_today(context)), values=values, error=error, approval=approval
    )


def _local_today(context: ActionContext) -> date:
    return context.now.astimezone(ZoneInfo(context.rules.timezone)).date()
