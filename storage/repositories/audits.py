"""Audits and what is recorded about them: section grades, moderations, recommendations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from storage.enums import (
    ExemptionState,
    GradeStage,
    RecommendationLevel,
    RecommendationSource,
    RecommendationStatus,
)
from storage.errors import LiveAuditExists, NotFound, StaleRecord
from storage.models import (
    Audit,
    Case,
    Cycle,
    ExemptionRequest,
    Kloe,
    Moderation,
    Recommendation,
    SectionGrade,
)
from storage.types import utcnow
from workflow.grades import Grade
from workflow.states import AuditState

ENDED_STATES = frozenset({AuditState.REALLOCATED, AuditState.INVALIDATED})


async def add_audit(
    session: AsyncSession,
    cycle_id: int,
    case_id: int,
    practitioner_id: int,
    auditor_id: int,
    **fields: Any,
) -> Audit:
    """Allocate a case in a cycle. One live audit per (cycle, case): raises LiveAuditExists.

    fields are further Audit columns (team_manager_id, moderator_id, due_at,
    predecessor_id, ...). To reallocate, end the old audit first.
    """
    live = await live_audit_for_case(session, cycle_id, case_id)
    if live is not None:
        raise LiveAuditExists(cycle_id, case_id, live.id)
    audit = Audit(
        cycle_id=cycle_id,
        case_id=case_id,
        practitioner_id=practitioner_id,
        auditor_id=auditor_id,
        **fields,
    )
    session.add(audit)
    await session.flush()
    return audit


async def add_audits(
    session: AsyncSession, cycle_id: int, allocations: Iterable[dict[str, Any]]
) -> list[Audit]:
    """Allocate many cases in a cycle at once (opening a cycle): one INSERT sent with every
    row's values and one SELECT to read them back, in the order given.

    Each mapping holds Audit columns, case_id among them. Raises
    LiveAuditExists, adding nothing, if any case already has a live audit.
    """
    rows = [{"cycle_id": cycle_id, **fields} for fields in allocations]
    if not rows:
        return []
    case_ids = [row["case_id"] for row in rows]
    live_query = select(Audit).where(
        Audit.cycle_id == cycle_id,
        Audit.case_id.in_(case_ids),
        Audit.state.not_in(ENDED_STATES),
    )
    live = await session.scalar(live_query.limit(1))
    if live is not None:
        raise LiveAuditExists(cycle_id, live.case_id, live.id)
    # Core, not the ORM's unit of work: on SQLite the ORM inserts row by row to learn each
    # new id. Here they are read back: each case's newest audit in the cycle is the one just
    # added (ids only grow; any earlier audit of the case had ended).
    connection = await session.connection()
    # An executemany takes its columns from the first row: rows naming different columns go
    # in separate runs (opening a cycle gives one).
    for _, run in groupby(rows, key=lambda row: sorted(row)):
        await connection.execute(insert(Audit), list(run))
    added_query = (
        select(Audit)
        .where(Audit.cycle_id == cycle_id, Audit.case_id.in_(case_ids))
        .order_by(Audit.id)
    )
    added = {audit.case_id: audit for audit in (await session.scalars(added_query)).all()}
    return [added[case_id] for case_id in case_ids]


async def get_audit(session: AsyncSession, audit_id: int) -> Audit | None:
    return await session.get(Audit, audit_id)


async def get_audit_at_version(session: AsyncSession, audit_id: int, version: int) -> Audit:
    """The audit, locked for this transaction, if it is still at version (the card's).

    Raises NotFound, or StaleRecord when someone changed it since the card was drawn.
    """
    query = (
        select(Audit)
        .where(Audit.id == audit_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    audit = await session.scalar(query)
    if audit is None:
        raise NotFound("audit", audit_id)
    if audit.version != version:
        raise StaleRecord("audit", audit_id, expected=version, actual=audit.version)
    return audit


async def live_audit_for_case(session: AsyncSession, cycle_id: int, case_id: int) -> Audit | None:
    """The case's audit in the cycle that has not been reallocated or invalidated."""
    query = select(Audit).where(
        Audit.cycle_id == cycle_id,
        Audit.case_id == case_id,
        Audit.state.not_in(ENDED_STATES),
    )
    return await session.scalar(query)


async def list_audits_in_cycle(session: AsyncSession, cycle_id: int) -> list[Audit]:
    query = select(Audit).where(Audit.cycle_id == cycle_id).order_by(Audit.id)
    return list((await session.scalars(query)).all())


async def audits_of_auditors(session: AsyncSession, staff_ids: list[int]) -> list[Audit]:
    """The audits these people are auditing that have not ended, by id."""
    if not staff_ids:
        return []
    query = (
        select(Audit)
        .where(Audit.auditor_id.in_(staff_ids), Audit.state.not_in(ENDED_STATES))
        .order_by(Audit.id)
    )
    return list((await session.scalars(query)).all())


async def audits_of_moderators(
    session: AsyncSession, staff_ids: list[int], states: Iterable[AuditState]
) -> list[Audit]:
    """The audits in these states that these people are to moderate, by id."""
    if not staff_ids:
        return []
    query = (
        select(Audit)
        .where(Audit.moderator_id.in_(staff_ids), Audit.state.in_(list(states)))
        .order_by(Audit.id)
    )
    return list((await session.scalars(query)).all())


async def list_audits_for_staff(
    session: AsyncSession, staff_id: int, states: Iterable[AuditState] | None = None
) -> list[Audit]:
    """Audits in which the person is auditor, moderator, practitioner or team manager."""
    query = select(Audit).where(
        or_(
            Audit.auditor_id == staff_id,
            Audit.moderator_id == staff_id,
            Audit.practitioner_id == staff_id,
            Audit.team_manager_id == staff_id,
        )
    )
    if states is not None:
        query = query.where(Audit.state.in_(list(states)))
    return list((await session.scalars(query.order_by(Audit.id))).all())


async def list_audits_in_states(session: AsyncSession, states: Iterable[AuditState]) -> list[Audit]:
    """Audits in any of the states, for the scheduler to check deadlines against."""
    query = select(Audit).where(Audit.state.in_(list(states))).order_by(Audit.id)
    return list((await session.scalars(query)).all())


async def save_section_grade(
    session: AsyncSession,
    audit_id: int,
    section_id: str,
    stage: GradeStage,
    by_staff_id: int,
    grade: Grade | None,
    rationale: str | None = None,
    agreed: bool | None = None,
) -> SectionGrade:
    """Set one section's grade at one stage, replacing an earlier answer at that stage."""
    row = await session.scalar(
        select(SectionGrade).where(
            SectionGrade.audit_id == audit_id,
            SectionGrade.section_id == section_id,
            SectionGrade.stage == stage,
        )
    )
    if row is None:
        row = SectionGrade(audit_id=audit_id, section_id=section_id, stage=stage)
        session.add(row)
    row.by_staff_id = by_staff_id
    row.grade = grade
    row.rationale = rationale
    row.agreed = agreed
    await session.flush()
    return row


async def list_section_grades(
    session: AsyncSession, audit_id: int, stage: GradeStage | None = None
) -> list[SectionGrade]:
    query = select(SectionGrade).where(SectionGrade.audit_id == audit_id)
    if stage is not None:
        query = query.where(SectionGrade.stage == stage)
    query = query.order_by(SectionGrade.stage, SectionGrade.section_id)
    return list((await session.scalars(query)).all())


async def add_moderation(
    session: AsyncSession,
    audit_id: int,
    moderator_id: int,
    overall_agreed: bool,
    overall_grade: Grade,
    rationale: str | None = None,
    at: datetime | None = None,
    actions_arising: str | None = None,
) -> Moderation:
    moderation = Moderation(
        audit_id=audit_id,
        moderator_id=moderator_id,
        overall_agreed=overall_agreed,
        overall_grade=overall_grade,
        rationale=rationale,
        moderated_at=at or utcnow(),
        actions_arising=actions_arising,
    )
    session.add(moderation)
    await session.flush()
    return moderation


async def list_moderations(session: AsyncSession, audit_id: int) -> list[Moderation]:
    query = (
        select(Moderation)
        .where(Moderation.audit_id == audit_id)
        .order_by(Moderation.moderated_at, Moderation.id)
    )
    return list((await session.scalars(query)).all())


async def latest_moderation(session: AsyncSession, audit_id: int) -> Moderation | None:
    query = (
        select(Moderation)
        .where(Moderation.audit_id == audit_id)
        .order_by(Moderation.moderated_at.desc(), Moderation.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def add_recommendation(
    session: AsyncSession,
    audit_id: int,
    level: RecommendationLevel,
    action: str,
    impact_on_child: str | None,
    owner_id: int | None,
    due_on: date | None,
    source: RecommendationSource = RecommendationSource.AUDIT,
) -> Recommendation:
    """A SMART recommendation: what, the impact on the child, by whom, by when."""
    recommendation = Recommendation(
        audit_id=audit_id,
        level=level,
        action=action,
        impact_on_child=impact_on_child,
        owner_id=owner_id,
        due_on=due_on,
        source=source,
    )
    session.add(recommendation)
    await session.flush()
    return recommendation


async def get_recommendation(
    session: AsyncSession, recommendation_id: int
) -> Recommendation | None:
    return await session.get(Recommendation, recommendation_id)


async def list_recommendations(session: AsyncSession, audit_id: int) -> list[Recommendation]:
    query = (
        select(Recommendation)
        .where(Recommendation.audit_id == audit_id)
        .order_by(Recommendation.id)
    )
    return list((await session.scalars(query)).all())


async def list_open_recommendations_for_owner(
    session: AsyncSession, owner_id: int
) -> list[Recommendation]:
    """What a person still owes: recommendations not done, soonest due first."""
    query = (
        select(Recommendation)
        .where(
            Recommendation.owner_id == owner_id,
            Recommendation.status != RecommendationStatus.DONE,
        )
        .order_by(Recommendation.due_on, Recommendation.id)
    )
    return list((await session.scalars(query)).all())


async def add_exemption_request(
    session: AsyncSession, audit_id: int, auditor_id: int, reason: str
) -> ExemptionRequest:
    request = ExemptionRequest(audit_id=audit_id, auditor_id=auditor_id, reason=reason)
    session.add(request)
    await session.flush()
    return request


async def open_exemption_request(session: AsyncSession, audit_id: int) -> ExemptionRequest | None:
    """The audit's request still waiting for the Head of Service, if any."""
    query = select(ExemptionRequest).where(
        ExemptionRequest.audit_id == audit_id,
        ExemptionRequest.state == ExemptionState.REQUESTED,
    )
    return await session.scalar(query)


async def latest_exemption_request(session: AsyncSession, audit_id: int) -> ExemptionRequest | None:
    query = (
        select(ExemptionRequest)
        .where(ExemptionRequest.audit_id == audit_id)
        .order_by(ExemptionRequest.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def get_exemption_request_for_update(
    session: AsyncSession, request_id: int
) -> ExemptionRequest | None:
    """The request, locked on PostgreSQL, so two Heads of Service cannot both decide it."""
    query = (
        select(ExemptionRequest)
        .where(ExemptionRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def successor_of(session: AsyncSession, audit_id: int) -> Audit | None:
    """The audit that carried on after this one was reallocated."""
    return await session.scalar(select(Audit).where(Audit.predecessor_id == audit_id))


# Every press on an audit's card reads the audit this way, so the statement is built once.
_AUDIT_FOR_UPDATE = (
    select(Audit)
    .where(Audit.id == bindparam("audit_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def get_audit_for_update(session: AsyncSession, audit_id: int) -> Audit | None:
    """The audit, locked for this transaction (on PostgreSQL), read afresh, whatever its version.

    For flows that decide staleness themselves, e.g. the wizard, whose cards
    stay current while someone else (the practitioner) adds to the audit.
    """
    return await session.scalar(_AUDIT_FOR_UPDATE, {"audit_id": audit_id})


# Every press in the audit wizard runs this (bound: audit_id), so it is built once. Only the
# audit's row is locked: the cycle, case and KLOEs are read as any reader would.
_AUDIT_CYCLE_CASE_AND_KLOES_FOR_UPDATE = (
    select(Audit, Cycle, Case, Kloe.text)
    .join(Cycle, Cycle.id == Audit.cycle_id)
    .join(Case, Case.id == Audit.case_id)
    .outerjoin(Kloe, Kloe.cycle_id == Cycle.id)
    .where(Audit.id == bindparam("audit_id"))
    .order_by(Kloe.position)
    .with_for_update(of=Audit)
    .execution_options(populate_existing=True)
)


async def audit_cycle_case_and_kloes_for_update(
    session: AsyncSession, audit_id: int
) -> tuple[Audit, Cycle, Case, list[str]] | None:
    """`get_audit_for_update` and `cycle_case_and_kloes` in one query: the audit (locked,
    read afresh), its cycle, its case and the cycle's KLOE texts in order. A press in the
    audit wizard reads all four before anything else."""
    bound = {"audit_id": audit_id}
    rows = (await session.execute(_AUDIT_CYCLE_CASE_AND_KLOES_FOR_UPDATE, bound)).all()
    if not rows:
        return None
    audit, cycle, case, _ = rows[0]
    return audit, cycle, case, [text for *_, text in rows if text is not None]


_SAVE_DRAFT = (
    update(Audit)
    .where(Audit.id == bindparam("audit_id"), Audit.version == bindparam("version"))
    .values(draft=bindparam("draft"), version=bindparam("next_version"), updated_at=bindparam("at"))
)


async def save_draft(session: AsyncSession, audit: Audit, draft: dict[str, Any]) -> None:
    """Write the audit's draft at once, in the UPDATE a flush would send (checked against the
    audit's version, which it moves on), without the session's unit of work: the audit
    wizard saves on every press (bench/wizard_step.py). The audit then holds what was
    written. For an audit with no other change pending."""
    now = utcnow()
    connection = await session.connection()  # the statement alone, as record_events sends rows
    written = await connection.execute(
        _SAVE_DRAFT,
        {
            "audit_id": audit.id,
            "version": audit.version,
            "draft": draft,
            "next_version": audit.version + 1,
            "at": now,
        },
    )
    if written.rowcount != 1:  # as a flush would: someone else saved it first
        raise StaleDataError(f"audit {audit.id} is no longer at version {audit.version}")
    for name, value in (("draft", draft), ("version", audit.version + 1), ("updated_at", now)):
        set_committed_value(audit, name, value)


async def delete_recommendations(
    session: AsyncSession, audit_id: int, source: RecommendationSource
) -> int:
    """Remove an audit's recommendations from one source (an audit resubmitted after being
    returned replaces its own); returns how many went."""
    rows = list(
        await session.scalars(
            select(Recommendation).where(
                Recommendation.audit_id == audit_id, Recommendation.source == source
            )
        )
    )
    for row in rows:
        await session.delete(row)
    await session.flush()
    return len(rows)
