"""The scheduler: APScheduler 3 in the service, which only triggers.

Jobs are plain `async def job() -> int` functions (the number is how many
things they did, for the log). What is due lives in the database, so a job
asks it, lets `workflow` decide and writes outbox rows; it never sends. A
restart loses nothing, and several instances may run the same jobs against
one database: the jobs claim their work.

Register jobs where the service is built:

    scheduler.every_minute("reminders", chaser.tick)
    scheduler.daily("follow_up", sweep)          # at AUDITBOT_SCHEDULER_DAILY_AT
    scheduler.weekly("digest", send_digests)     # AUDITBOT_SCHEDULER_WEEKLY_DAY/_AT

Tests do not start it: they call the job functions on a FixedClock, or
`run_now`, which runs registered jobs once in order.

A job that fails (the database gone or damaged) is logged with its traceback
once; while it keeps failing, its triggered runs back off (doubling from one
tick, up to 15 minutes) and it logs one line at most every 15 minutes, then
one line when it works again (storage.outage).
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.outage import Outage
from telemetry.logs import log_context
from telemetry.otel import traced_job

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[int]]
Monotonic = Callable[[], float]
LONGEST_BACK_OFF_SECONDS = 900.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Cadence(StrEnum):
    MINUTE = "minute"  # every tick_seconds (a minute by default)
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class ScheduleOptions:
    """When the cadences fire, in the council's time zone."""

    timezone: str = "Europe/London"
    tick_seconds: int = 60
    daily_at: time = time(7, 0)
    weekly_day: str = "mon"
    weekly_at: time = time(8, 0)
    retention_days: int = 0  # 0: closed audits are kept as they are

    def __post_init__(self) -> None:
        if self.weekly_day not in WEEKDAYS:
            raise ValueError(f"weekly_day: one of {', '.join(WEEKDAYS)} (got {self.weekly_day!r})")
        if self.tick_seconds < 1:
            raise ValueError("tick_seconds: at least 1")
        ZoneInfo(self.timezone)


@dataclass
class Registered:
    name: str
    cadence: Cadence
    job: Job
    outage: Outage
    # While it keeps failing, triggered runs before this (monotonic) time are skipped.
    retry_at: float = field(default=float("-inf"))


class Scheduler:
    """A registry of jobs by cadence, and the AsyncIOScheduler that triggers them."""

    def __init__(
        self,
        options: ScheduleOptions | None = None,
        monotonic: Monotonic | None = None,
        before_job: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`before_job` runs before each job (the demo reads its replayed time)."""
        self.options = options or ScheduleOptions()
        self._monotonic = monotonic or monotonic_time.monotonic
        self._before_job = before_job
        self._jobs: dict[str, Registered] = {}
        self._runner: AsyncIOScheduler | None = None

    # The registry

    def every_minute(self, name: str, job: Job) -> None:
        """Run `job` every tick (a minute by default): reminders, booking, anything polled."""
        self._register(name, Cadence.MINUTE, job)

    def daily(self, name: str, job: Job) -> None:
        """Run `job` once a day at the daily time (sweeps: dip audits, re-audits, escalations)."""
        self._register(name, Cadence.DAILY, job)

    def weekly(self, name: str, job: Job) -> None:
        """Run `job` once a week at the weekly day and time (digests, progress reports)."""
        self._register(name, Cadence.WEEKLY, job)

    @property
    def jobs(self) -> list[Registered]:
        return list(self._jobs.values())

    def _register(self, name: str, cadence: Cadence, job: Job) -> None:
        if name in self._jobs:
            raise ValueError(f"scheduled job {name!r} registered twice")
        outage = Outage(
            f"scheduled job {name}",
            first_wait=self.options.tick_seconds,
            longest=LONGEST_BACK_OFF_SECONDS,
            remind_every=LONGEST_BACK_OFF_SECONDS,
        )
        self._jobs[name] = Registered(name, cadence, job, outage)
        if self._runner is not None:
            self._add(self._jobs[name])

    # Running

    async def run_now(
        self, cadence: Cadence | None = None, name: str | None = None
    ) -> dict[str, int]:
        """Run the registered jobs (of one cadence, or one by name) once, now, in registration
        order; what each did, by name. A job that fails is logged and counted as -1."""
        done: dict[str, int] = {}
        for job in self._jobs.values():
            if (cadence is None or job.cadence is cadence) and (name is None or job.name == name):
                done[job.name] = await self.run_job(job, when_due=False)
        return done

    def start(self) -> None:
        """Start triggering (inside a running event loop)."""
        if self._runner is not None:
            return
        self._runner = AsyncIOScheduler(timezone=ZoneInfo(self.options.timezone))
        for job in self._jobs.values():
            self._add(job)
        self._runner.start()
        log.info("scheduler started with %d jobs", len(self._jobs))

    async def stop(self) -> None:
        """Stop triggering; a job under way finishes on its own (its transaction is whole)."""
        if self._runner is None:
            return
        self._runner.shutdown(wait=False)
        self._runner = None
        log.info("scheduler stopped")

    @property
    def running(self) -> bool:
        return self._runner is not None

    def next_run_times(self) -> dict[str, str]:
        """When each job fires next (ISO), for the log and for tests of the wiring."""
        if self._runner is None:
            return {}
        return {
            job.id: job.next_run_time.isoformat() if job.next_run_time else ""
            for job in self._runner.get_jobs()
        }

    def _add(self, job: Registered) -> None:
        assert self._runner is not None
        self._runner.add_job(
            self.run_job,
            trigger=self._trigger(job.cadence),
            args=[job],
            id=job.name,
            name=job.name,
            # A slow job is not run twice at once; ticks missed while it ran are dropped
            # (the next one finds the same work in the database).
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(30, self.options.tick_seconds),
        )

    def _trigger(self, cadence: Cadence) -> BaseTrigger:
        zone = ZoneInfo(self.options.timezone)
        if cadence is Cadence.MINUTE:
            return IntervalTrigger(seconds=self.options.tick_seconds, timezone=zone)
        if cadence is Cadence.DAILY:
            at = self.options.daily_at
            return CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)
        at = self.options.weekly_at
        return CronTrigger(
            day_of_week=self.options.weekly_day, hour=at.hour, minute=at.minute, timezone=zone
        )

    async def run_job(self, job: Registered, when_due: bool = True) -> int:
        """Run one job, logging by name and count only; a failure is logged (see the module's
        notes), never raised into the scheduler: the next run tries again, since the work is
        still in the database. A triggered run (`when_due`) is skipped, as 0, while the job
        backs off after failing."""
        now = self._monotonic()
        if when_due and now < job.retry_at:
            return 0
        try:
            with log_context(job=job.name):
                if self._before_job is not None:
                    await self._before_job()
                done = await traced_job(job.name, job.job)
        except Exception:
            job.retry_at = now + job.outage.failed(now, log)
            return -1
        job.outage.succeeded(self._monotonic(), log)
        job.retry_at = float("-inf")
        if done:
            log.info("scheduled job %s did %d", job.name, done)
        return done
