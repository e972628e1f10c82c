"""Conversation references (to message people proactively) and botbuilder state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StaleRecord
from storage.models import BotState, ConversationRef
from storage.repositories._sql import upsert_insert
from storage.repositories.outbox import bring_forward_waiting_for
from storage.types import utcnow


async def save_conversation_ref(
    session: AsyncSession,
    aad_object_id: str,
    tenant_id: str,
    conversation_id: str,
    service_url: str,
    reference: dict[str, Any],
    at: datetime | None = None,
) -> ConversationRef:
    """Insert or replace the person's reference in one statement (safe under races).

    Messages that were waiting for a chat with the person become due now.
    """
    now = at or utcnow()
    values = {
        "conversation_id": conversation_id,
        "service_url": service_url,
        "reference": reference,
        "updated_at": now,
    }
    insert = upsert_insert(session, ConversationRef).values(
        aad_object_id=aad_object_id.lower(), tenant_id=tenant_id.lower(), created_at=now, **values
    )
    await session.execute(
        insert.on_conflict_do_update(index_elements=["aad_object_id", "tenant_id"], set_=values)
    )
    await bring_forward_waiting_for(session, aad_object_id, now)
    saved = await get_conversation_ref(session, aad_object_id, tenant_id)
    assert saved is not None
    return saved


async def get_conversation_ref(
    session: AsyncSession, aad_object_id: str, tenant_id: str | None = None
) -> ConversationRef | None:
    """The person's reference; without tenant_id, the most recently updated one."""
    query = (
        select(ConversationRef)
        .where(ConversationRef.aad_object_id == aad_object_id.lower())
        .order_by(ConversationRef.updated_at.desc(), ConversationRef.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if tenant_id is not None:
        query = query.where(ConversationRef.tenant_id == tenant_id.lower())
    return await session.scalar(query)


async def forget_conversation_ref(
    session: AsyncSession, aad_object_id: str, tenant_id: str, conversation_id: str
) -> bool:
    """Drop the person's reference if it still names conversation_id (Teams says it is gone).

    A reference saved since (the person talked to the bot again) is kept.
    """
    result = await session.execute(
        delete(ConversationRef)
        .where(
            ConversationRef.aad_object_id == aad_object_id.lower(),
            ConversationRef.tenant_id == tenant_id.lower(),
            ConversationRef.conversation_id == conversation_id,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def read_bot_state(session: AsyncSession, keys: Iterable[str]) -> dict[str, BotState]:
    """The stored items among keys (missing keys are absent from the result)."""
    query = select(BotState).where(BotState.key.in_(list(keys)))
    rows = await session.scalars(query.execution_options(populate_existing=True))
    return {row.key: row for row in rows}


async def write_bot_state(
    session: AsyncSession, key: str, document: dict[str, Any], expected_version: int | None = None
) -> int:
    """Store an item and return its new version (its eTag).

    With expected_version, the write succeeds only if the stored item is at
    that version (or absent); otherwise StaleRecord. Without it, last write wins.
    """
    now = utcnow()
    if expected_version is not None:
        result = await session.execute(
            update(BotState)
            .where(BotState.key == key, BotState.version == expected_version)
            .values(document=document, version=BotState.version + 1, updated_at=now)
            .returning(BotState.version)
            .execution_options(synchronize_session=False)
        )
        version = result.scalar_one_or_none()
        if version is not None:
            return int(version)
        current = await session.scalar(select(BotState.version).where(BotState.key == key))
        if current is not None:
            raise StaleRecord("bot_state", key, expected_version, current)
    insert = upsert_insert(session, BotState).values(
        key=key, document=document, version=1, updated_at=now
    )
    insert = insert.on_conflict_do_update(
        index_elements=["key"],
        set_={"document": document, "version": BotState.version + 1, "updated_at": now},
    )
    result = await session.execute(insert.returning(BotState.version))
    return int(result.scalar_one())


async def delete_bot_state(session: AsyncSession, keys: Iterable[str]) -> None:
    await session.execute(
        delete(BotState)
        .where(BotState.key.in_(list(keys)))
        .execution_options(synchronize_session=False)
    )
