"""The tracker: one row per audit with the tracking sheet's columns, as far as the reader
may see ("Only the people allocated to an audit, their managers in line, and the Audit Team
can see it", DOMAIN.md).

Who sees what: the Audit Team, Audit Managers, Heads of Service and Divisional Directors
see every audit of the services they hold the role in; a team manager the audits of the
teams they manage (and those they are named on); anyone else the audits they have a part
in (auditor, moderator, practitioner, team manager named on it). Case references only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import Audit, Case, Cycle, Service, Staff, Team
from workflow.grades import Grade
from workflow.roles import Role
from workflow.states import AuditState

SERVICE_WIDE = frozenset(
    {Role.AUDIT_TEAM, Role.AUDIT_MANAGER, Role.HEAD_OF_SERVICE, Role.DIVISIONAL_DIRECTOR}
)
# The tracking sheet's columns, in its order, with their headings.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("case_ref", "Case"),
    ("service", "Service"),
    ("cycle", "Cycle"),
    ("team", "Team"),
    ("practitioner", "Practitioner"),
    ("auditor", "Auditor"),
    ("moderator", "Moderator"),
    ("state", "State"),
    ("initial_grade", "Initial grade"),
    ("moderated_grade", "Moderated grade"),
    ("final_grade", "Final grade"),
    ("audit_due", "Audit due"),
    ("moderation_due", "Moderation due"),
    ("uopp_due", "UoPP due"),
    ("late", "Late"),
)


@dataclass(frozen=True)
class TrackerRow:
    audit_id: int
    case_ref: str
    service: str
    cycle: str
    team: str
    practitioner: str
    auditor: str
    moderator: str
    state: str
    initial_grade: str
    moderated_grade: str
    final_grade: str
    audit_due: str
    moderation_due: str
    uopp_due: str
    late: str  # what is late now, e.g. "audit", "moderation", or ""


@dataclass(frozen=True)
class Filters:
    service: str = ""  # a service code
    cycle: int | None = None
    state: str = ""
    grade: str = ""  # final grade
    late_only: bool = False


async def visible_audits(session: AsyncSession, reader: Staff) -> Sequence[Audit]:
    """Every audit the reader may see, live or ended, newest cycle first."""
    held = await repo.roles_of(session, reader.id)
    services = {h.service_id for h in held if h.role in SERVICE_WIDE}
    teams = {h.team_id for h in held if h.role is Role.TEAM_MANAGER and h.team_id}
    own = or_(
        Audit.auditor_id == reader.id,
        Audit.moderator_id == reader.id,
        Audit.practitioner_id == reader.id,
        Audit.team_manager_id == reader.id,
    )
    conditions = [own]
    if services:
        conditions.append(Cycle.service_id.in_(services))
    if teams:
        conditions.append(Case.team_id.in_(teams))
    # A team manager for a whole service manages each of its teams.
    managed_services = {h.service_id for h in held if h.role is Role.TEAM_MANAGER and not h.team_id}
    if managed_services:
        conditions.append(Cycle.service_id.in_(managed_services))
    query = (
        select(Audit)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(Case, Case.id == Audit.case_id)
        .where(or_(*conditions))
        .order_by(Cycle.month.desc(), Audit.id)
    )
    return list((await session.scalars(query)).all())


async def tracker_rows(
    session: AsyncSession,
    reader: Staff,
    *,
    now: datetime,
    timezone: str,
    filters: Filters | None = None,
) -> list[TrackerRow]:
    filters = filters or Filters()
    audits = await visible_audits(session, reader)
    cycles = {c.id: c for c in await _all(session, Cycle, {a.cycle_id for a in audits})}
    cases = {c.id: c for c in await _all(session, Case, {a.case_id for a in audits})}
    services = {
        s.id: s for s in await _all(session, Service, {c.service_id for c in cycles.values()})
    }
    teams = {t.id: t for t in await _all(session, Team, {c.team_id for c in cases.values()})}
    people_ids = {
        p
        for a in audits
        for p in (a.auditor_id, a.moderator_id, a.practitioner_id)
        if p is not None
    }
    people = await repo.staff_by_ids(session, people_ids)

    def name(staff_id: int | None) -> str:
        return people[staff_id].display_name if staff_id in people else ""

    rows = []
    for audit in audits:
        cycle, case = cycles[audit.cycle_id], cases[audit.case_id]
        service = services[cycle.service_id]
        late = _late(audit, now)
        row = TrackerRow(
            audit_id=audit.id,
            case_ref=case.case_ref,
            service=service.code,
            cycle=cycle.title,
            team=teams[case.team_id].name if case.team_id in teams else "",
            practitioner=name(audit.practitioner_id),
            auditor=name(audit.auditor_id),
            moderator=name(audit.moderator_id),
            state=audit.state.label,
            initial_grade=_grade(audit.initial_grade),
            moderated_grade=_grade(audit.moderated_grade),
            final_grade=_grade(audit.final_grade),
            audit_due=_day(audit.due_at, timezone),
            moderation_due=_day(audit.moderation_due_at, timezone),
            uopp_due=_day(audit.uopp_due_at, timezone),
            late=late,
        )
        if _kept(row, audit, cycle, filters):
            rows.append(row)
    return rows


def _kept(row: TrackerRow, audit: Audit, cycle: Cycle, filters: Filters) -> bool:
    if filters.service and row.service != filters.service:
        return False
    if filters.cycle is not None and cycle.id != filters.cycle:
        return False
    if filters.state and audit.state.value != filters.state:
        return False
    if filters.grade and (audit.final_grade is None or audit.final_grade.value != filters.grade):
        return False
    return not (filters.late_only and not row.late)


def _late(audit: Audit, now: datetime) -> str:
    """What the audit owes that is past its deadline now."""
    if audit.state in (AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED):
        return "audit" if audit.due_at and audit.due_at < now else ""
    if audit.state is AuditState.SUBMITTED:
        due = audit.moderation_due_at
        return "moderation" if due and due < now else ""
    if audit.uopp_due_at and audit.uopp_due_at < now and audit.state is AuditState.MODERATED:
        return "UoPP meeting"
    if audit.part_b_due_at and audit.part_b_due_at < now:
        return "part B"
    return ""


def _grade(grade: Grade | None) -> str:
    return Grade(grade).label if grade else ""


def _day(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


async def _all(session: AsyncSession, model: type, ids: set[int]) -> list:
    if not ids:
        return []
    return list((await session.scalars(select(model).where(model.id.in_(ids)))).all())


def as_json(rows: Sequence[TrackerRow]) -> dict:
    return {
        "columns": [{"key": k, "title": t} for k, t in COLUMNS],
        "rows": [asdict(r) for r in rows],
    }


def as_csv(rows: Sequence[TrackerRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        values = asdict(row)
        writer.writerow([_safe_cell(str(values[key])) for key, _ in COLUMNS])
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """No formula injection when the CSV is opened in Excel: a leading =, +, - or @ is quoted."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@dataclass(frozen=True)
class HistoryRow:
    at: str  # ISO time, UTC
    who: str
    action: str
    before: str  # JSON
    after: str  # JSON


