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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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


async def _visible(session: AsyncSession, reader: Staff) -> Any:
    """The condition on Audit (joined to its Cycle and Case) for what the reader may see."""
    held = await repo.roles_of(session, reader.id)
    services = {h.service_id for h in held if h.role in SERVICE_WIDE}
    # A team manager for a whole service manages each of its teams.
    services |= {h.service_id for h in held if h.role is Role.TEAM_MANAGER and not h.team_id}
    teams = {h.team_id for h in held if h.role is Role.TEAM_MANAGER and h.team_id}
    conditions = [
        Audit.auditor_id == reader.id,
        Audit.moderator_id == reader.id,
        Audit.practitioner_id == reader.id,
        Audit.team_manager_id == reader.id,
    ]
    if services:
        conditions.append(Cycle.service_id.in_(services))
    if teams:
        conditions.append(Case.team_id.in_(teams))
    return or_(*conditions)


async def visible_audit_ids(session: AsyncSession, reader: Staff) -> set[int]:
    """Every audit the reader may see, live or ended."""
    query = (
        select(Audit.id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(Case, Case.id == Audit.case_id)
        .where(await _visible(session, reader))
    )
    return set((await session.scalars(query)).all())


async def tracker_rows(
    session: AsyncSession,
    reader: Staff,
    *,
    now: datetime,
    timezone: str,
    filters: Filters | None = None,
) -> list[TrackerRow]:
    """The reader's rows, newest cycle first, in one query (the columns the sheet shows)."""
    filters = filters or Filters()
    practitioner, auditor, moderator = aliased(Staff), aliased(Staff), aliased(Staff)
    query = (
        select(
            Audit.id, Audit.state, Audit.initial_grade, Audit.moderated_grade,
            Audit.final_grade, Audit.due_at, Audit.moderation_due_at, Audit.uopp_due_at,
            Audit.part_b_due_at, Case.case_ref, Cycle.id, Cycle.title, Service.code, Team.name,
            practitioner.display_name, auditor.display_name, moderator.display_name,
        )
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(Case, Case.id == Audit.case_id)
        .join(Service, Service.id == Cycle.service_id)
        .outerjoin(Team, Team.id == Case.team_id)
        .join(practitioner, practitioner.id == Audit.practitioner_id)
        .join(auditor, auditor.id == Audit.auditor_id)
        .outerjoin(moderator, moderator.id == Audit.moderator_id)
        .where(await _visible(session, reader))
        .order_by(Cycle.month.desc(), Audit.id)
    )  # fmt: skip
    if filters.service:
        query = query.where(Service.code == filters.service)
    if filters.cycle is not None:
        query = query.where(Cycle.id == filters.cycle)
    # An unknown state or grade (a hand-edited link) matches nothing, as the filter says.
    if filters.state:
        known = filters.state in {s.value for s in AuditState}
        query = query.where(Audit.state == AuditState(filters.state) if known else false())
    if filters.grade:
        known = filters.grade in {g.value for g in Grade}
        query = query.where(Audit.final_grade == Grade(filters.grade) if known else false())
    rows = []
    for found in (await session.execute(query)).all():
        (audit_id, state, initial, moderated, final, due, moderation_due, uopp_due, part_b_due,
         case_ref, _cycle_id, cycle_title, service_code, team_name,
         practitioner_name, auditor_name, moderator_name) = found  # fmt: skip
        late = _late(AuditState(state), due, moderation_due, uopp_due, part_b_due, now)
        if filters.late_only and not late:
            continue
        rows.append(
            TrackerRow(
                audit_id=audit_id,
                case_ref=case_ref,
                service=service_code,
                cycle=cycle_title,
                team=team_name or "",
                practitioner=practitioner_name or "",
                auditor=auditor_name or "",
                moderator=moderator_name or "",
                state=AuditState(state).label,
                initial_grade=_grade(initial),
                moderated_grade=_grade(moderated),
                final_grade=_grade(final),
                audit_due=_day(due, timezone),
                moderation_due=_day(moderation_due, timezone),
                uopp_due=_day(uopp_due, timezone),
                late=late,
            )
        )
    return rows


def _late(
    state: AuditState,
    due: datetime | None,
    moderation_due: datetime | None,
    uopp_due: datetime | None,
    part_b_due: datetime | None,
    now: datetime,
) -> str:
    """What the audit owes that is past its deadline now."""
    if state in (AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED):
        return "audit" if due and due < now else ""
    if state is AuditState.SUBMITTED:
        return "moderation" if moderation_due and moderation_due < now else ""
    if uopp_due and uopp_due < now and state is AuditState.MODERATED:
        return "UoPP meeting"
    if part_b_due and part_b_due < now:
        return "part B"
    return ""


def _grade(grade: Grade | None) -> str:
    return Grade(grade).label if grade else ""


def _day(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def as_json(rows: Sequence[TrackerRow]) -> dict:
    return {
        "columns": [{"key": k, "title": t} for k, t in COLUMNS],
        "rows": [asdict(r) for r in rows],
    }


def as_csv(rows: Sequence[TrackerRow]) -> str:
    return _csv(COLUMNS, rows)


def _csv(columns: Sequence[tuple[str, str]], rows: Sequence[Any]) -> str:
    """A header of the columns' titles, then each row's values in their order."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in columns])
    for row in rows:
        values = asdict(row)
        writer.writerow([_safe_cell(str(values[key])) for key, _ in columns])
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
    if audit_id not in await visible_audit_ids(session, reader):
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
    return _csv(HISTORY_COLUMNS, rows)
