"""Cases and who is involved in them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import CaseStatus
from storage.models import Case, CaseAttribute, CaseInvolvement, Team
from workflow.case_attributes import Declaration, DeclaredAttribute


async def add_case(
    session: AsyncSession,
    case_ref: str,
    team_id: int,
    practitioner_id: int,
    opened_on: date,
    *,
    status: CaseStatus = CaseStatus.OPEN,
    attributes: dict[str, Any] | None = None,
) -> Case:
    """A case by reference only. Validating the reference is the importer's job."""
    case = Case(
        case_ref=case_ref,
        team_id=team_id,
        practitioner_id=practitioner_id,
        opened_on=opened_on,
        status=status,
        attributes=attributes or {},
    )
    session.add(case)
    await session.flush()
    return case


async def get_case(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def cases_by_ids(session: AsyncSession, case_ids: Iterable[int]) -> dict[int, Case]:
    wanted = set(case_ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Case).where(Case.id.in_(wanted)))
    return {case.id: case for case in rows}


async def get_case_by_ref(session: AsyncSession, case_ref: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.case_ref == case_ref))


async def list_open_cases(session: AsyncSession, service_id: int) -> list[Case]:
    """Open cases held by the service's teams, ordered by case_ref.

    The order is part of the contract: seeded random selection over this list
    is reproducible only if the list comes back the same way every time.
    """
    query = (
        select(Case)
        .join(Team, Team.id == Case.team_id)
        .where(Team.service_id == service_id, Case.status == CaseStatus.OPEN)
        .order_by(Case.case_ref)
    )
    return list((await session.scalars(query)).all())


async def involved_staff_ids(session: AsyncSession, case_id: int) -> set[int]:
    """Everyone with direct involvement in the case, the practitioner included."""
    involved = await session.scalars(
        select(CaseInvolvement.staff_id).where(CaseInvolvement.case_id == case_id)
    )
    practitioner = await session.scalar(select(Case.practitioner_id).where(Case.id == case_id))
    ids = set(involved.all())
    if practitioner is not None:
        ids.add(practitioner)
    return ids


async def set_involvements(session: AsyncSession, case_id: int, staff_ids: Iterable[int]) -> None:
    """Make the case's recorded involvements exactly staff_ids."""
    wanted = set(staff_ids)
    current = set(
        (
            await session.scalars(
                select(CaseInvolvement.staff_id).where(CaseInvolvement.case_id == case_id)
            )
        ).all()
    )
    if current - wanted:
        await session.execute(
            delete(CaseInvolvement).where(
                CaseInvolvement.case_id == case_id,
                CaseInvolvement.staff_id.in_(current - wanted),
            )
        )
    session.add_all(CaseInvolvement(case_id=case_id, staff_id=s) for s in sorted(wanted - current))
    await session.flush()


async def list_involvements(session: AsyncSession, case_id: int) -> list[int]:
    """Staff ids recorded as involved (without the practitioner), in id order."""
    query = (
        select(CaseInvolvement.staff_id)
        .where(CaseInvolvement.case_id == case_id)
        .order_by(CaseInvolvement.staff_id)
    )
    return list((await session.scalars(query)).all())


async def declared_case_attributes(session: AsyncSession) -> Declaration:
    """The case attributes the council declared, with the values each may take."""
    rows = await session.scalars(select(CaseAttribute).order_by(CaseAttribute.name))
    return Declaration.of(
        DeclaredAttribute(
            row.name,
            None if row.allowed_values is None else frozenset(row.allowed_values),
            row.description,
        )
        for row in rows
    )
