"""What a Head of Service's weekly digest reads: counts and case references, a query each.

Every function takes the teams the digest covers (`team_ids`: all the teams
of the services someone heads, or only the teams they head) and reads
everything it needs in one query, so a digest costs a handful of queries
whatever the size of the service. Nothing here writes, and nothing here
returns a child's details: case references, grades, dates and staff ids.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import CycleState, ExemptionState, MeetingState
from storage.models import (
    Audit,
    AuditEvent,
    Case,
    Cycle,
    Dispute,
    ExemptionRequest,
    FollowUp,
    FollowUpKind,
    KloeApproval,
    Meeting,
    OutboxMessage,
    Recommendation,
    RoleAssignment,
    Staff,
    Team,
)
from storage.repositories.views import OPEN_ACTION_STATUSES
from workflow.grades import Grade
from workflow.moderation import DisputeState
from workflow.roles import Role
from workflow.states import TERMINAL_STATES, AuditState

REAUDIT_METHOD = "reaudit"  # cycles.selection_method of a cycle of re-audits
URGENT_CONFIRMED = "urgent_issues_confirmed"  # the trail row of the TM's confirmation
NOT_COUNTED = frozenset({AuditState.REALLOCATED, AuditState.INVALIDATED})
AWAITING_AUDIT = (AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED)
AWAITING_UOPP = (AuditState.MODERATED, AuditState.DECIDED, AuditState.UOPP_BOOKED)


@dataclass(frozen=True)
class CycleMonth:
    cycle_id: int
    service_id: int
    title: str
    month: date


@dataclass(frozen=True)
class WeekCounts:
    allocated: int
    submitted: int
    moderated: int


@dataclass(frozen=True)
class LateAudit:
    """An audit with at least one deadline passed; the caller decides which and whose."""

    audit_id: int
    case_ref: str
    state: AuditState
    final_grade: Grade | None
    auditor_id: int
    moderator_id: int | None
    team_manager_id: int | None
    due_at: datetime | None
    moderation_due_at: datetime | None
    urgent_issues_due_at: datetime | None
    uopp_due_at: datetime | None
    urgent_confirmed: bool


@dataclass(frozen=True)
class LateAction:
    recommendation_id: int
    case_ref: str
    owner_id: int
    due_on: date


@dataclass(frozen=True)
class InadequateRow:
    audit_id: int
    case_ref: str
    urgent_issues_due_at: datetime | None
    urgent_confirmed: bool


@dataclass(frozen=True)
class WaitingExemption:
    request_id: int
    case_ref: str
    auditor_id: int
    asked_at: datetime


@dataclass(frozen=True)
class WaitingDispute:
    audit_id: int
    case_ref: str
    raised_by_id: int
    escalated_at: datetime | None


@dataclass(frozen=True)
class WaitingKloes:
    cycle_id: int
    title: str
    month: date


def _in_teams(team_ids: Collection[int]):  # type: ignore[no-untyped-def]
    return Case.team_id.in_(list(team_ids))


async def team_ids_of_services(session: AsyncSession, service_ids: Collection[int]) -> list[int]:
    """Every team of these services."""
    query = select(Team.id).where(Team.service_id.in_(list(service_ids))).order_by(Team.id)
    return list(await session.scalars(query))


async def graded_cycle_months(
    session: AsyncSession, service_ids: Collection[int]
) -> list[CycleMonth]:
    """The services' opened cycles (not re-audit cycles), newest month first."""
    query = (
        select(Cycle.id, Cycle.service_id, Cycle.title, Cycle.month)
        .where(
            Cycle.service_id.in_(list(service_ids)),
            Cycle.state.in_([CycleState.OPEN, CycleState.CLOSED]),
            or_(Cycle.selection_method.is_(None), Cycle.selection_method != REAUDIT_METHOD),
        )
        .order_by(Cycle.month.desc(), Cycle.id.desc())
    )
    return [CycleMonth(*row) for row in (await session.execute(query)).all()]


async def final_grade_counts(
    session: AsyncSession, cycle_ids: Collection[int], team_ids: Collection[int]
) -> dict[Grade, int]:
    """How many of these cycles' audits ended at each final grade (moderated, or decided)."""
    if not cycle_ids:
        return {}
    query = (
        select(Audit.final_grade, func.count())
        .join(Case, Case.id == Audit.case_id)
        .where(
            Audit.cycle_id.in_(list(cycle_ids)),
            _in_teams(team_ids),
            Audit.final_grade.is_not(None),
            Audit.state.not_in(NOT_COUNTED),
        )
        .group_by(Audit.final_grade)
    )
    rows = (await session.execute(query)).all()
    return {Grade(str(grade)): count for grade, count in rows}


