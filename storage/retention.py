"""Retention: a closed audit's personal data, once kept long enough, reduced to the figures.

A council keeps audit records for its retention schedule's period
(`AUDITBOT_RETENTION_DAYS`), then no longer needs what auditors, moderators
and managers wrote about a child's case. `reduce_closed_audits` finds closed
(or invalidated) audits untouched for that long and, for each, in one
transaction:

- replaces every free-text answer and note with "[reduced]": the wizard's
  answers (a field that had text keeps "[reduced]", so "a finding was
  recorded" still counts; choices such as how feedback was gathered stay),
  section and moderation rationales, actions arising, child-level
  recommendations' wording and notes, disputes', exemption requests' and
  meetings' free text and the meeting's join link. Grades, states, dates,
  who held which role, and service-level recommendations (the board's
  improvement actions) stay: every board figure is the same afterwards;
- redacts the same text from the audit trail's before/after of the audit and
  its rows (the trail keeps every event, who and when; each redaction is
  recorded with its reason, the one change the database allows to the trail);
- records the reduction itself on the trail (`reduced`: how long it was kept
  and how much was reduced, never what), and stamps `audits.reduced_at`.

Messages delivered (or given up on) longer ago than the period lose their
card content too (`outbox.reduced_at`): what was sent, to whom and
when stays. The case itself (its reference and declared attributes) is the
council's case system's to keep, re-imported from it, and is not touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.enums import OutboxState, RecommendationLevel
from storage.models import (
    Audit,
    AuditEvent,
    Dispute,
    ExemptionRequest,
    Meeting,
    Moderation,
    OutboxMessage,
    Recommendation,
    SectionGrade,
)
from storage.repositories.events import Actor, record_event, redact_event
from workflow.calendar import Clock
from workflow.grades import Grade
from workflow.states import AuditState

log = logging.getLogger(__name__)

REDUCED = "[reduced]"
RETAINED_STATES = (AuditState.CLOSED, AuditState.INVALIDATED)
DELIVERED = (OutboxState.SENT, OutboxState.FAILED, OutboxState.UNREACHABLE)
BATCH = 200
# Text columns reduced on each of an audit's rows (the trail's copies go the same way).
FREE_TEXT: dict[type, tuple[str, ...]] = {
    SectionGrade: ("rationale",),
    Moderation: ("rationale", "actions_arising"),
    Recommendation: ("action", "impact_on_child", "note", "impact_noted"),
    Dispute: ("reason", "moderator_response", "escalation_note", "decision"),
    ExemptionRequest: ("reason", "comment"),
    Meeting: ("join_url", "last_error", "extension_reason"),
}
# The trail's entity names for an audit's rows (record_event's `entity`).
TRAIL_ENTITIES = {
    Recommendation: "recommendation",
    Meeting: "meeting",
    ExemptionRequest: "exemption",
}
# Strings in trail snapshots and answers that are values to count, not words to read.
KEPT_KEYS = frozenset(
    {
        "state", "initial_grade", "moderated_grade", "final_grade", "grade", "overall_grade",
        "decided_grade", "stage", "section_id", "level", "status", "source", "kind", "calendar",
        "response", "case_ref", "tool_id", "step", "roles", "outcome",
    }
)  # fmt: skip
KEPT_SUFFIXES = ("_at", "_on", "_id", "_ids", "_method", "_grade")
GRADE_VALUES = frozenset(grade.value for grade in Grade)


@dataclass
class Reduction:
    audits: int = 0
    rows: int = 0  # rows whose free text went
    events: int = 0  # trail events redacted
    messages: int = 0  # delivered messages whose content went

    @property
    def total(self) -> int:
        return self.audits + self.messages


async def reduce_closed_audits(
    session: AsyncSession,
    *,
    now: datetime,
    days: int,
    actor: Actor = "retention",
    limit: int = BATCH,
) -> Reduction:
    """Reduce up to `limit` audits closed for more than `days`, and old messages; never commits.
    Safe to run again (reduced audits are stamped) and beside another instance (rows are
    locked on PostgreSQL, and skipped if another holds them)."""
    if days <= 0:
        raise ValueError("retention days must be positive")
    cutoff = now - timedelta(days=days)
    query = (
        select(Audit)
        .where(
            Audit.state.in_(RETAINED_STATES), Audit.reduced_at.is_(None), Audit.updated_at < cutoff
        )
        .order_by(Audit.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    done = Reduction()
    for audit in (await session.scalars(query)).all():
        await _reduce_audit(session, audit, days=days, now=now, actor=actor, done=done)
    messages = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state.in_(DELIVERED),
            OutboxMessage.reduced_at.is_(None),
            OutboxMessage.created_at < cutoff,
        )
        .values(payload={"reduced": True}, reduced_at=now)
        .execution_options(synchronize_session=False)
    )
    done.messages = messages.rowcount or 0  # type: ignore[attr-defined]
    if done.total:
        log.info(
            "retention: %d audits reduced (%d rows, %d trail events), %d messages",
            done.audits,
            done.rows,
            done.events,
            done.messages,
        )
    return done


async def _reduce_audit(
    session: AsyncSession,
    audit: Audit,
    *,
    days: int,
    now: datetime,
    actor: Actor,
    done: Reduction,
) -> None:
    rows = 0
    entities: list[tuple[str, int]] = [("audit", audit.id)]
    for model, columns in FREE_TEXT.items():
        owned: Any = model
        row: Any
        for row in await session.scalars(select(owned).where(owned.audit_id == audit.id)):
            if model in TRAIL_ENTITIES:
                entities.append((TRAIL_ENTITIES[model], row.id))
            if model is Recommendation and row.level is RecommendationLevel.SERVICE:
                continue  # the board's improvement action, not about the child
            changed = False
            for column in columns:
                if getattr(row, column) not in (None, "", REDUCED):
                    setattr(row, column, REDUCED)
                    changed = True
            rows += changed
    answers_before = audit.draft
    audit.draft = _reduced(audit.draft)
    rows += audit.draft != answers_before
    events = 0
    reason = f"retention: free text of closed audit {audit.id} reduced after {days} days"
    conditions = [
        (AuditEvent.entity == entity) & (AuditEvent.entity_id == entity_id)
        for entity, entity_id in entities
    ]
    for event in await session.scalars(select(AuditEvent).where(or_(*conditions))):
        before, after = _reduced(event.before), _reduced(event.after)
        if (before, after) != (event.before, event.after):
            await redact_event(session, event.id, before, after, reason=reason, at=now)
            events += 1
    audit.reduced_at = now
    await session.flush()
    await record_event(
        session,
        actor,
        "audit",
        audit.id,
        "reduced",
        None,
        {"retention_days": days, "rows_reduced": rows, "trail_events_redacted": events},
        label="retention",
    )
    done.audits += 1
    done.rows += rows
    done.events += events


async def run_retention(sessions: async_sessionmaker[AsyncSession], clock: Clock, days: int) -> int:
    """The scheduler's daily job: reduce everything due, a batch a transaction; how many
    audits and messages were reduced."""
    total = 0
    while True:
        async with sessions.begin() as session:
            done = await reduce_closed_audits(session, now=clock.now(), days=days)
        total += done.total
        if done.audits < BATCH:
            return total


def _reduced(value: Any, key: str = "") -> Any:
    """value with its words replaced: strings become "[reduced]" unless they are values
    to count (grades, states, choices, dates, ids), found by their key."""
    if isinstance(value, dict):
        return {k: _reduced(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_reduced(v, key) for v in value]
    if not isinstance(value, str) or not value.strip():
        return value
    if key in KEPT_KEYS or key.endswith(KEPT_SUFFIXES) or value in GRADE_VALUES:
        return value
    return REDUCED


__all__ = ["REDUCED", "Reduction", "reduce_closed_audits", "run_retention"]
