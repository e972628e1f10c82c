"""Several instances ticking against one database: every reminder goes exactly once.

Two independent engines (separate connection pools) tick at the same instant,
day after day; then two real `auditbot tick` processes race on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from scheduler.reminders import ReminderChaser
from storage.db import make_engine, session_factory
from storage.models import AuditEvent, OutboxMessage, Reminder, ReminderDay, Service
from storage.repositories import reminders as due
from tests.conftest import POSTGRES_ONLY, Database
from tests.factories import create_staff
from tests.harness import deployed_environment
from tests.scheduler.helpers import RULES, cast_in, end_of, late_audit, london, tick_at
from workflow.calendar import FixedClock
from workflow.roles import Role

ROOT = Path(__file__).resolve().parents[2]
PEOPLE, AUDITS_EACH = 12, 3
DAYS = (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26))


async def _many_late(db: Database) -> list[int]:
    """PEOPLE auditors, each owing AUDITS_EACH late audits; the audit ids."""
    cast = await cast_in(db)
    audits = []
    for _ in range(PEOPLE):
        async with db.sessions.begin() as session:
            service = await session.get(Service, cast.service_id)
            auditor = await create_staff(
                session, roles=[(Role.AUDITOR, service)], auditor_trained=True,
                line_manager=cast.manager,
            )  # fmt: skip
        for k in range(AUDITS_EACH):
            due = end_of(date(2026, 11, 16 + k))
            audits.append(await late_audit(db, cast, due, auditor=auditor))
    return audits


async def _sent(db: Database) -> tuple[Counter, Counter]:
    """Reminder messages per (person, day key), and reminder events per (audit, day)."""
    async with db.sessions() as session:
        rows = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        ).all()
        trail = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "reminder_sent"))
        ).all()
    per_person = Counter((m.recipient_id, m.idempotency_key.split(":")[1]) for m in rows)
    per_item = Counter((e.entity_id, e.occurred_at.date()) for e in trail)
    return per_person, per_item


async def test_two_engines_ticking_together_send_every_reminder_exactly_once(db: Database):
    audits = await _many_late(db)
    second = make_engine(db.url)
    try:
        for day in DAYS:
            for minute in (0, 1, 2):
                at = london(day.year, day.month, day.day, 9, minute)
                one = ReminderChaser(db.sessions, RULES, FixedClock(at))
                two = ReminderChaser(session_factory(second), RULES, FixedClock(at))
                await asyncio.gather(one.tick(), two.tick(), one.tick(), two.tick())
    finally:
        await second.dispose()

    per_person, per_item = await _sent(db)
    assert len(per_person) == PEOPLE * len(DAYS)
    assert set(per_person.values()) == {1}
    assert len(per_item) == len(audits) * len(DAYS)
    assert set(per_item.values()) == {1}


@POSTGRES_ONLY
async def test_two_tick_processes_on_one_postgresql_send_every_reminder_exactly_once(
    db: Database,
):
    audits = await _many_late(db)
    for day in DAYS[:2]:
        at = london(day.year, day.month, day.day, 9, 0).isoformat()
        processes = [await _tick_process(db, at) for _ in range(2)]
        outcomes = await asyncio.gather(*(p.communicate() for p in processes))
        for process, (out, _err) in zip(processes, outcomes, strict=True):
            assert process.returncode == 0, out.decode()
        reminded = sum(int(out.decode().split("reminders:")[1].split()[0]) for out, _ in outcomes)
        assert reminded == PEOPLE

    per_person, per_item = await _sent(db)
    assert len(per_person) == PEOPLE * 2 and set(per_person.values()) == {1}
    assert len(per_item) == len(audits) * 2 and set(per_item.values()) == {1}


async def _tick_process(db: Database, at: str) -> asyncio.subprocess.Process:
    env = {**deployed_environment(db.url), "AUDITBOT_LOG_LEVEL": "WARNING"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "tick", "--job", "reminders", "--at", at,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


@POSTGRES_ONLY
async def test_work_locked_while_a_tick_runs_is_left_out_and_the_day_given_back_if_none_is_left(
    db: Database,
):
    """Someone saving a snooze holds an item's row while the day's first tick runs: the tick
    sends the person's other items and records how many; if all of theirs are held, it does
    not take their day, so the next sweep reminds them that same day."""
    cast = await cast_in(db)
    first = await late_audit(db, cast, end_of(date(2026, 11, 16)))
    second = await late_audit(db, cast, end_of(date(2026, 11, 17)))
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 1  # Monday: the rows exist now

    async def tick_holding(audit_ids: list[int], at: datetime) -> int:
        async with db.sessions.begin() as holder:
            held = await holder.scalars(select(Reminder.id).where(Reminder.audit_id.in_(audit_ids)))
            await due.get_reminders_for_update(holder, list(held))
            return await tick_at(db, at)

    async def reminded_on(day: date) -> tuple[list[int], list[int]]:
        async with db.sessions() as session:
            items = await session.scalars(
                select(ReminderDay.items).where(
                    ReminderDay.owner_id == cast.auditor.id, ReminderDay.day == day
                )
            )
            return list(items), sorted(a for a, d in (await _trail_days(session)) if d == day)

    tuesday = date(2026, 11, 24)
    assert await tick_holding([first], london(2026, 11, 24, 9, 0)) == 1
    assert await reminded_on(tuesday) == ([1], [second])

    wednesday = date(2026, 11, 25)
    assert await tick_holding([first, second], london(2026, 11, 25, 9, 0)) == 0
    assert await reminded_on(wednesday) == ([], [])
    assert await tick_at(db, london(2026, 11, 25, 9, 15)) == 1
    assert await reminded_on(wednesday) == ([2], [first, second])


async def _trail_days(session) -> list[tuple[int, date]]:
    rows = await session.execute(
        select(AuditEvent.entity_id, AuditEvent.occurred_at).where(
            AuditEvent.action == "reminder_sent"
        )
    )
    return [(entity_id, at.date()) for entity_id, at in rows]