async def moderation_pairs(
    session: AsyncSession, cycle_ids: Collection[int], team_ids: Collection[int]
) -> list[tuple[Grade, Grade, int]]:
    """(auditor's grade, moderated grade, how many) over these cycles' moderated audits."""
    if not cycle_ids:
        return []
    query = (
        select(Audit.initial_grade, Audit.moderated_grade, func.count())
        .join(Case, Case.id == Audit.case_id)
        .where(
            Audit.cycle_id.in_(list(cycle_ids)),
            _in_teams(team_ids),
            Audit.initial_grade.is_not(None),
            Audit.moderated_grade.is_not(None),
            Audit.state.not_in(NOT_COUNTED),
        )
        .group_by(Audit.initial_grade, Audit.moderated_grade)
    )
    rows = (await session.execute(query)).all()
    return [(Grade(str(a)), Grade(str(b)), n) for a, b, n in rows]


async def week_counts(
    session: AsyncSession, team_ids: Collection[int], since: datetime, until: datetime
) -> WeekCounts:
    """Audits allocated (created), submitted and moderated in [since, until)."""

    def within(column):  # type: ignore[no-untyped-def]
        return func.count().filter(and_(column >= since, column < until))

    query = (
        select(within(Audit.created_at), within(Audit.submitted_at), within(Audit.moderated_at))
        .join(Case, Case.id == Audit.case_id)
        .where(_in_teams(team_ids), Audit.state != AuditState.INVALIDATED)
    )
    allocated, submitted, moderated = (await session.execute(query)).one()
    return WeekCounts(allocated or 0, submitted or 0, moderated or 0)


def _urgent_confirmed():  # type: ignore[no-untyped-def]
    return exists().where(
        AuditEvent.entity == "audit",
        AuditEvent.entity_id == Audit.id,
        AuditEvent.action == URGENT_CONFIRMED,
    )


async def late_audits(
    session: AsyncSession, team_ids: Collection[int], now: datetime
) -> list[LateAudit]:
    """Audits with a deadline passed by `now`: the audit itself, its moderation, the urgent
    issues after Inadequate (unless confirmed), or its UoPP meeting."""
    confirmed = _urgent_confirmed()
    query = (
        select(
            Audit.id,
            Case.case_ref,
            Audit.state,
            Audit.final_grade,
            Audit.auditor_id,
            Audit.moderator_id,
            Audit.team_manager_id,
            Audit.due_at,
            Audit.moderation_due_at,
            Audit.urgent_issues_due_at,
            Audit.uopp_due_at,
            confirmed,
        )
        .join(Case, Case.id == Audit.case_id)
        .where(
            _in_teams(team_ids),
            Audit.state.not_in(TERMINAL_STATES),
            or_(
                and_(Audit.state.in_(AWAITING_AUDIT), Audit.due_at < now),
                and_(Audit.state == AuditState.SUBMITTED, Audit.moderation_due_at < now),
                and_(
                    Audit.final_grade == Grade.INADEQUATE,
                    Audit.urgent_issues_due_at < now,
                    ~confirmed,
                ),
                and_(Audit.state.in_(AWAITING_UOPP), Audit.uopp_due_at < now),
            ),
        )
        .order_by(Case.case_ref, Audit.id)
    )
    return [LateAudit(*tuple(row)) for row in (await session.execute(query)).all()]


async def late_actions(
    session: AsyncSession, team_ids: Collection[int], today: date
) -> list[LateAction]:
    """SMART actions not done whose due date is before `today`."""
    query = (
        select(Recommendation.id, Case.case_ref, Recommendation.owner_id, Recommendation.due_on)
        .join(Audit, Audit.id == Recommendation.audit_id)
        .join(Case, Case.id == Audit.case_id)
        .where(
            _in_teams(team_ids),
            Recommendation.status.in_(list(OPEN_ACTION_STATUSES)),
            Recommendation.owner_id.is_not(None),
            Recommendation.due_on < today,
            Audit.state.not_in(NOT_COUNTED),
        )
        .order_by(Recommendation.due_on, Recommendation.id)
    )
    rows = (await session.execute(query)).all()
    return [
        LateAction(recommendation_id, case_ref, owner_id, due_on)
        for recommendation_id, case_ref, owner_id, due_on in rows
        if owner_id is not None and due_on is not None
    ]


async def open_inadequate(session: AsyncSession, team_ids: Collection[int]) -> list[InadequateRow]:
    """Work whose final grade is Inadequate and whose audit is not yet closed."""
    query = (
        select(Audit.id, Case.case_ref, Audit.urgent_issues_due_at, _urgent_confirmed())
        .join(Case, Case.id == Audit.case_id)
        .where(
            _in_teams(team_ids),
            Audit.final_grade == Grade.INADEQUATE,
            Audit.state.not_in(TERMINAL_STATES),
        )
        .order_by(Audit.urgent_issues_due_at, Case.case_ref)
    )
    return [InadequateRow(*row) for row in (await session.execute(query)).all()]


async def meeting_counts(
    session: AsyncSession, team_ids: Collection[int], since: date, until: date
) -> tuple[int, int]:
    """(UoPP meetings booked and not yet held, meetings held on a day in [since, until))."""
    booked = func.count().filter(Meeting.state == MeetingState.BOOKED)
    held = func.count().filter(
        Meeting.state == MeetingState.HELD, Meeting.held_on >= since, Meeting.held_on < until
    )
    query = (
        select(booked, held)
        .join(Audit, Audit.id == Meeting.audit_id)
        .join(Case, Case.id == Audit.case_id)
        .where(_in_teams(team_ids))
    )
    booked_count, held_count = (await session.execute(query)).one()
    return booked_count or 0, held_count or 0


