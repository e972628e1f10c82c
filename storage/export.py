"""The audit trail for inspectors: `auditbot export audit-trail`.

Every event, oldest first, as JSON lines (one object a line) or CSV (before
and after as JSON text): when, who (staff id and UPN, or the system's label
such as `import`, `entra`, `retention`), what record, what action, the record
before and after, and any redactions of the event (when and why: retention's
reductions, purges of undeclared case attributes). Read a page at a time, so
a trail of millions of events streams in constant memory.

Filters: a time range, an entity (with an id), or one audit with everything
recorded against its rows (recommendations, meetings, exemption requests).
The export itself is recorded on the trail (`trail` `exported`, with the
filters and the count), so who took a copy of what is on the record too.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEvent,
    AuditEventRedaction,
    ExemptionRequest,
    Meeting,
    Recommendation,
    Staff,
)
from storage.repositories.events import Actor, jsonable, record_event

PAGE = 1000
COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_upn",
    "actor_label",
    "entity",
    "entity_id",
    "action",
    "before",
    "after",
    "redactions",
)


@dataclass(frozen=True)
class TrailFilter:
    since: datetime | None = None
    until: datetime | None = None
    entity: str | None = None
    entity_id: int | None = None
    audit_id: int | None = None

    def described(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in self.__dict__.items() if v is not None}


async def export_trail(
    session: AsyncSession,
    out: TextIO,
    trail: TrailFilter,
    *,
    form: str = "jsonl",
    actor: Actor = "cli",
) -> int:
    """Write the events `trail` selects to out; how many. Records the export; never commits."""
    if form not in ("jsonl", "csv"):
        raise ValueError("format: jsonl or csv")
    writer = csv.DictWriter(out, COLUMNS) if form == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    async for row in _rows(session, await _where(session, trail)):
        if writer is not None:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            )
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    await record_event(
        session, actor, "trail", 0, "exported", None, {**trail.described(), "events": count}
    )
    return count


async def _where(session: AsyncSession, trail: TrailFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if trail.since is not None:
        where.append(AuditEvent.occurred_at >= trail.since)
    if trail.until is not None:
        where.append(AuditEvent.occurred_at < trail.until)
    if trail.entity is not None:
        where.append(AuditEvent.entity == trail.entity)
    if trail.entity_id is not None:
        where.append(AuditEvent.entity_id == trail.entity_id)
    if trail.audit_id is not None:
        records = [("audit", trail.audit_id)]
        for model, name in (
            (Recommendation, "recommendation"),
            (Meeting, "meeting"),
            (ExemptionRequest, "exemption"),
        ):
            ids = await session.scalars(select(model.id).where(model.audit_id == trail.audit_id))
            records += [(name, record_id) for record_id in ids]
        where.append(
            or_(*(and_(AuditEvent.entity == e, AuditEvent.entity_id == i) for e, i in records))
        )
    return where


async def _rows(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> AsyncIterator[dict[str, Any]]:
    last = 0
    while True:
        page = (
            await session.execute(
                select(AuditEvent, Staff.upn)
                .outerjoin(Staff, Staff.id == AuditEvent.actor_id)
                .where(AuditEvent.id > last, *where)
                .order_by(AuditEvent.id)
                .limit(PAGE)
            )
        ).all()
        if not page:
            return
        ids = [event.id for event, _ in page]
        redactions: dict[int, list[dict[str, Any]]] = {}
        for redaction in await session.scalars(
            select(AuditEventRedaction)
            .where(AuditEventRedaction.event_id.in_(ids))
            .order_by(AuditEventRedaction.id)
        ):
            redactions.setdefault(redaction.event_id, []).append(
                {"at": jsonable(redaction.redacted_at), "reason": redaction.reason}
            )
        for event, upn in page:
            yield {
                "id": event.id,
                "occurred_at": jsonable(event.occurred_at),
                "actor_id": event.actor_id,
                "actor_upn": upn,
                "actor_label": event.actor_label,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "action": event.action,
                "before": event.before,
                "after": event.after,
                "redactions": redactions.get(event.id, []),
            }
        last = ids[-1]


__all__ = ["TrailFilter", "export_trail"]
