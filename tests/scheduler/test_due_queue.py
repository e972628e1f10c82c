"""The due queue: one chaser ticking every minute reads, between its sweeps, only what fell
due since it last looked (a stored deadline passing, a hold ending), and the next sweep finds
what fell due by a change (work submitted after its moderation was due). Fixed clock; SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, update

import scheduler.reminders as scheduler_reminders
from scheduler.reminders import SWEEP_EVERY
from storage import repositories as repo
from storage.enums import MeetingKind
from storage.models import Audit, Reminder, ReminderDay, Service
from storage.repositories import reminders as due
from tests.conftest import Database
from tests.factories import create_staff
from tests.scheduler.helpers import cast_in, chaser, count, events, late_audit, london, messages
from workflow.calendar import FixedClock
from workflow.roles import Role
from workflow.states import AuditState

MONDAY = london(2026, 11, 23, 10, 0)  # a working Monday, 10:00 London


class Reads:
    """What each tick asked the due-work query for: None for a sweep, else since when."""

    def __init__(self, monkeypatch) -> None:
        self.since: list[datetime | None] = []
        real = due.overdue_items

        async def spy(session, now, today, *, since=None):
            self.since.append(since)
            return await real(session, now, today, since=since)

        monkeypatch.setattr(due, "overdue_items", spy)


async def test_a_deadline_passing_between_two_ticks_is_chased_at_the_next(
    db: Database, monkeypatch
):
    cast = await cast_in(db)
    await late_audit(db, cast, MONDAY + timedelta(minutes=3))
    reads = Reads(monkeypatch)
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)

    assert await ticking.tick() == 0  # not late yet
    clock.advance(timedelta(minutes=4))
    assert await ticking.tick() == 1

    assert reads.since == [None, MONDAY]  # a sweep, then only what fell due since
    [reminder] = await messages(db, cast.auditor, kind="reminder")
    assert reminder.payload["summary"]


async def test_a_hold_that_ends_between_sweeps_is_chased_from_the_queue(db: Database, monkeypatch):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, MONDAY - timedelta(days=3))
    ends = MONDAY + timedelta(minutes=5)
    async with db.sessions.begin() as session:  # snoozed until 10:05 on Monday
        await due.ensure_reminders(
            session, [("audit", audit_id, audit_id, cast.auditor.id, MONDAY - timedelta(days=3))]
        )
        await session.execute(update(Reminder).values(next_at=ends, snoozed_until=ends))
    reads = Reads(monkeypatch)
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)

    assert await ticking.tick() == 0  # held
    clock.set(ends + timedelta(minutes=1))
    assert await ticking.tick() == 1

    assert reads.since == [None, MONDAY]
    assert len(await messages(db, cast.auditor, kind="reminder")) == 1


async def test_work_late_by_a_change_not_the_clock_is_found_by_the_next_sweep(
    db: Database, monkeypatch
):
    """An audit submitted after its moderation was due: nothing passes a deadline, so the
    ticks between sweeps do not see it; the next sweep (within SWEEP_EVERY) does."""
    cast = await cast_in(db)
    audit_id = await late_audit(
        db,
        cast,
        MONDAY + timedelta(days=5),
        moderation_due_at=MONDAY - timedelta(days=1),
    )
    reads = Reads(monkeypatch)
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)
    assert await ticking.tick() == 0
    async with db.sessions.begin() as session:
        await session.execute(
            update(Audit).where(Audit.id == audit_id).values(state=AuditState.SUBMITTED)
        )

    clock.advance(timedelta(minutes=1))
    assert await ticking.tick() == 0
    clock.set(MONDAY + SWEEP_EVERY)
    assert await ticking.tick() == 1

    assert reads.since == [None, MONDAY, None]
    assert len(await messages(db, cast.moderator, kind="reminder")) == 1


async def test_a_quiet_minute_reads_two_things_and_notes_its_run_now_and_then(db: Database):
    """Between sweeps, with items long late and all held, a tick reads the due queue and one
    UNION of ranges, and writes nothing (no durable commit to wait for) except, every
    RUN_NOTED_EVERY, when it last ran."""
    cast = await cast_in(db)
    for n in range(30):
        await late_audit(db, cast, MONDAY - timedelta(days=2, minutes=n))
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)
    assert await ticking.tick() == 1  # everything reminded, so held until another day
    clock.advance(timedelta(minutes=1))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await ticking.tick() == 0
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    # the holds that ended, the due-work UNION
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["SELECT", "SELECT"]

    for _ in range(5):
        clock.advance(timedelta(minutes=1))
        assert await ticking.tick() == 0
    async with db.sessions() as session:
        noted = await due.last_run_at(session, scheduler_reminders.JOB_NAME)
    assert noted == MONDAY + scheduler_reminders.RUN_NOTED_EVERY


async def test_the_first_tick_reminds_people_in_batches_each_once(db: Database, monkeypatch):
    """More people than one transaction takes: every one reminded once, with their trail,
    and the next minute sends nobody anything again."""
    monkeypatch.setattr(scheduler_reminders, "PEOPLE_PER_COMMIT", 3)
    cast = await cast_in(db)
    auditors = []
    async with db.sessions.begin() as session:
        service = await session.get(Service, cast.service_id)
        for _ in range(7):
            auditors.append(
                await create_staff(session, roles=[(Role.AUDITOR, service)], auditor_trained=True)
            )
    for auditor in auditors:
        await late_audit(db, cast, MONDAY - timedelta(days=2), auditor=auditor)
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)

    assert await ticking.tick() == 7
    clock.advance(timedelta(minutes=1))
    assert await ticking.tick() == 0

    for auditor in auditors:
        assert len(await messages(db, auditor, kind="reminder")) == 1
    assert await count(db, ReminderDay) == 7
    assert len(await events(db, "reminder_sent")) == 7


async def test_a_uopp_booking_and_an_extension_falling_due_between_sweeps_are_chased(
    db: Database, monkeypatch
):
    """The two ways a UoPP booking's deadline is kept (the audit's date, or the meeting's
    extension) are both read between sweeps, by their own ranges."""
    cast = await cast_in(db)
    on_date = await late_audit(
        db, cast, MONDAY + timedelta(days=5), state=AuditState.MODERATED,
        uopp_due_at=MONDAY + timedelta(minutes=3),
    )  # fmt: skip
    extended = await late_audit(
        db, cast, MONDAY + timedelta(days=5), state=AuditState.MODERATED,
        uopp_due_at=MONDAY - timedelta(days=9),
    )  # fmt: skip
    async with db.sessions.begin() as session:
        await repo.add_meeting(session, on_date, MeetingKind.UOPP, cast.head.id)
        meeting = await repo.add_meeting(session, extended, MeetingKind.UOPP, cast.manager.id)
        meeting.extended_to = MONDAY + timedelta(minutes=2)
    reads = Reads(monkeypatch)
    clock = FixedClock(MONDAY)
    ticking = chaser(db, clock)

    assert await ticking.tick() == 0  # neither due yet
    clock.advance(timedelta(minutes=4))
    assert await ticking.tick() == 2

    assert reads.since == [None, MONDAY]
    assert len(await messages(db, cast.head, kind="reminder")) == 1
    assert len(await messages(db, cast.manager, kind="reminder")) == 1
