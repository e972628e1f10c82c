"""What is waiting on someone: decisions and forms, read for `my audits`.

Each function answers one kind of waiting work for a set of services (work a
role in those services decides) or for one person (work that is theirs), as
rows of (subject id, audit id, case reference, due time). dialogs/waiting.py
decides who asks which.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import ExemptionState, MeetingState, RecommendationLevel
from storage.models import (
    Audit,
    AuditEvent,
    Case,
    Cycle,
    Dispute,
    ExemptionRequest,
    Meeting,
    Recommendation,
)
from workflow.grades import Grade
from workflow.moderation import DisputeState
from workflow.states import MODERATED_ONWARDS, TERMINAL_STATES, AuditState

LIVE = tuple(state for state in AuditState if state not in TERMINAL_STATES)


@dataclass(frozen=True)
class WaitingRow:
    subject_id: int  # the audit, meeting, exemption request or cycle the card is about
    audit_id: int | None
    label: str  # a case reference, or a cycle's title
    due_at: datetime | None


def _rows(query: Select) -> Select:
    return query.join(Case, Case.id == Audit.case_id).join(Cycle, Cycle.id == Audit.cycle_id)


async def _run(session: AsyncSession, query: Select) -> list[WaitingRow]:
    return [WaitingRow(*row) for row in (await session.execute(query)).all()]


async def completeness_checks(
    session: AsyncSession, service_ids: Collection[int]
) -> list[WaitingRow]:
    """Submitted audits whose completeness check is not recorded yet."""
    query = _rows(select(Audit.id, Audit.id, Case.case_ref, Audit.check_due_at)).where(
        Cycle.service_id.in_(list(service_ids)),
        Audit.check_due_at.is_not(None),
        Audit.state.in_(LIVE),
    )
    return await _run(session, query.order_by(Audit.check_due_at, Audit.id))


async def meetings_needing_organiser(
    session: AsyncSession,
    *,
    service_ids: Collection[int] | None = None,
    organiser_id: int | None = None,
) -> list[WaitingRow]:
    """UoPP meetings nobody's diaries fitted, waiting for their organiser to choose (or for
    the Audit Team to extend the deadline): by service, or by organiser."""
    due = func.coalesce(Meeting.extended_to, Audit.uopp_due_at)
    query = _rows(
        select(Meeting.id, Audit.id, Case.case_ref, due).join(Audit, Audit.id == Meeting.audit_id)
    ).where(Meeting.state == MeetingState.NEEDS_ORGANISER, Audit.state.in_(LIVE))
    if service_ids is not None:
        query = query.where(Cycle.service_id.in_(list(service_ids)))
    if organiser_id is not None:
        query = query.where(Meeting.organiser_id == organiser_id)
    return await _run(session, query.order_by(due, Meeting.id))


async def meetings_to_record(session: AsyncSession, chair_id: int) -> list[WaitingRow]:
    """Booked meetings whose chair was asked whether they took place and has not said."""
    chair = func.coalesce(Meeting.chair_id, Meeting.organiser_id)
    query = _rows(
        select(Meeting.id, Audit.id, Case.case_ref, Meeting.ends_at).join(
            Audit, Audit.id == Meeting.audit_id
        )
    ).where(
        Meeting.state == MeetingState.BOOKED,
        Meeting.chair_asked_at.is_not(None),
        chair == chair_id,
        Audit.state.in_(LIVE),
    )
    return await _run(session, query.order_by(Meeting.ends_at, Meeting.id))


async def exemptions(
    session: AsyncSession, service_ids: Collection[int], state: ExemptionState
) -> list[WaitingRow]:
    """Exemption requests in `state`: REQUESTED waits for the Head of Service, APPROVED for
    the Audit Team to reallocate (until the audit is)."""
    query = _rows(
        select(ExemptionRequest.id, Audit.id, Case.case_ref, Audit.due_at).join(
            Audit, Audit.id == ExemptionRequest.audit_id
        )
    ).where(
        Cycle.service_id.in_(list(service_ids)),
        ExemptionRequest.state == state,
        Audit.state.in_(LIVE),
    )
    return await _run(session, query.order_by(ExemptionRequest.created_at, ExemptionRequest.id))


async def disputes(
    session: AsyncSession,
    state: DisputeState,
    *,
    service_ids: Collection[int] | None = None,
    moderator_id: int | None = None,
) -> list[WaitingRow]:
    """Disputes in `state`: ESCALATED waits for the Head of Service or Audit Team of the
    service, RAISED for the audit's moderator."""
    query = _rows(
        select(Audit.id, Audit.id, Case.case_ref, Dispute.created_at).join(
            Dispute, Dispute.audit_id == Audit.id
        )
    ).where(Dispute.state == state, Audit.state == AuditState.DISPUTED)
    if service_ids is not None:
        query = query.where(Cycle.service_id.in_(list(service_ids)))
    if moderator_id is not None:
        query = query.where(Audit.moderator_id == moderator_id)
    return await _run(session, query.order_by(Dispute.created_at, Dispute.id))


