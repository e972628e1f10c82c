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

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.enums import CycleState
from storage.models import Case, Cycle, Staff
from workflow.allocation import Allocation, AuditorCandidate, CaseToAllocate, allocate
from workflow.calendar import WorkingCalendar
from workflow.deadlines import audit_due, moderation_due
from workflow.errors import AllocationImpossible, SelectionError
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.selection import OpenCase, Selection, select_by_criteria, select_random
from workflow.states import AuditState
from workflow.tools import ToolNotFound, load_tool

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
            f"Opened cycle {self.cycle_id} ({self.title}): {len(self.allocations)} audits "
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
    """Select and allocate in the caller's transaction; nothing is written if any case fails."""
    service = await repo.get_service_by_code(session, request.service_code)
    if service is None:
        raise CycleRequestError(f"There is no service with code {request.service_code!r}.")
    tool_id = request.tool_id or DEFAULT_TOOLS[service.kind]
    try:
        load_tool(tool_id)
    except ToolNotFound:
        raise CycleRequestError(f"There is no audit tool called {tool_id!r}.") from None
    rules = rules.with_overrides(service.rules_overrides or {})

    cases = await repo.list_open_cases(session, service.id)
    teams = {team.id: team for team in await repo.list_teams(session, service.id)}
    selection = _select(request, cases, {t.id: t.code for t in teams.values()})
    chosen = {case.case_ref: case for case in cases}
    picked = [chosen[open_case.case_ref] for open_case in selection.cases]

    allocations = await _allocate(session, service.id, picked)
    title = request.title or f"{service.name} audits, {request.month:%B %Y}"
    cycle = await repo.create_cycle(
        session, service.id, title, request.month, tool_id, request.kloes
    )
    cycle.state = CycleState.OPEN
    cycle.selection_seed = request.seed
    cycle.selection_method = selection.method
    cycle.selection_explanation = selection.explanation
    cycle.opened_at = now
    await repo.record_event(session, actor, "cycle", cycle.id, "opened", None, repo.snapshot(cycle))
    await _write_audits(session, cycle, picked, allocations, rules, now, actor, teams)
    log.info("cycle %s opened: %s audits, seed %s", cycle.id, len(allocations), request.seed)
    return OpenedCycle(cycle.id, title, selection.explanation, request.seed, tuple(allocations))


def _select(
    request: CycleRequest, cases: Sequence[Case], team_codes: Mapping[int, str]
) -> Selection:
    open_cases = [
        OpenCase(
            case_ref=case.case_ref,
            team_id=team_codes[case.team_id],
            practitioner_id=str(case.practitioner_id),
            attributes={k: str(v) for k, v in (case.attributes or {}).items()},
        )
        for case in cases
    ]
    unknown = set(request.quotas) - set(team_codes.values())
    if unknown:
        raise CycleRequestError(f"No such team in this service: {', '.join(sorted(unknown))}.")
    try:
        if request.criteria:
            return select_by_criteria(
                open_cases, request.criteria, total=request.total, seed=request.seed
            )
        if not request.total and not request.quotas:
            raise CycleRequestError("Say how many cases to audit (--cases) or per team (--quota).")
        return select_random(
            open_cases, request.seed, total=request.total, quotas=request.quotas or None
        )
    except SelectionError as error:
        raise CycleRequestError(str(error)) from None


async def _allocate(
    session: AsyncSession, service_id: int, picked: Sequence[Case]
) -> list[Allocation]:
    auditors = await _candidates(session, Role.AUDITOR, service_id)
    moderators = await _candidates(session, Role.MODERATOR, service_id)
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
            f"{len(lines)} case(s) cannot be allocated; nothing was opened.\n  "
            + "\n  ".join(lines)
        ) from None


async def _candidates(session: AsyncSession, role: Role, service_id: int) -> list[AuditorCandidate]:
    people = await repo.list_staff_with_role(session, role, service_id)
    loads = await repo.live_allocation_loads(session, role, [p.id for p in people])
    memberships = await repo.team_ids_by_staff(session, [p.id for p in people])
    return [
        AuditorCandidate(
            staff_id=str(person.id),
            team_ids=frozenset(str(t) for t in memberships.get(person.id, ())),
            trained=person.auditor_trained,
            can_moderate=role is Role.MODERATOR,
            load=loads.get(person.id, 0),
        )
        for person in people
    ]


async def _write_audits(
    session: AsyncSession,
    cycle: Cycle,
    picked: Sequence[Case],
    allocations: Sequence[Allocation],
    rules: ProgrammeRules,
    now: datetime,
    actor: Staff | str,
    teams: Mapping[int, object],
) -> None:
    calendar = WorkingCalendar.from_rules(rules)
    due = audit_due(rules, calendar, now).due_at
    moderation = moderation_due(rules, calendar, None, audit_month=cycle.month).due_at
    managers = await repo.team_managers_by_team(session, list(teams))
    by_ref = {case.case_ref: case for case in picked}
    rows = []
    for allocation in allocations:
        case = by_ref[allocation.case_ref]
        rows.append(
            {
                "case_id": case.id,
                "practitioner_id": case.practitioner_id,
                "auditor_id": int(allocation.auditor_id),
                "moderator_id": int(allocation.moderator_id),
                "team_manager_id": managers.get(case.team_id),
                "state": AuditState.ALLOCATED,
                "due_at": due,
                "moderation_due_at": moderation,
            }
        )
    for audit in await repo.add_audits(session, cycle.id, rows):
        await repo.record_event(
            session, actor, "audit", audit.id, "allocated", None, repo.snapshot(audit)
        )
