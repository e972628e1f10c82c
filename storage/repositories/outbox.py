"""The outbox: messages saved in the same transaction as the change that causes them.

A sender claims due rows (claim_due_messages), commits, sends outside any
transaction, then records the outcome by message id in a new transaction.
Errors stored in last_error must be a type or status code, never message content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import OutboxState
from storage.models import OutboxMessage
from storage.repositories._sql import upsert_insert
from storage.types import utcnow


async def enqueue_message(
    session: AsyncSession,
    recipient_id: int | None,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    conversation_key: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Queue a message once per idempotency_key; a repeat returns the message already queued.

    recipient_id is the person (their 1:1 chat); conversation_key instead names
    a channel or group conversation.
    """
    insert = upsert_insert(session, OutboxMessage).values(
        idempotency_key=idempotency_key,
        recipient_id=recipient_id,
        conversation_key=conversation_key,
        kind=kind,
        payload=payload,
        next_attempt_at=not_before or utcnow(),
    )
    await session.execute(insert.on_conflict_do_nothing(index_elements=["idempotency_key"]))
    message = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
    )
    assert message is not None
    return message


async def get_message(session: AsyncSession, message_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, message_id, populate_existing=True)


async def list_messages(
    session: AsyncSession, *, state: OutboxState | None = None, recipient_id: int | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if state is not None:
        query = query.where(OutboxMessage.state == state)
    if recipient_id is not None:
        query = query.where(OutboxMessage.recipient_id == recipient_id)
    return list((await session.scalars(query)).all())


async def claim_due_messages(
    session: AsyncSession, worker: str, now: datetime, limit: int = 50
) -> list[OutboxMessage]:
    """Claim up to limit pending messages due by now, oldest first, for worker.

    On PostgreSQL rows locked by another sender are skipped (SKIP LOCKED), so
    several instances can share the outbox. Commit before sending.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.scalars(query)).all())
    for message in messages:
        message.state = OutboxState.CLAIMED
        message.claimed_by = worker
        message.claimed_at = now
        message.attempts += 1
    await session.flush()
    return messages


async def mark_sent(session: AsyncSession, message_id: int, at: datetime) -> bool:
    """Record delivery; False if the message was no longer claimed (e.g. released)."""
    return await _finish(session, message_id, OutboxState.SENT, sent_at=at, last_error=None)


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> bool:
    """A permanent failure (a 4xx other than throttling): kept, never retried."""
    return await _finish(session, message_id, OutboxState.FAILED, last_error=error)


async def mark_unreachable(session: AsyncSession, message_id: int, error: str) -> bool:
    """No way to reach the person (no conversation reference, bot uninstalled)."""
    return await _finish(session, message_id, OutboxState.UNREACHABLE, last_error=error)


async def retry_later(
    session: AsyncSession, message_id: int, error: str, next_attempt_at: datetime
) -> bool:
    """Put a claimed message back in the queue after a retryable error (throttling, 5xx)."""
    return await _finish(
        session, message_id, OutboxState.PENDING, last_error=error, next_attempt_at=next_attempt_at
    )


async def release_stale_claims(session: AsyncSession, claimed_before: datetime) -> int:
    """Return messages claimed before claimed_before (a sender died) to the queue."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state == OutboxState.CLAIMED,
            OutboxMessage.claimed_at < claimed_before,
        )
        .values(state=OutboxState.PENDING, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _finish(
    session: AsyncSession, message_id: int, state: OutboxState, **values: Any
) -> bool:
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == OutboxState.CLAIMED)
        .values(state=state, claimed_by=None, claimed_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
