"""Building late work and reading what the reminder tick did, for the scheduler's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dialogs.conversation import Actor, Conversations
from scheduler.reminders import ReminderChaser
from storage import repositories as repo
from storage.models import AuditEvent, OutboxMessage, Staff
from tests.conftest import Database
from tests.factories import create_audit, create_case, create_service, create_staff, create_team
from workflow.calendar import FixedClock
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

RULES = ProgrammeRules()
LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A London wall-clock time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def end_of(day: date) -> datetime:
    """17:00 London on `day`: when a deadline on that working day falls due."""
    return london(day.year, day.month, day.day, 17, 0)


@dataclass
class Cast:
    """One service with an auditor (managed by a team manager) and a Head of Service."""

    service_id: int
    team_id: int
    auditor: Staff
    manager: Staff
    head: Staff
    moderator: Staff


async def cast_in(db: Database, **rules_overrides: Any) -> Cast:
    async with db.sessions.begin() as session:
        service = await create_service(session, rules_overrides=rules_overrides or None)
        team = await create_team(session, service=service)
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        manager = await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
        auditor = await create_staff(
            session, roles=[(Role.AUDITOR, service)], auditor_trained=True, line_manager=manager
        )
        moderator = await create_staff(session, roles=[(Role.MODERATOR, service)])
        return Cast(service.id, team.id, auditor, manager, head, moderator)


async def late_audit(
    db: Database,
    cast: Cast,
    due_at: datetime,
    *,
    state: AuditState = AuditState.IN_PROGRESS,
    auditor: Staff | None = None,
    **fields: Any,
) -> int:
    """An audit in cast's service whose auditor owes it by due_at; its id."""
    async with db.sessions.begin() as session:
        team = await repo.get_team(session, cast.team_id)
        case = await create_case(session, team=team)
        audit = await create_audit(
            session,
            case=case,
            auditor=auditor or cast.auditor,
            moderator=cast.moderator,
            state=state,
            due_at=due_at,
            **fields,
        )
        return audit.id


def chaser(db: Database, clock: FixedClock, rules: ProgrammeRules = RULES) -> ReminderChaser:
    return ReminderChaser(db.sessions, rules, clock)


async def tick_at(db: Database, at: datetime, rules: ProgrammeRules = RULES) -> int:
    """One reminder tick as it would run at `at`."""
    return await chaser(db, FixedClock(at), rules).tick()


async def messages(db: Database, staff: Staff | None = None, kind: str | None = None):
    async with db.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if staff is not None:
            query = query.where(OutboxMessage.recipient_id == staff.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.scalars(query)).all())


async def events(db: Database, action: str, audit_id: int | None = None) -> list[AuditEvent]:
    async with db.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        if audit_id is not None:
            query = query.where(AuditEvent.entity_id == audit_id, AuditEvent.entity == "audit")
        return list((await session.scalars(query)).all())


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


def texts(card: dict[str, Any]) -> str:
    """Every piece of text on a card, to assert on what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "label"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


def actor(staff: Staff) -> Actor:
    return Actor(staff.aad_object_id, "tenant", staff.display_name)


def conversations(db: Database, at: datetime) -> Conversations:
    return Conversations(db.sessions, rules=RULES, clock=FixedClock(at))
