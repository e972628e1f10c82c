"""Opening an audit cycle: select cases, allocate auditors and moderators, record it all.

Used by the CLI (`auditbot cycle open`) and, later, the Audit Team's chat
command. The rules live in `workflow`; this module gathers their inputs from
storage and writes the outcome in one transaction, with its audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.group_meeting import plan_group_meeting
from dialogs.notices import send_allocation_notices
from dialogs.programmes import cycle_moderation, cycle_rules, programme_for_service
from dialogs.reflection_request import opened_request, reflection_section
from storage import repositories as repo
from storage.enums import CycleState
from storage.models import Audit, Case, Cycle, Service, Staff
from workflow.allocation import Allocation, AuditorCandidate, CaseToAllocate, allocate
from workflow.calendar import WorkingCalendar
from workflow.case_attributes import Declaration
from workflow.deadlines import audit_due, moderation_due
from workflow.errors import AllocationImpossible, SelectionError
from workflow.programme.model import named_moderator_roles
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.selection import OpenCase, Selection, select_by_criteria, select_random
from workflow.states import AuditState
from workflow.tools import ToolNotFound, load_tool
from workflow.words import counted

log = logging.getLogger(__name__)

DEFAULT_TOOLS = {
    "childrens_social_care": "col_practice_impact_review",
    "early_help": "th_understanding_our_practice",
    "youth_justice": "col_practice_impact_review",
}


class CycleRequestError(Exception):
    """The cycle cannot be opened as asked; the message says why, in the Audit Team's words."""


@dataclass(frozen=True)
class CycleRequest:
    service_code: str
    month: date
    seed: int
    tool_id: str | None = None
    title: str | None = None
    total: int | None = None
    quotas: Mapping[str, int] = field(default_factory=dict)  # team code -> cases
    criteria: Mapping[str, str] = field(default_factory=dict)
    kloes: Sequence[str] = ()


@dataclass(frozen=True)
class OpenedCycle:
    cycle_id: int
    title: str
    explanation: str
    seed: int
    allocations: tuple[Allocation, ...]

    def __str__(self) -> str:
        return (
            f"Opened cycle {self.cycle_id} ({self.title}): "
            f"{counted(len(self.allocations), 'audit')} "
            f"allocated. {self.explanation}"
        )


async def open_cycle(
    session: AsyncSession,
    request: CycleRequest,
    *,
    rules: ProgrammeRules,
    now: datetime,
    actor: Staff | str = "system",
) -> OpenedCycle:
    """Create a cycle and open it at once, its KLOEs agreed outside auditbot.

    Nothing is written if any case cannot be allocated. The usual route is
    `propose_cycle` (dialogs.kloes), which opens the cycle once approved.
    """
    service, tool_id = await check_request(session, request)
    cycle = await create_planned_cycle(session, service, tool_id, request, actor)
    return await open_planned_cycle(session, cycle, rules=rules, now=now, actor=actor)


async def check_request(session: AsyncSession, request: CycleRequest) -> tuple[Service, str]:
    """The request's service and audit tool, or CycleRequestError saying what is wrong.

    The selection is tried on today's open cases too, so a bad quota or an
    impossible criterion is refused when asked, not weeks later.
    """
    service = await repo.get_service_by_code(session, request.service_code)
    if service is None:
        raise CycleRequestError(f"There is no service with code {request.service_code!r}.")
    tools = await service_tools(session, service)
    tool_id = request.tool_id or tools[0]
    try:
        load_tool(tool_id)
    except ToolNotFound:
        raise CycleRequestError(f"There is no audit tool called {tool_id!r}.") from None
    if request.tool_id and await programme_for_service(session, service) and tool_id not in tools:
        raise CycleRequestError(
            f"{service.name}'s programme audits with {' or '.join(tools)}, not {tool_id!r}."
        )
    cases = await repo.list_open_cases(session, service.id)
    teams = await repo.list_teams(session, service.id)
    declared = await repo.declared_case_attributes(session)
    _select(plan_of(request), cases, {t.id: t.code for t in teams}, declared)
    return service, tool_id


async def service_tools(session: AsyncSession, service: Service) -> list[str]:
    """The audit tools the service's programme lists, its usual one first; without a
    programme in force, the tool for its kind of service."""
    found = await programme_for_service(session, service)
    if found is None:
        return [DEFAULT_TOOLS[service.kind]]
    return list(found[1].service(service.code).tools)


