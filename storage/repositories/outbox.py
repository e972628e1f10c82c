"""The outbox: messages saved in the same transaction as the change that causes them.

A sender claims due rows (claim_due_messages), commits, sends outside any
transaction, then records the outcome by message id in a new transaction.
A claim means "a sender may be sending this now": claims are taken just
before sending and released if the send does not start. A claim is named by
its token, `claimed_by`, which the sender makes unique to each claim. Every
outcome is recorded only while the row is still held under the claim given,
so an outcome for a claim that was released and taken again (by another
sender, or the same one) cannot overwrite the newer claim's. Errors stored in
last_error must be a type or status code, never message content.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import OutboxState
from storage.models import ConversationRef, OutboxMessage, Staff
from storage.repositories._sql import UPSERT_INSERTS, upsert_insert
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


_ENQUEUE = {
    dialect: insert(OutboxMessage.__table__).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )
    for dialect, insert in UPSERT_INSERTS.items()
}


async def enqueue_messages(session: AsyncSession, messages: Sequence[dict[str, Any]]) -> None:
    """Queue many messages to people in one statement, each once per idempotency key (a
    repeat is skipped, as `enqueue_message` does one at a time). Each is a dict of
    `recipient_id`, `kind`, `payload` and `idempotency_key`.

    One INSERT ... ON CONFLICT DO NOTHING, compiled once and sent with every row's values
    (an executemany: the drivers batch it), in the caller's transaction."""
    if not messages:
        return
    now = utcnow()
    rows = [{**message, "conversation_key": None, "next_attempt_at": now} for message in messages]
    await session.flush()  # what the session holds goes first, in order
    connection = await session.connection()
    await connection.execute(_ENQUEUE[session.get_bind().dialect.name], rows)


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
    session: AsyncSession,
    claim: str,
    now: datetime,
    limit: int = 50,
    *,
    skip_recipients: Collection[int] = (),
) -> list[OutboxMessage]:
    """Claim up to limit pending messages due by now, oldest first, under the token `claim`.

    On PostgreSQL rows locked by another sender are skipped (SKIP LOCKED), so
    several instances can share the outbox; on both databases the claim is one
    conditional UPDATE, so a row already claimed elsewhere is never taken twice.
    skip_recipients leaves out people the sender cannot message yet (rate
    limits), so their backlog does not hide everyone else's. Commit before sending.
    """
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip_recipients:
        query = query.where(
            or_(
                OutboxMessage.recipient_id.is_(None),
                OutboxMessage.recipient_id.not_in(list(skip_recipients)),
            )
        )
    ids = list((await session.scalars(query)).all())
    if not ids:
        return []
    taking = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.state == OutboxState.PENDING)
        .values(
            state=OutboxState.CLAIMED,
            claimed_by=claim,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(populate_existing=True)
    )
    messages = list((await session.scalars(taking)).all())
    return sorted(messages, key=lambda m: (m.next_attempt_at, m.id))


async def recipient_chats(
    session: AsyncSession, staff_ids: Collection[int], tenant_id: str | None = None
) -> dict[int, tuple[Staff, ConversationRef | None]]:
    """Each recipient and their stored 1:1 chat (None if they never talked to the bot), in one
    query for a claimed batch. Without tenant_id, a person's most recently updated chat."""
    if not staff_ids:
        return {}
    on = ConversationRef.aad_object_id == Staff.aad_object_id
    if tenant_id is not None:
        on = on & (ConversationRef.tenant_id == tenant_id.lower())
    query = (
        select(Staff, ConversationRef)
        .outerjoin(ConversationRef, on)
        .where(Staff.id.in_(list(staff_ids)))
        .order_by(ConversationRef.updated_at.desc(), ConversationRef.id.desc())
    )
    found: dict[int, tuple[Staff, ConversationRef | None]] = {}
    for staff, chat in (await session.execute(query)).all():
        found.setdefault(staff.id, (staff, chat))
    return found


WAITING_FOR_A_CHAT = "waiting for the person to open a chat with the bot"


