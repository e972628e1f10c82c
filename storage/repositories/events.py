"""The audit trail: every change to a record is a row (DOMAIN.md "What is tracked")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, AuditEventRedaction, Staff
from storage.types import utcnow

Actor = Staff | int | str | None


async def record_event(
    session: AsyncSession,
    actor: Actor,
    entity: str,
    entity_id: int,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    label: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction; the caller commits it with the change.

    actor is a Staff row or staff id (a person acted), or a label such as
    "system" or "import" (no person). label overrides the stored label, e.g. a
    person running an import: record_event(s, staff, ..., label="import").
    before/after are made JSON-safe (dates as ISO strings, enums as values).
    """
    if isinstance(actor, Staff):
        if actor.id is None:
            await session.flush()
        actor = actor.id
    actor_id = actor if isinstance(actor, int) else None
    actor_label = label or (actor if isinstance(actor, str) else None)
    event = AuditEvent(
        occurred_at=at or utcnow(),
        actor_id=actor_id,
        actor_label=actor_label,
        entity=entity,
        entity_id=entity_id,
        action=action,
        before=jsonable(before),
        after=jsonable(after),
    )
    session.add(event)
    return event


_INSERT_EVENTS = insert(AuditEvent)


async def record_events(
    session: AsyncSession,
    actor: Actor,
    entity: str,
    action: str,
    changes: Sequence[tuple[int, dict[str, Any] | None, dict[str, Any] | None]],
    *,
    at: datetime | None = None,
) -> None:
    """The same action on many records (opening a cycle allocates hundreds of audits): one
    INSERT sent with every row's values. Each change is (entity_id, before, after); the
    rest is as for `record_event`."""
    if not changes:
        return
    if isinstance(actor, Staff):
        if actor.id is None:
            await session.flush()
        actor = actor.id
    occurred_at = at or utcnow()
    rows = [
        {
            "occurred_at": occurred_at,
            "actor_id": actor if isinstance(actor, int) else None,
            "actor_label": actor if isinstance(actor, str) else None,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "before": jsonable(before),
            "after": jsonable(after),
        }
        for entity_id, before, after in changes
    ]
    await session.flush()  # what the session holds goes first, in order
    connection = await session.connection()
    await connection.execute(_INSERT_EVENTS, rows)


async def list_events(session: AsyncSession, entity: str, entity_id: int) -> list[AuditEvent]:
    """The history of one record, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return list((await session.scalars(query)).all())


async def redact_event(
    session: AsyncSession,
    event_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    reason: str,
    at: datetime | None = None,
) -> None:
    """Replace an event's before and after, recording why: the one change the database allows
    to the trail, for what should never have been in it (a child's details). Everything
    else about the event stays; `reason` must say what was removed, never what it was."""
    session.add(AuditEventRedaction(event_id=event_id, reason=reason, redacted_at=at or utcnow()))
    await session.flush()
    await session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == event_id)
        .values(before=jsonable(before), after=jsonable(after))
        .execution_options(synchronize_session=False)
    )


def snapshot(row: Any, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of a row's column values (or of the named fields), for before/after."""
    names = fields or [column.key for column in inspect(row).mapper.column_attrs]
    return {name: jsonable(getattr(row, name)) for name in names}


def jsonable(value: Any) -> Any:
    """value with dates, times, enums, decimals, sets and tuples made JSON-safe."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [jsonable(item) for item in items]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
