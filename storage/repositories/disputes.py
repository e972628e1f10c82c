"""Disputes about moderated grades, and who oversees an audit's team.

People told about an audit (coordinators, Audit Managers, Heads of Service,
the Audit Team) are those holding the role for the case's whole service or
for the case's own team, the same scope `dialogs.access.can_see_audit` uses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, Dispute, RoleAssignment, Staff
from workflow.roles import Role


async def add_dispute(
    session: AsyncSession, audit_id: int, raised_by_id: int, reason: str, *, at: datetime
) -> Dispute:
    dispute = Dispute(audit_id=audit_id, raised_by_id=raised_by_id, reason=reason, raised_at=at)
    session.add(dispute)
    await session.flush()
    return dispute


async def latest_dispute(session: AsyncSession, audit_id: int) -> Dispute | None:
    """The audit's most recent dispute, whatever its state (an audit has one at a time)."""
    query = (
        select(Dispute)
        .where(Dispute.audit_id == audit_id)
        .order_by(Dispute.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def list_staff_with_role_for_team(
    session: AsyncSession, role: Role, service_id: int, team_id: int
) -> list[Staff]:
    """Active people holding `role` for the whole service or for this team of it, by id."""
    query = (
        select(Staff)
        .join(RoleAssignment, RoleAssignment.staff_id == Staff.id)
        .where(
            RoleAssignment.role == role,
            RoleAssignment.service_id == service_id,
            or_(RoleAssignment.team_id.is_(None), RoleAssignment.team_id == team_id),
            Staff.active.is_(True),
        )
        .distinct()
        .order_by(Staff.id)
    )
    return list((await session.scalars(query)).all())


async def latest_event(
    session: AsyncSession, entity: str, entity_id: int, action: str
) -> AuditEvent | None:
    """The most recent trail row of one kind for one record, e.g. a confirmation already
    given, so a repeated press records nothing new."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.entity == entity,
            AuditEvent.entity_id == entity_id,
            AuditEvent.action == action,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return await session.scalar(query)
