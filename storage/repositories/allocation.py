"""Bulk look-ups for selecting and allocating a cycle's cases (one query each, not per case)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Audit, Case, CaseInvolvement, RoleAssignment, Staff
from workflow.roles import Role
from workflow.states import AuditState

# An audit stops counting towards someone's load once it is closed or ended.
NOT_A_LOAD = frozenset({AuditState.CLOSED, AuditState.REALLOCATED, AuditState.INVALIDATED})
_LOAD_COLUMNS = {Role.AUDITOR: Audit.auditor_id, Role.MODERATOR: Audit.moderator_id}


async def involvements_by_case(
    session: AsyncSession, case_ids: Iterable[int]
) -> dict[int, set[int]]:
    """For each case, everyone directly involved, the practitioner included."""
    ids = list(case_ids)
    found: dict[int, set[int]] = {case_id: set() for case_id in ids}
    involved = select(CaseInvolvement.case_id, CaseInvolvement.staff_id).where(
        CaseInvolvement.case_id.in_(ids)
    )
    practitioners = select(Case.id, Case.practitioner_id).where(Case.id.in_(ids))
    for query in (involved, practitioners):
        for case_id, staff_id in await session.execute(query):
            found[case_id].add(staff_id)
    return found


async def live_allocation_loads(
    session: AsyncSession, role: Role, staff_ids: Iterable[int]
) -> dict[int, int]:
    """How many open audits each person has as auditor or moderator (role); absent means 0."""
    if role not in _LOAD_COLUMNS:
        raise ValueError(f"loads are counted for auditors and moderators, not {role}")
    column = _LOAD_COLUMNS[role]
    query = (
        select(column, func.count())
        .where(column.in_(list(staff_ids)), Audit.state.not_in(NOT_A_LOAD))
        .group_by(column)
    )
    rows = await session.execute(query)
    return {staff_id: count for staff_id, count in rows if staff_id is not None}


async def team_ids_by_staff(session: AsyncSession, staff_ids: Iterable[int]) -> dict[int, set[int]]:
    """The teams each person works in (team-scoped roles); absent means none."""
    query = select(RoleAssignment.staff_id, RoleAssignment.team_id).where(
        RoleAssignment.staff_id.in_(list(staff_ids)), RoleAssignment.team_id.is_not(None)
    )
    found: dict[int, set[int]] = {}
    for staff_id, team_id in await session.execute(query):
        if team_id is not None:
            found.setdefault(staff_id, set()).add(team_id)
    return found


async def team_managers_by_team(session: AsyncSession, team_ids: Iterable[int]) -> dict[int, int]:
    """Each team's active team manager (the longest-serving record if several); absent if none."""
    query = (
        select(RoleAssignment.team_id, RoleAssignment.staff_id)
        .join(Staff, Staff.id == RoleAssignment.staff_id)
        .where(
            RoleAssignment.team_id.in_(list(team_ids)),
            RoleAssignment.role == Role.TEAM_MANAGER,
            Staff.active.is_(True),
        )
        .order_by(RoleAssignment.staff_id.desc())
    )
    rows = await session.execute(query)
    return {team_id: staff_id for team_id, staff_id in rows if team_id is not None}
