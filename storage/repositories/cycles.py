"""Audit cycles, their key lines of enquiry and the approvals of those."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import CycleState, KloeDecision
from storage.models import Case, Cycle, Kloe, KloeApproval
from storage.types import utcnow
from workflow.roles import Role


async def create_cycle(
    session: AsyncSession,
    service_id: int,
    title: str,
    month: date,
    audit_tool_id: str,
    kloes: Iterable[str] = (),
) -> Cycle:
    """A proposed cycle for the month (stored as its first day), with its KLOEs in order."""
    cycle = Cycle(
        service_id=service_id,
        title=title,
        month=month.replace(day=1),
        audit_tool_id=audit_tool_id,
        state=CycleState.PROPOSED,
    )
    session.add(cycle)
    await session.flush()
    await set_kloes(session, cycle.id, kloes)
    return cycle


async def get_cycle(session: AsyncSession, cycle_id: int) -> Cycle | None:
    return await session.get(Cycle, cycle_id)


# Every press on an audit's card runs this (bound: cycle_id, case_id), so it is built once.
_CYCLE_CASE_AND_KLOES = (
    select(Cycle, Case, Kloe.text)
    .select_from(Cycle)
    .join(Case, Case.id == bindparam("case_id"))
    .outerjoin(Kloe, Kloe.cycle_id == Cycle.id)
    .where(Cycle.id == bindparam("cycle_id"))
    .order_by(Kloe.position)
)


async def cycle_case_and_kloes(
    session: AsyncSession, cycle_id: int, case_id: int
) -> tuple[Cycle, Case, list[str]]:
    """An audit's cycle, its case and the cycle's KLOE texts in order, in one query: every
    press on an audit's card reads all three."""
    bound = {"cycle_id": cycle_id, "case_id": case_id}
    rows = (await session.execute(_CYCLE_CASE_AND_KLOES, bound)).all()
    if not rows:
        raise LookupError(f"cycle {cycle_id} or case {case_id} not found")
    cycle, case, _ = rows[0]
    return cycle, case, [text for _, _, text in rows if text is not None]


async def get_cycle_for_update(session: AsyncSession, cycle_id: int) -> Cycle | None:
    """The cycle, locked for this transaction on PostgreSQL, so two approvers deciding at
    the same moment are taken one after the other."""
    query = (
        select(Cycle)
        .where(Cycle.id == cycle_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def list_cycles(session: AsyncSession, service_id: int) -> list[Cycle]:
    """A service's cycles, newest month first."""
    query = (
        select(Cycle)
        .where(Cycle.service_id == service_id)
        .order_by(Cycle.month.desc(), Cycle.id.desc())
    )
    return list((await session.scalars(query)).all())


async def set_kloes(session: AsyncSession, cycle_id: int, texts: Iterable[str]) -> list[Kloe]:
    """Replace the cycle's KLOEs with texts, numbered from 1 in the order given."""
    await session.execute(delete(Kloe).where(Kloe.cycle_id == cycle_id))
    kloes = [
        Kloe(cycle_id=cycle_id, position=position, text=text)
        for position, text in enumerate(texts, start=1)
    ]
    session.add_all(kloes)
    await session.flush()
    return kloes


async def list_kloes(session: AsyncSession, cycle_id: int) -> list[Kloe]:
    query = select(Kloe).where(Kloe.cycle_id == cycle_id).order_by(Kloe.position)
    return list((await session.scalars(query)).all())


async def record_kloe_decision(
    session: AsyncSession,
    cycle_id: int,
    approver_id: int,
    approver_role: Role,
    decision: KloeDecision,
    comment: str | None = None,
    at: datetime | None = None,
) -> KloeApproval:
    """Set the current decision of one approving role, replacing its earlier one.

    Earlier decisions are kept by the caller's audit event, not here.
    """
    approval = await session.scalar(
        select(KloeApproval).where(
            KloeApproval.cycle_id == cycle_id, KloeApproval.approver_role == approver_role
        )
    )
    if approval is None:
        approval = KloeApproval(cycle_id=cycle_id, approver_role=approver_role)
        session.add(approval)
    approval.approver_id = approver_id
    approval.decision = decision
    approval.comment = comment
    approval.decided_at = at or utcnow()
    await session.flush()
    return approval


async def list_kloe_approvals(session: AsyncSession, cycle_id: int) -> list[KloeApproval]:
    query = (
        select(KloeApproval)
        .where(KloeApproval.cycle_id == cycle_id)
        .order_by(KloeApproval.approver_role)
    )
    return list((await session.scalars(query)).all())
