"""Services, teams, staff and the roles they hold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import ServiceKind
from storage.models import RoleAssignment, Service, Staff, Team
from workflow.roles import Role


@dataclass(frozen=True)
class HeldRole:
    """A role someone holds, with its scope: a whole service, or one team of it."""

    role: Role
    service_id: int
    service_code: str
    team_id: int | None
    team_code: str | None

    @property
    def scope_code(self) -> str:
        return self.team_code or self.service_code


async def add_service(
    session: AsyncSession,
    code: str,
    name: str,
    kind: ServiceKind,
    rules_overrides: dict[str, Any] | None = None,
) -> Service:
    service = Service(code=code, name=name, kind=kind, rules_overrides=rules_overrides or {})
    session.add(service)
    await session.flush()
    return service


async def get_service(session: AsyncSession, service_id: int) -> Service | None:
    return await session.get(Service, service_id)


async def get_service_by_code(session: AsyncSession, code: str) -> Service | None:
    return await session.scalar(select(Service).where(Service.code == code))


async def list_services(session: AsyncSession) -> list[Service]:
    return list((await session.scalars(select(Service).order_by(Service.code))).all())


async def add_team(session: AsyncSession, service_id: int, code: str, name: str) -> Team:
    team = Team(service_id=service_id, code=code, name=name)
    session.add(team)
    await session.flush()
    return team


async def get_team(session: AsyncSession, team_id: int) -> Team | None:
    return await session.get(Team, team_id)


async def list_teams(session: AsyncSession, service_id: int) -> list[Team]:
    query = select(Team).where(Team.service_id == service_id).order_by(Team.code)
    return list((await session.scalars(query)).all())


async def get_team_by_code(session: AsyncSession, code: str) -> Team | None:
    return await session.scalar(select(Team).where(Team.code == code))


async def add_staff(
    session: AsyncSession,
    aad_object_id: str,
    upn: str,
    display_name: str,
    email: str,
    **fields: Any,
) -> Staff:
    """A new person; aad_object_id and upn are stored lower-case (both are case-insensitive)."""
    staff = Staff(
        aad_object_id=aad_object_id.lower(),
        upn=upn.lower(),
        display_name=display_name,
        email=email,
        **fields,
    )
    session.add(staff)
    await session.flush()
    return staff


async def get_staff(session: AsyncSession, staff_id: int) -> Staff | None:
    return await session.get(Staff, staff_id)


async def staff_by_ids(session: AsyncSession, staff_ids: Iterable[int]) -> dict[int, Staff]:
    """Several people at once, by id (for building many cards in one go)."""
    wanted = set(staff_ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Staff).where(Staff.id.in_(wanted)))
    return {staff.id: staff for staff in rows}


# Every card press and message runs this: built once, so a turn pays only for running it.
_STAFF_BY_AAD_ID = select(Staff).where(Staff.aad_object_id == bindparam("aad_object_id"))


async def get_staff_by_aad_id(session: AsyncSession, aad_object_id: str) -> Staff | None:
    """The person behind a Teams activity (from.aadObjectId)."""
    return await session.scalar(_STAFF_BY_AAD_ID, {"aad_object_id": aad_object_id.lower()})


async def get_staff_by_upn(session: AsyncSession, upn: str) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.upn == upn.lower()))


async def roles_of(session: AsyncSession, staff_id: int) -> list[HeldRole]:
    """Every role a person holds and where, e.g. for the greeting and for authorisation."""
    query = (
        select(RoleAssignment.role, Service.id, Service.code, Team.id, Team.code)
        .join(Service, Service.id == RoleAssignment.service_id)
        .outerjoin(Team, Team.id == RoleAssignment.team_id)
        .where(RoleAssignment.staff_id == staff_id)
        .order_by(RoleAssignment.role, Service.code, Team.code)
    )
    return [HeldRole(*row) for row in (await session.execute(query)).all()]


async def teams_of(session: AsyncSession, staff_id: int) -> list[Team]:
    """The teams a person works in: those where they hold a team-scoped role."""
    query = (
        select(Team)
        .join(RoleAssignment, RoleAssignment.team_id == Team.id)
        .where(RoleAssignment.staff_id == staff_id)
        .distinct()
        .order_by(Team.code)
    )
    return list((await session.scalars(query)).all())


async def assign_role(
    session: AsyncSession, staff_id: int, role: Role, service_id: int, team_id: int | None = None
) -> RoleAssignment:
    """Give a role for a service (team_id None) or a team; a role already held is returned as is.

    For a team role, service_id must be the team's service.
    """
    existing = await _find_assignment(session, staff_id, role, service_id, team_id)
    if existing is not None:
        return existing
    assignment = RoleAssignment(
        staff_id=staff_id, role=role, service_id=service_id, team_id=team_id
    )
    session.add(assignment)
    await session.flush()
    return assignment


async def revoke_role(
    session: AsyncSession, staff_id: int, role: Role, service_id: int, team_id: int | None = None
) -> bool:
    """Take a role away; False when it was not held."""
    existing = await _find_assignment(session, staff_id, role, service_id, team_id)
    if existing is None:
        return False
    await session.delete(existing)
    await session.flush()
    return True


async def _find_assignment(
    session: AsyncSession, staff_id: int, role: Role, service_id: int, team_id: int | None
) -> RoleAssignment | None:
    query = select(RoleAssignment).where(
        RoleAssignment.staff_id == staff_id,
        RoleAssignment.role == role,
        RoleAssignment.service_id == service_id,
        RoleAssignment.team_id.is_(None) if team_id is None else RoleAssignment.team_id == team_id,
    )
    return await session.scalar(query)


# Every guarded button asks this (bound: staff_id, roles, service_id), so it is built once.
_HOLDS_ROLE = (
    select(RoleAssignment.id)
    .join(Staff, Staff.id == RoleAssignment.staff_id)
    .where(
        RoleAssignment.staff_id == bindparam("staff_id"),
        RoleAssignment.role.in_(bindparam("roles", expanding=True)),
        RoleAssignment.service_id == bindparam("service_id"),
        Staff.active.is_(True),
    )
    .limit(1)
)


async def holds_role(
    session: AsyncSession, staff_id: int, roles: Iterable[Role], service_id: int
) -> bool:
    """Whether an active person holds any of `roles` in a service (any scope within it):
    the question every "who may press this" guard asks, answered without listing anyone."""
    bound = {"staff_id": staff_id, "roles": list(roles), "service_id": service_id}
    return await session.scalar(_HOLDS_ROLE, bound) is not None


async def staff_holding_roles(
    session: AsyncSession, roles: Iterable[Role], service_id: int
) -> list[tuple[Staff, Role]]:
    """Active people holding any of `roles` in a service, with the role, in one query;
    ordered by role as given, then by id."""
    wanted = list(roles)
    query = (
        select(Staff, RoleAssignment.role)
        .join(RoleAssignment, RoleAssignment.staff_id == Staff.id)
        .where(
            RoleAssignment.role.in_(wanted),
            RoleAssignment.service_id == service_id,
            Staff.active.is_(True),
        )
        .distinct()
        .order_by(Staff.id)
    )
    found = [(staff, role) for staff, role in (await session.execute(query)).all()]
    return sorted(found, key=lambda pair: wanted.index(pair[1]))


# Every press on an audit's card runs this (bound: ids, roles, service_id), so it is built once.
_STAFF_AND_ROLE_HOLDERS = (
    select(Staff, RoleAssignment.role)
    .outerjoin(
        RoleAssignment,
        and_(
            RoleAssignment.staff_id == Staff.id,
            RoleAssignment.role.in_(bindparam("roles", expanding=True)),
            RoleAssignment.service_id == bindparam("service_id"),
        ),
    )
    .where(
        or_(
            Staff.id.in_(bindparam("ids", expanding=True)),
            and_(RoleAssignment.id.is_not(None), Staff.active.is_(True)),
        )
    )
    .order_by(Staff.id)
)


async def staff_and_role_holders(
    session: AsyncSession, staff_ids: Iterable[int], roles: Iterable[Role], service_id: int
) -> tuple[dict[int, Staff], list[tuple[Staff, Role]]]:
    """In one query: these people by id (as `staff_by_ids`), and the active people holding
    any of `roles` in the service with the role (as `staff_holding_roles`)."""
    wanted, ids = list(roles), set(staff_ids)
    rows = await session.execute(
        _STAFF_AND_ROLE_HOLDERS, {"ids": list(ids), "roles": wanted, "service_id": service_id}
    )
    people: dict[int, Staff] = {}
    holders: dict[tuple[int, Role], Staff] = {}
    for staff, role in rows.all():
        if staff.id in ids:
            people[staff.id] = staff
        if role is not None and staff.active:
            holders.setdefault((staff.id, role), staff)
    found = [(staff, role) for (_, role), staff in holders.items()]
    return people, sorted(found, key=lambda pair: wanted.index(pair[1]))


async def list_staff_with_role(
    session: AsyncSession, role: Role, service_id: int, *, team_id: int | None = None
) -> list[Staff]:
    """Active people holding role in a service (any scope within it), or in one team.

    Ordered by id so that allocation rules see a stable order.
    """
    query = (
        select(Staff)
        .join(RoleAssignment, RoleAssignment.staff_id == Staff.id)
        .where(
            RoleAssignment.role == role,
            RoleAssignment.service_id == service_id,
            Staff.active.is_(True),
        )
        .distinct()
        .order_by(Staff.id)
    )
    if team_id is not None:
        query = query.where(RoleAssignment.team_id == team_id)
    return list((await session.scalars(query)).all())