async def create_planned_cycle(
    session: AsyncSession,
    service: Service,
    tool_id: str,
    request: CycleRequest,
    actor: Staff | str,
) -> Cycle:
    """A proposed cycle that remembers how to pick its cases."""
    title = request.title or f"{service.name} audits, {request.month:%B %Y}"
    cycle = await repo.create_cycle(
        session, service.id, title, request.month, tool_id, request.kloes
    )
    cycle.selection_plan = plan_of(request)
    cycle.proposed_by_id = actor.id if isinstance(actor, Staff) else None
    found = await programme_for_service(session, service)
    cycle.programme_version_id = found[0].id if found else None
    await session.flush()
    await repo.record_event(
        session, actor, "cycle", cycle.id, "proposed", None, repo.snapshot(cycle)
    )
    return cycle


async def open_planned_cycle(
    session: AsyncSession,
    cycle: Cycle,
    *,
    rules: ProgrammeRules,
    now: datetime,
    actor: Staff | str,
) -> OpenedCycle:
    """Select by the cycle's plan, allocate, write audits and send allocation notices.

    Raises CycleRequestError, having written nothing of the selection, when
    any case cannot be allocated.
    """
    service = await repo.get_service(session, cycle.service_id)
    rules = await cycle_rules(session, cycle, rules)
    cases = await repo.list_open_cases(session, service.id)
    teams = {team.id: team for team in await repo.list_teams(session, service.id)}
    declared = await repo.declared_case_attributes(session)
    codes = {t.id: t.code for t in teams.values()}
    selection = _select(cycle.selection_plan, cases, codes, declared)
    chosen = {case.case_ref: case for case in cases}
    picked = [chosen[open_case.case_ref] for open_case in selection.cases]
    allocations = await allocate_picked(session, cycle, picked)

    before = repo.snapshot(cycle)
    cycle.state = CycleState.OPEN
    cycle.selection_seed = selection.seed
    cycle.selection_method = selection.method
    cycle.selection_explanation = selection.explanation
    cycle.opened_at = now
    await session.flush()
    await repo.record_event(
        session, actor, "cycle", cycle.id, "opened", before, repo.snapshot(cycle)
    )
    audits = await write_audits(session, cycle, picked, allocations, rules, now, actor, teams)
    await send_allocation_notices(session, cycle, audits, timezone=rules.timezone)
    await plan_group_meeting(session, cycle, audits, now=now, rules=rules)
    log.info("cycle %s opened: %s audits, seed %s", cycle.id, len(allocations), selection.seed)
    return OpenedCycle(
        cycle.id, cycle.title, selection.explanation, selection.seed, tuple(allocations)
    )


def plan_of(request: CycleRequest) -> dict[str, Any]:
    """How to pick the cases, as stored on the cycle until it opens."""
    return {
        "seed": request.seed,
        "total": request.total,
        "quotas": dict(request.quotas),
        "criteria": dict(request.criteria),
    }


def describe_plan(plan: Mapping[str, Any], declared: Declaration) -> str:
    """The plan in words, for approvers: criteria only on declared attributes are shown."""
    if plan.get("criteria"):
        wanted = declared.describe_criteria(plan["criteria"])
        limit = f", up to {plan['total']}" if plan.get("total") else ""
        return f"Thematic: open cases where {wanted}{limit}"
    parts = [f"{n} from {team}" for team, n in (plan.get("quotas") or {}).items()]
    if plan.get("total"):
        parts.insert(0, f"{plan['total']} in all")
    return "At random: " + ", ".join(parts) + f" (seed {plan.get('seed')})"


def _select(
    plan: Mapping[str, Any],
    cases: Sequence[Case],
    team_codes: Mapping[int, str],
    declared: Declaration,
) -> Selection:
    """The plan's cases. Criteria may only name declared attributes with declared values:
    checked here, where both proposing and opening a cycle pass."""
    open_cases = [
        OpenCase(
            case_ref=case.case_ref,
            team_id=team_codes[case.team_id],
            practitioner_id=str(case.practitioner_id),
            attributes={k: str(v) for k, v in (case.attributes or {}).items()},
        )
        for case in cases
    ]
    quotas: dict[str, int] = dict(plan.get("quotas") or {})
    criteria: dict[str, str] = dict(plan.get("criteria") or {})
    problem = declared.criteria_problem(criteria)
    if problem:
        raise CycleRequestError(problem)
    total, seed = plan.get("total"), int(plan["seed"])
    unknown = set(quotas) - set(team_codes.values())
    if unknown:
        raise CycleRequestError(f"No such team in this service: {', '.join(sorted(unknown))}.")
    try:
        if criteria:
            return select_by_criteria(open_cases, criteria, total=total, seed=seed)
        if not total and not quotas:
            raise CycleRequestError("Say how many cases to audit (--cases) or per team (--quota).")
        return select_random(open_cases, seed, total=total, quotas=quotas or None)
    except SelectionError as error:
        raise CycleRequestError(str(error)) from None