HISTORY_COLUMNS = (("at", "When (UTC)"), ("who", "Who"), ("action", "What"), ("before", "Before"),
                   ("after", "After"))  # fmt: skip


async def audit_history(
    session: AsyncSession, reader: Staff, audit_id: int
) -> list[HistoryRow] | None:
    """One audit's trail, oldest first; None when the reader may not see the audit."""
    if audit_id not in {audit.id for audit in await visible_audits(session, reader)}:
        return None
    events = await repo.list_events(session, "audit", audit_id)
    people = await repo.staff_by_ids(session, {e.actor_id for e in events if e.actor_id})
    return [
        HistoryRow(
            at=event.occurred_at.isoformat(),
            who=(
                people[event.actor_id].display_name
                if event.actor_id in people
                else event.actor_label or "system"
            ),
            action=event.action,
            before=json.dumps(event.before, default=str, sort_keys=True) if event.before else "",
            after=json.dumps(event.after, default=str, sort_keys=True) if event.after else "",
        )
        for event in events
    ]


def history_csv(rows: Sequence[HistoryRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in HISTORY_COLUMNS])
    for row in rows:
        values = asdict(row)
        writer.writerow([_safe_cell(str(values[key])) for key, _ in HISTORY_COLUMNS])
    return out.getvalue()