async def unowned_service_actions(
    session: AsyncSession, service_ids: Collection[int]
) -> list[WaitingRow]:
    """Audits with service-level actions nobody owns yet, one row an audit."""
    query = (
        _rows(
            select(Audit.id, Audit.id, Case.case_ref, func.min(Recommendation.due_on)).join(
                Recommendation, Recommendation.audit_id == Audit.id
            )
        )
        .where(
            Cycle.service_id.in_(list(service_ids)),
            Recommendation.level == RecommendationLevel.SERVICE,
            Recommendation.owner_id.is_(None),
            Audit.state.in_(LIVE),
        )
        .group_by(Audit.id, Case.case_ref)
    )
    rows = (await session.execute(query.order_by(Audit.id))).all()
    return [WaitingRow(subject, audit, ref, None) for subject, audit, ref, _ in rows]


async def urgent_issues(
    session: AsyncSession, team_manager_id: int, confirmed_action: str
) -> list[WaitingRow]:
    """Audits moderated Inadequate whose urgent issues the team manager has not confirmed."""
    confirmed = exists().where(
        AuditEvent.entity == "audit",
        AuditEvent.entity_id == Audit.id,
        AuditEvent.action == confirmed_action,
    )
    query = _rows(select(Audit.id, Audit.id, Case.case_ref, Audit.urgent_issues_due_at)).where(
        Audit.team_manager_id == team_manager_id,
        Audit.urgent_issues_due_at.is_not(None),
        Audit.final_grade == Grade.INADEQUATE,
        Audit.state.in_(list(MODERATED_ONWARDS)),
        ~confirmed,
    )
    return await _run(session, query.order_by(Audit.urgent_issues_due_at, Audit.id))


async def audits_as_practitioner(
    session: AsyncSession, practitioner_id: int, states: Collection[AuditState]
) -> list[Audit]:
    query = select(Audit).where(
        Audit.practitioner_id == practitioner_id, Audit.state.in_(list(states))
    )
    return list((await session.scalars(query.order_by(Audit.due_at, Audit.id))).all())


async def part_b_owed(session: AsyncSession, staff_id: int) -> list[WaitingRow]:
    """Audits whose part B the person (as practitioner or team manager) has still to record."""
    query = _rows(select(Audit.id, Audit.id, Case.case_ref, Audit.part_b_due_at)).where(
        Audit.part_b_due_at.is_not(None),
        or_(Audit.practitioner_id == staff_id, Audit.team_manager_id == staff_id),
    )
    return await _run(session, query.order_by(Audit.part_b_due_at, Audit.id))


async def audits_with_event(
    session: AsyncSession, action: str, service_ids: Collection[int], states: Collection[AuditState]
) -> list[tuple[Audit, str, AuditEvent]]:
    """Live audits in these services, in these states, whose trail has `action`: each with
    its case reference and the latest such event (a handful: those waiting on a panel or a
    moderation group)."""
    query = (
        select(Audit, Case.case_ref, AuditEvent)
        .join(Case, Case.id == Audit.case_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(
            AuditEvent,
            (AuditEvent.entity == "audit")
            & (AuditEvent.entity_id == Audit.id)
            & (AuditEvent.action == action),
        )
        .where(Cycle.service_id.in_(list(service_ids)), Audit.state.in_(list(states)))
        .order_by(Audit.id, AuditEvent.id)
    )
    latest: dict[int, tuple[Audit, str, AuditEvent]] = {}
    for audit, case_ref, event in (await session.execute(query)).all():
        latest[audit.id] = (audit, case_ref, event)
    return list(latest.values())
