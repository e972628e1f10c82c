"""The audit trail: append-only, enforced by database triggers (migrations 0001 and 0009)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class AuditEvent(Base):
    """Who did what to which record, when, with the record before and after.

    actor_id is NULL when the system acted; actor_label then says which part
    ("system", "import", "scheduler"). These rows are evidence for inspectors:
    the database refuses UPDATE and DELETE on them.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    actor_label: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class AuditEventRedaction(Base):
    """A redaction of one audit event: why and when values were blanked in its before and
    after (a child's details that should never have been stored, purged). The database lets
    an event's before/after change only when it has a redaction row, and nothing else about
    it ever; redactions themselves are append-only."""

    __tablename__ = "audit_event_redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), index=True)
    redacted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(200))
