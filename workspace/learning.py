"""The learning log (Hillingdon's, RAG-rated): what the audits and moderation taught, its
theme, who owns the change, its status and the evidence that practice changed. The Audit
Team and Audit Manager write it; everyone who sees a service as a whole reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import repositories as repo
from storage.models import (
    Audit,
    Case,
    Cycle,
    LearningItem,
    LearningSource,
    LearningStatus,
    Rag,
    RoleAssignment,
    Service,
    Staff,
)
from workspace.scope import KEEPERS, SERVICE_WIDE, Filters, of_programme, services_where
from workspace.sheets import Column, Sheet

COLUMNS = (
    Column("rag", "RAG"),
    Column("theme", "Theme"),
    Column("learning", "Learning"),
    Column("source", "From"),
    Column("service", "Service"),
    Column("cycle", "Cycle"),
    Column("owner", "Owner"),
    Column("status", "Status"),
    Column("evidence", "Evidence of change"),
    Column("recorded_by", "Recorded by"),
    Column("updated", "Updated", "date"),
)
THEME_LIMIT = 120
TEXT_LIMIT = 2000
RAG_ORDER = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2}


class LearningRefused(Exception):
    """The item cannot be saved as sent; the message says what to change."""


async def learning_sheet(
    session: AsyncSession, reader: Staff, *, filters: Filters, zone: Any
) -> Sheet:
    services = await services_where(session, reader, SERVICE_WIDE)
    owner, recorder = aliased(Staff), aliased(Staff)
    query = (
        select(LearningItem, Service.code, Cycle.title, Case.case_ref, owner.display_name,
               recorder.display_name)
        .join(Service, Service.id == LearningItem.service_id)
        .outerjoin(Cycle, Cycle.id == LearningItem.cycle_id)
        .outerjoin(Audit, Audit.id == LearningItem.audit_id)
        .outerjoin(Case, Case.id == Audit.case_id)
        .outerjoin(owner, owner.id == LearningItem.owner_id)
        .join(recorder, recorder.id == LearningItem.recorded_by_id)
        .where(LearningItem.service_id.in_(services))
        .order_by(LearningItem.id.desc())
    )  # fmt: skip
    if filters.service:
        query = query.where(Service.code == filters.service)
    if filters.cycle is not None:
        query = query.where(LearningItem.cycle_id == filters.cycle)
    if filters.programme:
        query = query.where(of_programme(filters.programme))
    rows = [
        {
            "id": item.id,
            "rag": Rag(item.rag).label,
            "rag_value": item.rag.value,
            "theme": item.theme,
            "learning": item.learning,
            "source": _source(item.source, case_ref),
            "service": code,
            "cycle": cycle or "",
            "owner": owner_name or "",
            "status": LearningStatus(item.status).label,
            "status_value": item.status.value,
            "evidence": item.evidence or "",
            "recorded_by": recorded_by,
            "updated": item.updated_at.astimezone(zone).date(),
        }
        for item, code, cycle, case_ref, owner_name, recorded_by in await session.execute(query)
    ]
    rows.sort(key=lambda row: (RAG_ORDER[Rag(str(row["rag_value"]))], -int(str(row["id"]))))
    return Sheet("Learning log", COLUMNS, rows)


def _source(source: LearningSource, case_ref: str | None) -> str:
    source = LearningSource(source)
    if source is LearningSource.CYCLE:
        return "The cycle's findings"
    what = "Audit" if source is LearningSource.AUDIT else "Moderation"
    return f"{what} of {case_ref}" if case_ref else what


def _text(body: dict[str, Any], key: str, limit: int, missing: str | None = None) -> str:
    value = str(body.get(key, "") or "").strip()
    if missing and not value:
        raise LearningRefused(missing)
    if len(value) > limit:
        raise LearningRefused(f"Keep the {key} under {limit} characters.")
    return value


def _choice(enum: Any, value: Any, words: str) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        raise LearningRefused(words) from None


async def save_item(
    session: AsyncSession, reader: Staff, body: Any, *, item_id: int | None, now: datetime
) -> LearningItem:
    """Add a learning item (item_id None) or change one; with its audit-trail row. The
    caller commits both together."""
    if not isinstance(body, dict):
        raise LearningRefused("Send the learning item as a JSON object.")
    keeps = await services_where(session, reader, KEEPERS)
    rag = _choice(Rag, body.get("rag"), "Choose red, amber or green.")
    status = _choice(LearningStatus, body.get("status") or "open",
                     "The status is open, in progress or embedded.")  # fmt: skip
    evidence = _text(body, "evidence", TEXT_LIMIT)
    if status is LearningStatus.EMBEDDED and not evidence:
        raise LearningRefused("Say what shows the change is embedded (the evidence of change).")
    owner = await _owner(session, str(body.get("owner", "") or ""))
    if item_id is not None:
        item = await session.get(LearningItem, item_id, with_for_update=True)
        if item is None or item.service_id not in keeps:
            raise LearningRefused("That learning item is not one you can change.")
        before = repo.snapshot(item, ("rag", "status", "evidence", "owner_id"))
        item.rag, item.status, item.evidence = rag, status, evidence or None
        item.owner_id = owner.id if owner else None
        await repo.record_event(
            session, reader, "learning_item", item.id, "updated", before,
            repo.snapshot(item, ("rag", "status", "evidence", "owner_id")), at=now,
        )  # fmt: skip
        return item
    service = await repo.get_service_by_code(session, str(body.get("service", "")).upper())
    if service is None or service.id not in keeps:
        raise LearningRefused(
            "Only the Audit Team or the Audit Manager can add to a service's learning log: "
            "choose one of your services."
        )
    theme = _text(body, "theme", THEME_LIMIT, "Give the learning a theme.")
    learning = _text(body, "learning", TEXT_LIMIT, "Say what was learnt.")
    source = _choice(LearningSource, body.get("source") or "cycle",
                     "Say where it was learnt: an audit, moderation or the cycle.")  # fmt: skip
    audit_id = cycle_id = None
    case_ref = str(body.get("case_ref", "") or "").strip()
    if source is not LearningSource.CYCLE:
        audit = await _latest_audit(session, case_ref, service.id)
        if audit is None:
            raise LearningRefused(
                f"No audit of case {case_ref or '(none given)'} in {service.code}."
            )
        audit_id, cycle_id = audit.id, audit.cycle_id
    elif wanted := str(body.get("cycle", "") or ""):
        # (An id past the column's range is no cycle's: refused here, not by the database.)
        known = wanted.isdigit() and len(wanted) < 10
        cycle = await session.get(Cycle, int(wanted)) if known else None
        if cycle is None or cycle.service_id != service.id:
            raise LearningRefused(f"That cycle is not one of {service.code}'s.")
        cycle_id = cycle.id
    item = LearningItem(
        service_id=service.id, cycle_id=cycle_id, audit_id=audit_id, source=source, theme=theme,
        learning=learning, rag=rag, status=status, evidence=evidence or None,
        owner_id=owner.id if owner else None, recorded_by_id=reader.id,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(item)
    await session.flush()
    await repo.record_event(session, reader, "learning_item", item.id, "added", None,
                            repo.snapshot(item), at=now)  # fmt: skip
    return item


async def _owner(session: AsyncSession, upn: str) -> Staff | None:
    if not upn:
        return None
    owner = await repo.get_staff_by_upn(session, upn)
    if owner is None or not owner.active:
        raise LearningRefused(f"Nobody active in auditbot signs in as {upn}.")
    return owner


async def _latest_audit(session: AsyncSession, case_ref: str, service_id: int) -> Audit | None:
    if not case_ref:
        return None
    query = (
        select(Audit)
        .join(Case, Case.id == Audit.case_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .where(Case.case_ref == case_ref, Cycle.service_id == service_id)
        .order_by(Audit.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def owners(session: AsyncSession, reader: Staff) -> list[dict[str, str]]:
    """Who a keeper may name as an owner: active staff holding a role in their services."""
    keeps = await services_where(session, reader, KEEPERS)
    query = (
        select(Staff.upn, Staff.display_name)
        .join(RoleAssignment, RoleAssignment.staff_id == Staff.id)
        .where(RoleAssignment.service_id.in_(keeps), Staff.active.is_(True))
        .distinct()
        .order_by(Staff.display_name)
    )
    return [{"value": upn, "label": name} for upn, name in await session.execute(query)]