async def waiting_exemptions(
    session: AsyncSession, team_ids: Collection[int]
) -> list[WaitingExemption]:
    query = (
        select(ExemptionRequest.id, Case.case_ref, ExemptionRequest.auditor_id,
               ExemptionRequest.created_at)
        .join(Audit, Audit.id == ExemptionRequest.audit_id)
        .join(Case, Case.id == Audit.case_id)
        .where(_in_teams(team_ids), ExemptionRequest.state == ExemptionState.REQUESTED)
        .order_by(ExemptionRequest.created_at, ExemptionRequest.id)
    )  # fmt: skip
    return [WaitingExemption(*row) for row in (await session.execute(query)).all()]


async def waiting_disputes(
    session: AsyncSession, team_ids: Collection[int]
) -> list[WaitingDispute]:
    """Disputes sent for a decision and not yet decided."""
    query = (
        select(Audit.id, Case.case_ref, Dispute.raised_by_id, Dispute.escalated_at)
        .join(Audit, Audit.id == Dispute.audit_id)
        .join(Case, Case.id == Audit.case_id)
        .where(
            _in_teams(team_ids),
            Dispute.state == DisputeState.ESCALATED,
            Audit.state == AuditState.DISPUTED,
        )
        .order_by(Dispute.escalated_at, Dispute.id)
    )
    return [WaitingDispute(*row) for row in (await session.execute(query)).all()]


async def kloes_waiting_for(
    session: AsyncSession, service_ids: Collection[int], role: Role
) -> list[WaitingKloes]:
    """Proposed cycles of these services whose KLOEs `role` has not yet decided."""
    decided = exists().where(KloeApproval.cycle_id == Cycle.id, KloeApproval.approver_role == role)
    query = (
        select(Cycle.id, Cycle.title, Cycle.month)
        .where(
            Cycle.service_id.in_(list(service_ids)),
            Cycle.state == CycleState.PROPOSED,
            ~decided,
        )
        .order_by(Cycle.month, Cycle.id)
    )
    return [WaitingKloes(*row) for row in (await session.execute(query)).all()]


async def follow_up_keys(
    session: AsyncSession, service_ids: Collection[int], kind: FollowUpKind
) -> set[str]:
    """The keys of the follow-ups of one kind already done in these services."""
    query = select(FollowUp.key).where(
        FollowUp.service_id.in_(list(service_ids)), FollowUp.kind == kind
    )
    return set(await session.scalars(query))


async def follow_ups_done_between(
    session: AsyncSession,
    service_ids: Collection[int],
    kind: FollowUpKind,
    since: datetime,
    until: datetime,
) -> list[FollowUp]:
    query = (
        select(FollowUp)
        .where(
            FollowUp.service_id.in_(list(service_ids)),
            FollowUp.kind == kind,
            FollowUp.done_at >= since,
            FollowUp.done_at < until,
        )
        .order_by(FollowUp.done_at, FollowUp.id)
    )
    return list(await session.scalars(query))


async def below_good_counts(
    session: AsyncSession, cycle_ids: Collection[int], team_ids: Collection[int]
) -> dict[int, int]:
    """For each of these cycles, how many audits ended below Good."""
    if not cycle_ids:
        return {}
    query = (
        select(Audit.cycle_id, func.count())
        .join(Case, Case.id == Audit.case_id)
        .where(
            Audit.cycle_id.in_(list(cycle_ids)),
            _in_teams(team_ids),
            Audit.final_grade.in_([Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE]),
            Audit.state.not_in(NOT_COUNTED),
        )
        .group_by(Audit.cycle_id)
    )
    return dict((await session.execute(query)).all())  # type: ignore[arg-type]


@dataclass(frozen=True)
class HeadOfService:
    staff: Staff
    service_id: int
    team_id: int | None  # None: the whole service


async def heads_of_service(session: AsyncSession) -> list[HeadOfService]:
    """Every active person holding the Head of Service role, once per service or team."""
    query = (
        select(Staff, RoleAssignment.service_id, RoleAssignment.team_id)
        .join(RoleAssignment, RoleAssignment.staff_id == Staff.id)
        .where(RoleAssignment.role == Role.HEAD_OF_SERVICE, Staff.active.is_(True))
        .order_by(Staff.id, RoleAssignment.service_id, RoleAssignment.team_id)
    )
    return [HeadOfService(*row) for row in (await session.execute(query)).all()]


async def message_queued(session: AsyncSession, idempotency_key: str) -> bool:
    """Whether the outbox already holds a message under this key (sent or not)."""
    query = select(OutboxMessage.id).where(OutboxMessage.idempotency_key == idempotency_key)
    return await session.scalar(query) is not None