async def bring_forward_waiting_for(
    session: AsyncSession, aad_object_id: str, now: datetime
) -> int:
    """Make due now the person's messages that were waiting for a chat with them to exist.

    Called when their conversation reference is stored (they installed the app
    or talked to the bot), so those messages go at once rather than at the next try.
    """
    recipient = select(Staff.id).where(Staff.aad_object_id == aad_object_id.lower())
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient_id.in_(recipient),
            OutboxMessage.state == OutboxState.PENDING,
            OutboxMessage.last_error == WAITING_FOR_A_CHAT,
            OutboxMessage.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def recent_sends(
    session: AsyncSession, since: datetime
) -> list[tuple[int | None, str | None, datetime]]:
    """Messages Teams accepted since `since`, oldest first: (recipient, conversation key, when).
    Each counts as a request: rows bundled into one were fewer requests, so a limit kept with
    these is kept with room to spare."""
    query = (
        select(OutboxMessage.recipient_id, OutboxMessage.conversation_key, OutboxMessage.sent_at)
        .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.sent_at >= since)
        .order_by(OutboxMessage.sent_at, OutboxMessage.id)
    )
    return [(r, c, at) for r, c, at in await session.execute(query) if at is not None]


async def count_due_messages(session: AsyncSession, now: datetime) -> int:
    """Pending messages due by now (whether or not a sender could take them yet)."""
    query = select(func.count()).where(
        OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now
    )
    return int(await session.scalar(query) or 0)


async def count_messages_by_state(session: AsyncSession) -> dict[OutboxState, int]:
    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return {OutboxState(state): int(n) for state, n in (await session.execute(query)).all()}


MessageIds = int | Sequence[int]


async def mark_sent(
    session: AsyncSession, message_id: MessageIds, at: datetime, *, claim: str | None = None
) -> bool:
    """Record delivery (of one message, or of a bundle sent as one).

    False if any of them was no longer claimed (under `claim`, when given).
    """
    return await _finish(session, message_id, claim, OutboxState.SENT, sent_at=at, last_error=None)


async def mark_failed(
    session: AsyncSession, message_id: MessageIds, error: str, *, claim: str | None = None
) -> bool:
    """A permanent failure (a 4xx other than throttling, or retries used up): kept, not retried."""
    return await _finish(session, message_id, claim, OutboxState.FAILED, last_error=error)


async def mark_unreachable(
    session: AsyncSession, message_id: MessageIds, error: str, *, claim: str | None = None
) -> bool:
    """No way to reach the person (app not installed, bot blocked or disabled)."""
    return await _finish(session, message_id, claim, OutboxState.UNREACHABLE, last_error=error)


async def retry_later(
    session: AsyncSession,
    message_id: MessageIds,
    error: str,
    next_attempt_at: datetime,
    *,
    claim: str | None = None,
) -> bool:
    """Put a claimed message back in the queue after a retryable error (throttling, 5xx)."""
    return await _finish(
        session,
        message_id,
        claim,
        OutboxState.PENDING,
        last_error=error,
        next_attempt_at=next_attempt_at,
    )


async def release_claims(session: AsyncSession, message_ids: Sequence[int], claim: str) -> int:
    """Hand back messages claimed under `claim` but never sent; the claim is not an attempt."""
    if not message_ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(message_ids)),
            OutboxMessage.state == OutboxState.CLAIMED,
            OutboxMessage.claimed_by == claim,
        )
        .values(
            state=OutboxState.PENDING,
            claimed_by=None,
            claimed_at=None,
            attempts=OutboxMessage.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def release_stale_claims(session: AsyncSession, claimed_before: datetime) -> int:
    """Return messages claimed before claimed_before (a sender died) to the queue.

    Such a message may have reached Teams just before its sender died, so
    sending it again can duplicate it; not sending it could lose it. Keep
    claimed_before well behind any live sender's longest send.
    """
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
    session: AsyncSession,
    message_id: MessageIds,
    claim: str | None,
    state: OutboxState,
    **values: Any,
) -> bool:
    ids = [message_id] if isinstance(message_id, int) else list(message_id)
    query = update(OutboxMessage).where(
        OutboxMessage.id.in_(ids), OutboxMessage.state == OutboxState.CLAIMED
    )
    if claim is not None:
        query = query.where(OutboxMessage.claimed_by == claim)
    result = await session.execute(
        query.values(state=state, claimed_by=None, claimed_at=None, **values).execution_options(
            synchronize_session=False
        )
    )
    return bool(ids) and int(getattr(result, "rowcount", 0) or 0) == len(ids)