async def allocate_picked(
    session: AsyncSession, cycle: Cycle, picked: Sequence[Case]
) -> list[Allocation]:
    """An auditor for each picked case, and a moderator where the cycle's programme names
    one at allocation."""
    auditors = await candidates(session, Role.AUDITOR, cycle.service_id)
    moderators = await moderator_candidates(session, cycle)
    involved = await repo.involvements_by_case(session, [case.id for case in picked])
    to_allocate = [
        CaseToAllocate(
            case_ref=case.case_ref,
            team_id=str(case.team_id),
            practitioner_id=str(case.practitioner_id),
            involved_staff_ids=frozenset(str(i) for i in involved.get(case.id, ())),
        )
        for case in picked
    ]
    try:
        return allocate(to_allocate, auditors, moderators)
    except AllocationImpossible as error:
        lines = [f"{p.case_ref}: {p.message}" for p in error.problems]
        raise CycleRequestError(
            f"{counted(len(lines), 'case')} cannot be allocated; nothing was opened.\n  "
            + "\n  ".join(lines)
        ) from None


async def moderator_candidates(
    session: AsyncSession, cycle: Cycle
) -> list[AuditorCandidate] | None:
    """Who may be the named moderator of the cycle's audits (people holding any of the
    roles its programme gives that part), or None when the programme names nobody at
    allocation."""
    roles = named_moderator_roles(await cycle_moderation(session, cycle))
    if roles is None:
        return None
    found: dict[str, AuditorCandidate] = {}
    for role in roles:
        for person in await candidates(session, role, cycle.service_id, moderating=True):
            found.setdefault(person.staff_id, person)
    return list(found.values())


async def candidates(
    session: AsyncSession, role: Role, service_id: int, *, moderating: bool | None = None
) -> list[AuditorCandidate]:
    """People holding `role` for the service, with their load: as auditors, or as moderators
    when `moderating` (whatever role the programme gives that part)."""
    people = await repo.list_staff_with_role(session, role, service_id)
    counted = Role.MODERATOR if moderating else role
    loads = await repo.live_allocation_loads(session, counted, [p.id for p in people])
    memberships = await repo.team_ids_by_staff(session, [p.id for p in people])
    return [
        AuditorCandidate(
            staff_id=str(person.id),
            team_ids=frozenset(str(t) for t in memberships.get(person.id, ())),
            trained=person.auditor_trained,
            can_moderate=role is Role.MODERATOR if moderating is None else moderating,
            load=loads.get(person.id, 0),
        )
        for person in people
    ]


async def write_audits(
    session: AsyncSession,
    cycle: Cycle,
    picked: Sequence[Case],
    allocations: Sequence[Allocation],
    rules: ProgrammeRules,
    now: datetime,
    actor: Staff | str,
    teams: Mapping[int, object],
) -> list[Audit]:
    calendar = WorkingCalendar.from_rules(rules)
    due = audit_due(rules, calendar, now, audit_month=cycle.month).due_at
    moderation = moderation_due(rules, calendar, None, audit_month=cycle.month).due_at
    managers = await repo.team_managers_by_team(session, list(teams))
    by_ref = {case.case_ref: case for case in picked}
    # The practitioner's own section is asked for with their allocation notice.
    asks = reflection_section(load_tool(cycle.audit_tool_id)) is not None
    draft = {"practitioner": opened_request(now)} if asks else {}
    rows = []
    for allocation in allocations:
        case = by_ref[allocation.case_ref]
        rows.append(
            {
                "case_id": case.id,
                "practitioner_id": case.practitioner_id,
                "auditor_id": int(allocation.auditor_id),
                "moderator_id": (
                    int(allocation.moderator_id) if allocation.moderator_id is not None else None
                ),
                "team_manager_id": managers.get(case.team_id),
                "state": AuditState.ALLOCATED,
                "due_at": due,
                "moderation_due_at": moderation,
                "draft": dict(draft),
            }
        )
    audits = await repo.add_audits(session, cycle.id, rows)
    await repo.record_events(
        session,
        actor,
        "audit",
        "allocated",
        [(audit.id, None, repo.snapshot(audit)) for audit in audits],
    )
    return audits
