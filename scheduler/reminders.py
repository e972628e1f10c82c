"""The reminder tick: chase late work up the ladder, one bundled card per person per day.

Each tick (every minute) asks the database what is overdue and not held
(between sweeps of everything, only what fell due since it last looked: the due
queue), lets `workflow.reminders` decide each item's rung, and, per person, in a
savepoint of their own (a hundred people to a transaction): claims the items
(SKIP LOCKED / conditional UPDATE) and the person's reminder for the day, writes
the audit trail and queues the card (and any copy up the ladder) in the outbox.
Outside working hours it does nothing; after downtime, each missed reminder goes once, marked late.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.reminders import Chased, remind_person, work_of_a_leaver
from storage import repositories as repo
from storage.models import Reminder, Staff
from storage.repositories import reminders as due
from workflow.calendar import Clock, WorkingCalendar
from workflow.reminders import (
    Chase,
    ChaseState,
    Decision,
    action_due,
    decide,
    may_remind,
    next_reminder_at,
    uopp_record_due,
)
from workflow.rules import ProgrammeRules

log = logging.getLogger(__name__)

JOB_NAME = "reminders"
ACTOR = "scheduler"
# How often a tick reads every late item rather than only what fell due since the last.
SWEEP_EVERY = timedelta(minutes=15)
# People reminded per transaction on a busy tick (the first of a working day).
PEOPLE_PER_COMMIT = 100
# How stale the noted last run may grow on quiet ticks. It tells a reminder that should
# have gone on an earlier day whether the service was down then (workflow.reminders.is_late):
# a tick that finds work always notes its run, so a few minutes' staleness changes nothing.
RUN_NOTED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Due:
    """An overdue item with its deadline worked out."""

    kind: Chase
    subject_id: int
    audit_id: int
    owner_id: int
    due_at: datetime

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind.value, self.subject_id)


class ReminderChaser:
    """Owns what a tick needs; `tick` is the job the scheduler runs every minute."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rules: ProgrammeRules,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._rules = rules
        self._clock = clock
        self._calendar = WorkingCalendar.from_rules(rules)
        self._services: dict[int, tuple[ProgrammeRules, WorkingCalendar]] = {}
        self._looked_at: datetime | None = None  # when this chaser last read due work
        self._swept_at: datetime | None = None  # ... and last read all of it
        self._noted_at: datetime | None = None  # ... and last noted its run (scheduler_runs)

    async def tick(self) -> int:
        """Queue today's reminders that are due; returns how many people were reminded."""
        now = self._clock.now()
        if not may_remind(self._calendar, now):
            return 0
        today = self._calendar.local_date(now)
        self._services = {}  # a service's overrides may have changed since the last tick
        since = self._since(now)
        previous_run: datetime | None = None
        async with self._sessions.begin() as session:
            found = await self.due_work(session, now, since=since)
            waiting = {item.owner_id for item in found}
            already = await due.reminded_today(session, waiting, today)
            found = [item for item in found if item.owner_id not in already]
            if not found:
                # The usual minute: reads only, and the run noted now and then (writing it
                # each minute would make every tick wait for a durable commit).
                if self._noted_at is None or not now - RUN_NOTED_EVERY < self._noted_at <= now:
                    await due.record_run(session, JOB_NAME, now)
                    self._noted_at = now
            else:
                previous_run = await due.last_run_at(session, JOB_NAME)
                await due.ensure_reminders(
                    session,
                    [(i.kind.value, i.subject_id, i.audit_id, i.owner_id, i.due_at) for i in found],
                )
        self._looked_at = now
        if since is None:
            self._swept_at = now
        if not found:
            return 0
        by_owner: dict[int, list[Due]] = defaultdict(list)
        for item in found:
            by_owner[item.owner_id].append(item)
        owners = sorted(by_owner.items())
        reminded = 0
        for start in range(0, len(owners), PEOPLE_PER_COMMIT):
            reminded += await self._remind_batch(
                owners[start : start + PEOPLE_PER_COMMIT], now, previous_run
            )
        async with self._sessions.begin() as session:
            await due.record_run(session, JOB_NAME, now)
        self._noted_at = now
        return reminded

    async def _remind_batch(
        self,
        owners: Sequence[tuple[int, list[Due]]],
        now: datetime,
        previous_run: datetime | None,
    ) -> int:
        """Several people's reminders in one transaction (one commit, which on a durable
        database is most of a reminder's cost), each person in a savepoint of their own.

        One person's failure (a bug, a bad row) must not hold up everyone after them: their
        savepoint is rolled back, logged by id, and tried again next tick (a sweep, as their
        work is no longer new). A failure of the commit itself loses the batch the same way."""
        reminded = 0
        try:
            async with self._sessions.begin() as session:
                people = await repo.staff_by_ids(session, [owner_id for owner_id, _ in owners])
                # Each item's case reference and service, for everyone at once (they do not
                # change; whether an item is still to be reminded is claimed person by person).
                places = await due.audit_places(
                    session, {item.audit_id for _, items in owners for item in items}
                )
                for owner_id, items in owners:
                    try:
                        async with session.begin_nested():
                            owner = people.get(owner_id)
                            if await self._remind(
                                session, owner, owner_id, items, now, previous_run, places
                            ):
                                reminded += 1
                    except Exception:
                        log.exception(
                            "reminder for staff=%s failed; trying again next tick", owner_id
                        )
                        self._swept_at = None
        except Exception:
            log.exception("a batch of %s reminders failed; trying again next tick", len(owners))
            self._swept_at = None
            return 0
        return reminded

    def _since(self, now: datetime) -> datetime | None:
        """Where this tick reads due work from: None for all of it (a sweep), else when this
        chaser last looked, so only what fell due since is read (a stored deadline passing,
        a hold ending). A sweep comes first, on each new local day, after a failure, and
        every SWEEP_EVERY, for what falls due by a change rather than the clock: work
        handed back, or submitted after its moderation was due."""
        looked, swept = self._looked_at, self._swept_at
        if looked is None or swept is None or now < looked or now - swept >= SWEEP_EVERY:
            return None
        if self._calendar.local_date(swept) != self._calendar.local_date(now):
            return None
        return looked

    async def settle(self) -> int:
        """The daily sweep: mark done the chasing of items no longer late (kept for the record;
        an item late again starts the ladder afresh). Returns how many were settled."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            return await due.settle_reminders(session, now, self._calendar.local_date(now))

    async def due_work(
        self, session: AsyncSession, now: datetime, *, since: datetime | None = None
    ) -> list[Due]:
        """Every overdue item not held, with its deadline (the due-work query plus the rules
        the query leaves to Python: an action's end of day, the chair's recording time);
        with `since`, only what may have fallen due since then."""
        today = self._calendar.local_date(now)
        found: list[Due] = []
        for row in await due.overdue_items(session, now, today, since=since):
            kind = Chase(row.kind)
            if kind is Chase.ACTION:
                assert row.due_on is not None
                due_at = action_due(self._calendar, row.due_on)
            elif kind in (Chase.UOPP_RECORD, Chase.PANEL):
                assert row.due_at is not None
                due_at = uopp_record_due(self._rules, self._calendar, row.due_at)
            else:
                assert row.due_at is not None
                due_at = row.due_at
            if now > due_at:
                found.append(Due(kind, row.subject_id, row.audit_id, row.owner_id, due_at))
        return found

    async def _remind(
        self,
        session: AsyncSession,
        owner: Staff | None,
        owner_id: int,
        items: Sequence[Due],
        now: datetime,
        previous_run: datetime | None,
        places: Mapping[int, due.AuditPlace],
    ) -> bool:
        """One person's reminder (`owner`: their row, None if gone), claimed and queued in
        the caller's transaction; False when there was nothing left to claim (another
        instance has it, or it was sent today). `places`: the items' audits' case references
        and services."""
        by_key = {item.key: item for item in items}
        today = self._calendar.local_date(now)
        if owner is None or not owner.active:
            # Work owed by someone who has left: the Audit Team is told, once per item.
            rows = await due.claim_reminders(session, by_key.keys(), now)
            if rows:
                held = next_reminder_at(self._rules, self._calendar, today)
                await due.hold_reminders(session, [row.id for row in rows], held)
                await work_of_a_leaver(session, owner_id, rows, now=now, calendar=self._calendar)
            return False
        # The person's day first, then their items. Claimed the other way round, two
        # instances reminding the same person at once could each lock some of the items
        # (SKIP LOCKED) and the one that lost the day would leave its share unreminded; now
        # the second waits on the first's day row, finds it taken and touches no item.
        if not await due.claim_reminder_day(session, owner_id, today, now, len(by_key)):
            return False
        rows = await due.claim_reminders(session, by_key.keys(), now)
        if len(rows) != len(by_key):
            # Some items were held or locked in the meantime (a snooze being saved).
            await due.correct_reminder_day(session, owner_id, today, len(rows))
        if not rows:
            return False
        decided: list[tuple[Reminder, Due, Decision]] = []
        for row in rows:
            item = by_key[(row.kind, row.subject_id)]
            place = places.get(row.audit_id)
            rules, calendar = await self._rules_for(session, place.service_id if place else None)
            decision = decide(rules, calendar, _state(row, item), now, previous_run)
            decided.append((row, item, decision))
        await due.mark_reminded(
            session,
            now,
            [
                due.Reminded(row.id, d.rung, d.first_reminded_on, d.next_at, item.due_at, owner_id)
                for row, item, d in decided
            ],
        )
        chased = [
            Chased(row.id, item.kind, item.subject_id, item.audit_id, item.due_at, decision)
            for row, item, decision in decided
        ]
        await remind_person(session, owner, chased, now=now, calendar=self._calendar, places=places)
        return True

    async def _rules_for(
        self, session: AsyncSession, service_id: int | None
    ) -> tuple[ProgrammeRules, WorkingCalendar]:
        """The ladder's numbers for an audit's service: the programme's, with the service's own
        overrides (services.rules_overrides), e.g. a service that copies managers sooner."""
        if service_id is None:
            return self._rules, self._calendar
        if service_id not in self._services:
            service = await repo.get_service(session, service_id)
            own = self._rules.with_overrides(service.rules_overrides or {}) if service else None
            self._services[service_id] = (
                (own, WorkingCalendar.from_rules(own)) if own else (self._rules, self._calendar)
            )
        return self._services[service_id]


def _state(row: Reminder, item: Due) -> ChaseState:
    """What is remembered, unless the deadline moved (a new date): then the ladder restarts."""
    if row.due_at != item.due_at:
        return ChaseState(due_at=item.due_at)
    return ChaseState(
        due_at=row.due_at,
        rung=row.rung,
        first_reminded_on=row.first_reminded_on,
        next_at=row.next_at,
    )
