"""Factories for tests in every package: build what a test needs, with sensible defaults.

Each takes an AsyncSession, flushes (so ids exist) and never commits; commit
when the code under test reads through another session::

    async with db.sessions.begin() as session:
        audit = await create_audit(session)
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.enums import CaseStatus, CycleState, ServiceKind
from storage.models import Audit, Case, Cycle, Service, Staff, Team
from workflow.roles import Role
from workflow.states import AuditState

_numbers = itertools.count(1)

RoleSpec = str | tuple[Role | str, Service | Team]


def _next() -> int:
    return next(_numbers)


async def create_service(
    session: AsyncSession,
    *,
    code: str | None = None,
    name: str | None = None,
    kind: ServiceKind = ServiceKind.CHILDRENS_SOCIAL_CARE,
    rules_overrides: dict[str, Any] | None = None,
) -> Service:
    number = _next()
    return await repo.add_service(
        session, code or f"S{number}", name or f"Service {number}", kind, rules_overrides
    )


async def create_team(
    session: AsyncSession,
    *,
    service: Service | None = None,
    code: str | None = None,
    name: str | None = None,
) -> Team:
    service = service or await create_service(session)
    number = _next()
    return await repo.add_team(
        session, service.id, code or f"{service.code}-T{number}", name or f"Team {number}"
    )


async def create_staff(
    session: AsyncSession,
    *,
    roles: Iterable[RoleSpec] = (),
    display_name: str | None = None,
    upn: str | None = None,
    aad_object_id: str | None = None,
    auditor_trained: bool = False,
    line_manager: Staff | None = None,
    active: bool = True,
) -> Staff:
    """A person holding roles, each (Role, Service or Team) or "role@CODE"."""
    number = _next()
    upn = upn or f"person{number}@council.example"
    staff = await repo.add_staff(
        session,
        aad_object_id or str(uuid.uuid4()),
        upn,
        display_name or f"Person {number}",
        upn,
        auditor_trained=auditor_trained,
        line_manager_id=line_manager.id if line_manager else None,
        active=active,
    )
    for spec in roles:
        role, service_id, team_id = await _resolve_role(session, spec)
        await repo.assign_role(session, staff.id, role, service_id, team_id)
    return staff


async def _resolve_role(session: AsyncSession, spec: RoleSpec) -> tuple[Role, int, int | None]:
    if isinstance(spec, str):
        role_name, _, code = spec.partition("@")
        team = await repo.get_team_by_code(session, code)
        if team is not None:
            return Role(role_name), team.service_id, team.id
        service = await repo.get_service_by_code(session, code)
        if service is None:
            raise LookupError(f"no service or team {code!r}")
        return Role(role_name), service.id, None
    role, scope = spec
    if isinstance(scope, Team):
        return Role(role), scope.service_id, scope.id
    return Role(role), scope.id, None


async def create_case(
    session: AsyncSession,
    *,
    team: Team | None = None,
    practitioner: Staff | None = None,
    case_ref: str | None = None,
    status: CaseStatus = CaseStatus.OPEN,
    attributes: dict[str, Any] | None = None,
    opened_on: date = date(2025, 1, 6),
    involved: Iterable[Staff] = (),
) -> Case:
    team = team or await create_team(session)
    practitioner = practitioner or await create_staff(session, roles=[(Role.PRACTITIONER, team)])
    case = await repo.add_case(
        session,
        case_ref or f"CASE-{_next():05d}",
        team.id,
        practitioner.id,
        opened_on,
        status=status,
        attributes=attributes,
    )
    await repo.set_involvements(session, case.id, [staff.id for staff in involved])
    return case


async def create_cycle(
    session: AsyncSession,
    *,
    service: Service | None = None,
    title: str | None = None,
    month: date = date(2025, 3, 1),
    audit_tool_id: str = "col_practice_impact_review",
    state: CycleState = CycleState.OPEN,
    kloes: Iterable[str] = ("Is the child's voice heard?",),
) -> Cycle:
    service = service or await create_service(session)
    cycle = await repo.create_cycle(
        session, service.id, title or f"Cycle {_next()}", month, audit_tool_id, kloes
    )
    cycle.state = state
    await session.flush()
    return cycle


async def create_audit(
    session: AsyncSession,
    *,
    cycle: Cycle | None = None,
    case: Case | None = None,
    auditor: Staff | None = None,
    moderator: Staff | None = None,
    team_manager: Staff | None = None,
    state: AuditState = AuditState.ALLOCATED,
    **fields: Any,
) -> Audit:
    """An allocated audit; whatever is not given is made, in the cycle's service.

    The auditor made here is trained and works in another team.
    """
    if case is None:
        service = await session.get(Service, cycle.service_id) if cycle else None
        team = await create_team(session, service=service)
        case = await create_case(session, team=team)
    team = await repo.get_team(session, case.team_id)
    assert team is not None
    service = await _service_of(session, team)
    cycle = cycle or await create_cycle(session, service=service)
    team_manager = team_manager or await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
    auditor = auditor or await create_staff(
        session, roles=[(Role.AUDITOR, service)], auditor_trained=True
    )
    moderator = moderator or await create_staff(session, roles=[(Role.MODERATOR, service)])
    return await repo.add_audit(
        session,
        cycle.id,
        case.id,
        case.practitioner_id,
        auditor.id,
        team_manager_id=team_manager.id,
        moderator_id=moderator.id,
        state=state,
        **fields,
    )


async def _service_of(session: AsyncSession, team: Team) -> Service:
    service = await session.get(Service, team.service_id)
    assert service is not None
    return service
