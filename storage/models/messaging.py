"""What the bot must send, and what it needs to reach people and keep conversations."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import OutboxState
from storage.models.base import Base, Stamped
from storage.types import StrEnumType, utcnow


class OutboxMessage(Base):
    """A message saved before it is sent (save, then send).

    idempotency_key names the message's reason (e.g. "allocated:audit:42:auditor"),
    so a retried transaction or a repeated scheduler tick cannot queue it twice.
    A sender claims due rows, sends, and records the outcome.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    conversation_key: Mapped[str | None] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    state: Mapped[OutboxState] = mapped_column(
        StrEnumType(OutboxState), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reduced_at: Mapped[datetime | None]  # when retention emptied the payload (storage/retention.py)


class ConversationRef(Stamped, Base):
    """The Bot Framework conversation reference for a person's 1:1 chat with the bot."""

    __tablename__ = "conversation_refs"
    __table_args__ = (UniqueConstraint("aad_object_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    aad_object_id: Mapped[str] = mapped_column(String(36))
    tenant_id: Mapped[str] = mapped_column(String(36))
    conversation_id: Mapped[str] = mapped_column(String(512))
    service_url: Mapped[str] = mapped_column(String(512))
    reference: Mapped[dict[str, Any]]


class BotState(Base):
    """One botbuilder storage item; version is its eTag."""

    __tablename__ = "bot_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    document: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
