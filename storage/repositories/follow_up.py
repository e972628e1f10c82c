"""The follow-up sweeps' reads and their one write (recording what was done, once).

Candidates are read with a coarse date bound and "not done yet" (no
follow_ups row of that kind); the exact due day is decided by
`workflow.deadlines` in the caller, with the working calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.enums import CycleState
from storage.models import Audit, Case, Cycle, FollowUp, FollowUpKind
from storage.repositories._sql import upsert_insert
from storage.repositories.digest import NOT_COUNTED, REAUDIT_METHOD
from workflow.grades import Grade
from workflow.states import TERMINAL_STATES

BELOW_GOOD = (Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE)
GOOD_OR_BETTER = (Grade.GOOD, Grade.OUTSTANDING)


@dataclass(frozen=True)
class FollowUpCandidate:
    """An audit below Good, with what a follow-up needs to say about it."""

    audit: Audit
    case_ref: str
    team_id: int
    service_id: int


async def record_follow_up(
    session: AsyncSession,
    key: str,
    kind: FollowUpKind,
    *,
    service_id: int,
    due_on: date,
    done_at: datetime,
    outcome: str,
    details: dict[str, Any] | None = None,
    audit_id: int | None = None,
    cycle_id: int | None = None,
) -> FollowUp | None:
    """Record a follow-up under `key`, or None when it was already recorded (by an earlier
    run, or by another instance whose transaction committed first): then do nothing more."""
    insert = upsert_insert(session, FollowUp).values(
        key=key,
        kind=kind,
        service_id=service_id,
        audit_id=audit_id,
        cycle_id=cycle_id,
        due_on=due_on,
        done_at=done_at,
        outcome=outcome,
        details=details or {},
    )
    result = await session.execute(
        insert.on_conflict_do_nothing(index_elements=["key"]).returning(FollowUp.id)
    )
    new_id = result.scalar()
    if new_id is None:
        return None
    return await session.get(FollowUp, new_id)


async def follow_up_for_update(
    session: AsyncSession, follow_up_id: int, kind: FollowUpKind
) -> FollowUp | None:
    """One follow-up of this kind, locked for the caller's transaction; None otherwise."""
    found = await session.get(FollowUp, follow_up_id, with_for_update=True)
    return found if found is not None and found.kind is kind else None


async def get_follow_up(session: AsyncSession, key: str) -> FollowUp | None:
    return await session.scalar(select(FollowUp).where(FollowUp.key == key))


async def list_follow_ups(
    session: AsyncSession, kind: FollowUpKind | None = None
) -> list[FollowUp]:
    query = select(FollowUp).order_by(FollowUp.id)
    if kind is not None:
        query = query.where(FollowUp.kind == kind)
    return list(await session.scalars(query))


def _not_done(kind: FollowUpKind):  # type: ignore[no-untyped-def]
    return ~exists().where(FollowUp.kind == kind, FollowUp.audit_id == Audit.id)


def _candidates():  # type: ignore[no-untyped-def]
    return (
        select(Audit, Case.case_ref, Case.team_id, Cycle.service_id)
        .join(Case, Case.id == Audit.case_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
    )


async def dip_audit_candidates(
    session: AsyncSession, moderated_before: datetime
) -> list[FollowUpCandidate]:
    """Live audits whose final grade is RI or Inadequate, moderated before the bound, with
    no dip-audit task yet."""
    query = _candidates().where(
        Audit.final_grade.in_(BELOW_GOOD),
        Audit.moderated_at < moderated_before,
        Audit.state.not_in(TERMINAL_STATES),
        _not_done(FollowUpKind.DIP_AUDIT),
    )
    rows = await session.execute(query.order_by(Audit.moderated_at, Audit.id))
    return [FollowUpCandidate(*row) for row in rows.all()]


async def escalation_candidates(
    session: AsyncSession, moderated_before: datetime
) -> list[FollowUpCandidate]:
    """Audits still below Good, moderated before the bound, not escalated yet, whose case
    has no later audit graded Good or better: the work has not (yet) been shown improved."""
    later = aliased(Audit)
    improved = exists().where(
        later.case_id == Audit.case_id,
        later.id != Audit.id,
        later.moderated_at > Audit.moderated_at,
        later.final_grade.in_(GOOD_OR_BETTER),
        later.state.not_in(NOT_COUNTED),
    )
    query = _candidates().where(
        Audit.final_grade.in_(BELOW_GOOD),
        Audit.moderated_at < moderated_before,
        Audit.state.not_in(NOT_COUNTED),
        ~improved,
        _not_done(FollowUpKind.ESCALATION),
    )
    rows = await session.execute(query.order_by(Audit.moderated_at, Audit.id))
    return [FollowUpCandidate(*row) for row in rows.all()]


async def cycles_awaiting_reaudit(session: AsyncSession, month_on_or_before: date) -> list[Cycle]:
    """Opened cycles (not themselves re-audits) of that month or earlier whose below-Good
    work has not been sampled for re-audit yet."""
    sampled = exists().where(FollowUp.kind == FollowUpKind.REAUDIT, FollowUp.cycle_id == Cycle.id)
    query = (
        select(Cycle)
        .where(
            Cycle.state.in_([CycleState.OPEN, CycleState.CLOSED]),
            Cycle.month <= month_on_or_before,
            or_(Cycle.selection_method.is_(None), Cycle.selection_method != REAUDIT_METHOD),
            ~sampled,
        )
        .order_by(Cycle.month, Cycle.id)
    )
    return list(await session.scalars(query))


async def below_good_in_cycle(session: AsyncSession, cycle_id: int) -> list[FollowUpCandidate]:
    """The cycle's audits whose final grade is below Good (reallocated and invalidated
    ones left out), by case reference."""
    query = _candidates().where(
        Audit.cycle_id == cycle_id,
        Audit.final_grade.in_(BELOW_GOOD),
        Audit.state.not_in(NOT_COUNTED),
    )
    rows = await session.execute(query.order_by(Case.case_ref, Audit.id))
    return [FollowUpCandidate(*row) for row in rows.all()]
