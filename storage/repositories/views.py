"""Read-only views for the chat commands: audits and actions with what a reader needs beside them.

Each view returns rows that carry the names and references a card shows
(case reference, cycle title, staff display names), gathered in one query so
a command does not load people one at a time. Nothing here writes, and
nothing here decides who may see a row: callers filter with
`dialogs.access` first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.enums import CycleState, OutboxState, RecommendationStatus
from storage.models import Audit, Case, Cycle, OutboxMessage, Recommendation, Service, Staff, Team
from workflow.states import TERMINAL_STATES, AuditState

OPEN_ACTION_STATUSES = frozenset(
    {RecommendationStatus.OPEN, RecommendationStatus.PARTLY, RecommendationStatus.NOT_YET}
)


@dataclass(frozen=True)
class AuditRow:
    """An audit with its case reference, team, cycle and the names of its people."""

    audit: Audit
    case_ref: str
    team_id: int
    team_name: str
    service_id: int
    cycle_title: str
    cycle_state: CycleState
    cycle_month: date
    practitioner_name: str
    auditor_name: str
    moderator_name: str | None


@dataclass(frozen=True)
class ActionRow:
    recommendation: Recommendation
    case_ref: str


@dataclass(frozen=True)
class CycleRow:
    cycle: Cycle
    service_name: str


@dataclass(frozen=True)
class UnreachableRow:
    """Someone the outbox could not reach; error is the sender's short reason code."""

    staff_id: int
    display_name: str
    error: str | None


