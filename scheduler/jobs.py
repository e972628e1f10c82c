"""The service's scheduled jobs, registered in one place.

`build_scheduler` makes the registry with every job the service runs. To add
a job, register its function here (or on `app[SCHEDULER]` before the app
starts): `async def job() -> int`, built with what it needs bound (sessions,
rules, clock), returning how many things it did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time
from functools import partial
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.calendar_port import Calendar
from dialogs.external_check import start_external_checks
from dialogs.group_meeting import book_group_meetings
from dialogs.progress_reports import prompt_progress_reports
from dialogs.timetable import ask_for_due_cycles
from dialogs.uopp_booking import book_due_meetings
from dialogs.uopp_record import ask_chairs
from dialogs.uopp_responses import check_responses
from scheduler.digest import send_weekly_digests
from scheduler.engine import ScheduleOptions, Scheduler
from scheduler.follow_up import run_follow_ups
from scheduler.reminders import ReminderChaser
from storage.retention import run_retention
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
        retention_days=settings.retention_days,
    )


def build_scheduler(
    options: ScheduleOptions,
    sessions: async_sessionmaker[AsyncSession],
    rules: ProgrammeRules,
    clock: Clock,
    calendar: Calendar,
    before_job: Callable[[], Awaitable[None]] | None = None,
    tracker_url: str | None = None,
) -> Scheduler:
    """The registry with the service's jobs.

    Every minute: chase late work, book proposed UoPP meetings in `calendar`
    (Microsoft Graph, or auditbot's own), rebook after declines, and ask chairs
    whether meetings that ended took place; book moderation groups' meetings.
    Daily: settle reminders whose work is done, the follow-ups (dip audits,
    re-audits, escalations), the Inadequate progress prompts, the timetable
    asking for cycles that fall due, and the external checks of moderation groups'
    audits. Weekly: the Heads of Service digests.
    """
    scheduler = Scheduler(options, before_job=before_job)
    chaser = ReminderChaser(sessions, rules, clock)
    scheduler.every_minute("reminders", chaser.tick)
    scheduler.every_minute(
        "uopp_booking", partial(book_due_meetings, sessions, calendar, clock, rules)
    )
    scheduler.every_minute(
        "uopp_responses", partial(check_responses, sessions, calendar, clock, rules)
    )
    scheduler.every_minute("uopp_chairs", partial(ask_chairs, sessions, clock, rules))
    scheduler.every_minute(
        "group_meetings", partial(book_group_meetings, sessions, calendar, clock, rules)
    )
    scheduler.daily("reminders_settle", chaser.settle)
    scheduler.daily("follow_ups", partial(run_follow_ups, sessions, clock, rules))
    scheduler.daily("progress_reports", partial(prompt_progress_reports, sessions, clock, rules))
    scheduler.daily("timetable", partial(ask_for_due_cycles, sessions, clock, rules))
    scheduler.daily("external_checks", partial(start_external_checks, sessions, clock, rules))
    scheduler.weekly(
        "digests",
        partial(send_weekly_digests, sessions, clock, rules, tracker_url=tracker_url),
    )
    if options.retention_days:
        scheduler.daily(
            "retention", partial(run_retention, sessions, clock, options.retention_days)
        )
    return scheduler


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
