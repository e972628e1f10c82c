"""The service's scheduled jobs, registered in one place.

`build_scheduler` makes the registry with every job the service runs. To add
a job, register its function here (or on `app[SCHEDULER]` before the app
starts): `async def job() -> int`, built with what it needs bound (sessions,
rules, clock), returning how many things it did.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.engine import ScheduleOptions, Scheduler
from scheduler.reminders import ReminderChaser
from workflow.calendar import Clock
from workflow.rules import ProgrammeRules

SCHEDULER = web.AppKey("scheduler", Scheduler)


def schedule_options(settings: Any) -> ScheduleOptions:
    """The cadences from the service's settings (AUDITBOT_SCHEDULER_*, AUDITBOT_TIMEZONE)."""
    return ScheduleOptions(
        timezone=settings.timezone,
        tick_seconds=settings.scheduler_tick_seconds,
        daily_at=_hhmm(settings.scheduler_daily_at),
        weekly_day=settings.scheduler_weekly_day,
        weekly_at=_hhmm(settings.scheduler_weekly_at),
    )


def build_scheduler(
    options: ScheduleOptions,
    sessions: async_sessionmaker[AsyncSession],
    rules: ProgrammeRules,
    clock: Clock,
) -> Scheduler:
    """The registry with the service's jobs: the reminder tick every minute, and daily the
    settling of reminders whose work is done."""
    scheduler = Scheduler(options)
    chaser = ReminderChaser(sessions, rules, clock)
    scheduler.every_minute("reminders", chaser.tick)
    scheduler.daily("reminders_settle", chaser.settle)
    return scheduler


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