def _audit_rows() -> Select:
    practitioner = aliased(Staff)
    auditor = aliased(Staff)
    moderator = aliased(Staff)
    return (
        select(
            Audit,
            Case.case_ref,
            Case.team_id,
            Team.name,
            Team.service_id,
            Cycle.title,
            Cycle.state,
            Cycle.month,
            practitioner.display_name,
            auditor.display_name,
            moderator.display_name,
        )
        .join(Case, Case.id == Audit.case_id)
        .join(Team, Team.id == Case.team_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(practitioner, practitioner.id == Audit.practitioner_id)
        .join(auditor, auditor.id == Audit.auditor_id)
        .outerjoin(moderator, moderator.id == Audit.moderator_id)
    )


async def _run(session: AsyncSession, query: Select) -> list[AuditRow]:
    return [AuditRow(*row) for row in (await session.execute(query)).all()]


async def live_audit_rows_for_staff(session: AsyncSession, staff_id: int) -> list[AuditRow]:
    """Audits in open cycles, not yet ended, where the person is any of the four parties."""
    query = _audit_rows().where(
        Cycle.state == CycleState.OPEN,
        Audit.state.not_in(TERMINAL_STATES),
        or_(
            Audit.auditor_id == staff_id,
            Audit.moderator_id == staff_id,
            Audit.practitioner_id == staff_id,
            Audit.team_manager_id == staff_id,
        ),
    )
    return await _run(session, query.order_by(Audit.id))


async def audit_rows_for_case_ref(session: AsyncSession, case_ref: str) -> list[AuditRow]:
    """The audits of the case with this reference, in the order a reader wants them.

    The reference matches exactly, or else ignoring case (people type
    references in lower case). Reallocated audits are left out: their
    successor carries on the same audit. Order: audits in open cycles first,
    live before ended, then the newest month.
    """
    case_ids = list(await session.scalars(select(Case.id).where(Case.case_ref == case_ref)))
    if not case_ids:
        lowered = select(Case.id).where(func.lower(Case.case_ref) == case_ref.lower())
        case_ids = list(await session.scalars(lowered))
    if not case_ids:
        return []
    query = _audit_rows().where(Audit.case_id.in_(case_ids), Audit.state != AuditState.REALLOCATED)
    rows = await _run(session, query)
    return sorted(
        rows,
        key=lambda row: (
            row.cycle_state != CycleState.OPEN,
            row.audit.state in TERMINAL_STATES,
            -row.cycle_month.toordinal(),
            -row.audit.id,
        ),
    )


async def live_audit_rows_in_cycle(
    session: AsyncSession, cycle_id: int, team_ids: Collection[int] | None = None
) -> list[AuditRow]:
    """The cycle's audits not yet ended, optionally only those of cases in some teams."""
    query = _audit_rows().where(Audit.cycle_id == cycle_id, Audit.state.not_in(TERMINAL_STATES))
    if team_ids is not None:
        query = query.where(Case.team_id.in_(list(team_ids)))
    return await _run(session, query.order_by(Case.case_ref, Audit.id))


async def count_audits_by_state(
    session: AsyncSession, cycle_id: int, team_ids: Collection[int] | None = None
) -> dict[AuditState, int]:
    """How many of the cycle's audits are in each state (reallocated ones included)."""
    query = (
        select(Audit.state, func.count())
        .join(Case, Case.id == Audit.case_id)
        .where(Audit.cycle_id == cycle_id)
        .group_by(Audit.state)
    )
    if team_ids is not None:
        query = query.where(Case.team_id.in_(list(team_ids)))
    return {AuditState(state): count for state, count in (await session.execute(query)).all()}


async def open_cycles_in_services(
    session: AsyncSession, service_ids: Collection[int]
) -> list[CycleRow]:
    """Open cycles of the services, by service name then newest month first."""
    query = (
        select(Cycle, Service.name)
        .join(Service, Service.id == Cycle.service_id)
        .where(Cycle.service_id.in_(list(service_ids)), Cycle.state == CycleState.OPEN)
        .order_by(Service.name, Cycle.month.desc(), Cycle.id.desc())
    )
    return [CycleRow(*row) for row in (await session.execute(query)).all()]


async def open_action_rows_for_owner(session: AsyncSession, owner_id: int) -> list[ActionRow]:
    """Recommendations the person owns that are open, partly done or not yet done.

    Ordered by due date (undated last), so what is overdue comes first.
    """
    query = (
        select(Recommendation, Case.case_ref)
        .join(Audit, Audit.id == Recommendation.audit_id)
        .join(Case, Case.id == Audit.case_id)
        .where(
            Recommendation.owner_id == owner_id,
            Recommendation.status.in_(list(OPEN_ACTION_STATUSES)),
        )
        .order_by(Recommendation.due_on.is_(None), Recommendation.due_on, Recommendation.id)
    )
    return [ActionRow(*row) for row in (await session.execute(query)).all()]


async def line_managers_of(session: AsyncSession, staff_ids: Iterable[int]) -> set[int]:
    """Everyone above these people in the line-management chain, at any depth.

    One recursive query. UNION (not UNION ALL) discards rows already found,
    so a loop in the data (A manages B manages A) ends instead of recursing
    for ever.
    """
    ids = list(staff_ids)
    if not ids:
        return set()
    chain = (
        select(Staff.line_manager_id.label("id"))
        .where(Staff.id.in_(ids), Staff.line_manager_id.is_not(None))
        .cte("chain", recursive=True)
    )
    above = select(Staff.line_manager_id).join(chain, Staff.id == chain.c.id)
    chain = chain.union(above.where(Staff.line_manager_id.is_not(None)))
    return set(await session.scalars(select(chain.c.id)))


async def unreachable_people(
    session: AsyncSession, staff_ids: Collection[int]
) -> list[UnreachableRow]:
    """Those of these people whose latest outcome in the outbox is "unreachable".

    Someone reached since (a later message sent) is left out. Ordered by name.
    """
    if not staff_ids:
        return []
    ids = list(staff_ids)
    failed = await session.execute(
        select(OutboxMessage.recipient_id, OutboxMessage.created_at, OutboxMessage.last_error)
        .where(OutboxMessage.state == OutboxState.UNREACHABLE, OutboxMessage.recipient_id.in_(ids))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    latest: dict[int, tuple[datetime, str | None]] = {}
    for recipient_id, created_at, error in failed.all():
        if recipient_id is not None:
            latest[recipient_id] = (created_at, error)
    if not latest:
        return []
    sent = await session.execute(
        select(OutboxMessage.recipient_id, func.max(OutboxMessage.created_at))
        .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.recipient_id.in_(latest))
        .group_by(OutboxMessage.recipient_id)
    )
    for recipient_id, last_sent in sent.all():
        if recipient_id is not None and last_sent > latest[recipient_id][0]:
            del latest[recipient_id]
    names = await session.execute(
        select(Staff.id, Staff.display_name).where(Staff.id.in_(list(latest)))
    )
    return sorted(
        (UnreachableRow(staff_id, name, latest[staff_id][1]) for staff_id, name in names.all()),
        key=lambda row: (row.display_name, row.staff_id),
    )
