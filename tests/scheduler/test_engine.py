"""The scheduler's registry, its APScheduler triggers, and its place in the service."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from bot.config import ConfigError, load_settings
from bot.service import build_service
from scheduler.engine import Cadence, ScheduleOptions, Scheduler
from scheduler.jobs import SCHEDULER
from tests.conftest import SQLITE_ONLY, Database

LONDON = ZoneInfo("Europe/London")


def _counting(calls: list[str], name: str, result: int = 1):
    async def job() -> int:
        calls.append(name)
        return result

    return job


async def test_jobs_run_by_cadence_or_by_name_in_registration_order():
    calls: list[str] = []
    scheduler = Scheduler()
    scheduler.every_minute("reminders", _counting(calls, "reminders", 3))
    scheduler.every_minute("uopp_booking", _counting(calls, "uopp_booking", 0))
    scheduler.daily("follow_up", _counting(calls, "follow_up"))
    scheduler.weekly("digest", _counting(calls, "digest"))

    assert await scheduler.run_now(Cadence.MINUTE) == {"reminders": 3, "uopp_booking": 0}
    assert await scheduler.run_now(name="digest") == {"digest": 1}
    assert calls == ["reminders", "uopp_booking", "digest"]
    assert [(job.name, job.cadence) for job in scheduler.jobs] == [
        ("reminders", Cadence.MINUTE),
        ("uopp_booking", Cadence.MINUTE),
        ("follow_up", Cadence.DAILY),
        ("digest", Cadence.WEEKLY),
    ]


async def test_a_job_registered_twice_is_refused():
    scheduler = Scheduler()
    scheduler.daily("sweep", _counting([], "sweep"))
    with pytest.raises(ValueError, match="registered twice"):
        scheduler.weekly("sweep", _counting([], "sweep"))


async def test_a_failing_job_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture):
    calls: list[str] = []

    async def broken() -> int:
        raise RuntimeError("database went away")

    scheduler = Scheduler()
    scheduler.every_minute("broken", broken)
    scheduler.every_minute("reminders", _counting(calls, "reminders"))
    with caplog.at_level(logging.ERROR, logger="scheduler.engine"):
        assert await scheduler.run_now() == {"broken": -1, "reminders": 1}
    assert calls == ["reminders"]
    assert any(record.levelno == logging.ERROR for record in caplog.records)


async def test_the_triggers_fire_at_the_configured_london_times():
    options = ScheduleOptions(daily_at=time(6, 30), weekly_day="mon", weekly_at=time(8, 0))
    scheduler = Scheduler(options)
    scheduler.every_minute("reminders", _counting([], "reminders"))
    scheduler.daily("follow_up", _counting([], "follow_up"))
    scheduler.start()
    try:
        scheduler.weekly("digest", _counting([], "digest"))  # added while running
        nexts = {
            name: datetime.fromisoformat(at) for name, at in scheduler.next_run_times().items()
        }
    finally:
        await scheduler.stop()
    digest = nexts["digest"].astimezone(LONDON)
    assert (digest.weekday(), digest.hour, digest.minute) == (0, 8, 0)
    sweep = nexts["follow_up"].astimezone(LONDON)
    assert (sweep.hour, sweep.minute) == (6, 30)
    assert nexts["reminders"] - datetime.now(LONDON) <= timedelta(seconds=options.tick_seconds)
    assert not scheduler.running


def test_bad_schedule_settings_stop_the_service_with_the_variable_named():
    with pytest.raises(ConfigError, match="AUDITBOT_SCHEDULER_DAILY_AT"):
        load_settings(demo=True, scheduler_daily_at="25:00")
    with pytest.raises(ConfigError, match="AUDITBOT_SCHEDULER_WEEKLY_DAY"):
        load_settings(demo=True, scheduler_weekly_day="monday")
    with pytest.raises(ConfigError, match="AUDITBOT_SCHEDULER_TICK_SECONDS"):
        load_settings(demo=True, scheduler_tick_seconds=0)


@SQLITE_ONLY
async def test_the_service_starts_and_stops_the_scheduler_with_every_job(db: Database):
    settings = load_settings(
        demo=True, database_url=db.url, outbox_sender=False, scheduler_enabled=True
    )
    app = build_service(settings)
    scheduler = app[SCHEDULER]
    assert [(job.name, job.cadence) for job in scheduler.jobs] == [
        ("reminders", Cadence.MINUTE),
        ("uopp_booking", Cadence.MINUTE),
        ("uopp_responses", Cadence.MINUTE),
        ("uopp_chairs", Cadence.MINUTE),
        ("group_meetings", Cadence.MINUTE),
        ("reminders_settle", Cadence.DAILY),
        ("follow_ups", Cadence.DAILY),
        ("progress_reports", Cadence.DAILY),
        ("timetable", Cadence.DAILY),
        ("external_checks", Cadence.DAILY),
        ("digests", Cadence.WEEKLY),
    ]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        assert scheduler.running
        assert "reminders" in scheduler.next_run_times()
    finally:
        await server.close()
    assert not scheduler.running


@SQLITE_ONLY
async def test_the_scheduler_can_be_switched_off(db: Database):
    settings = load_settings(demo=True, database_url=db.url, scheduler_enabled=False)
    assert SCHEDULER not in build_service(settings)


async def test_a_job_that_keeps_failing_backs_off_and_logs_at_a_bounded_rate(
    caplog: pytest.LogCaptureFixture,
):
    """A damaged database fails every minute job every minute; an hour of that is one
    traceback, a few reminders, and tries spread out to 15 minutes apart."""
    calls: list[str] = []

    async def broken() -> int:
        calls.append("tried")
        raise RuntimeError("database disk image is malformed")

    now = [0.0]
    scheduler = Scheduler(ScheduleOptions(tick_seconds=60), monotonic=lambda: now[0])
    scheduler.every_minute("reminders", broken)
    [job] = scheduler.jobs
    caplog.set_level(logging.INFO, logger="scheduler.engine")

    outcomes = []
    for minute in range(60):
        now[0] = minute * 60.0
        outcomes.append(await scheduler.run_job(job))

    assert outcomes.count(-1) == len(calls) == 7  # minutes 0, 1, 3, 7, 15, 30 and 45
    records = [r for r in caplog.records if r.name == "scheduler.engine"]
    assert len([r for r in records if r.exc_info]) == 1
    assert len(records) <= 1 + 60 // 15

    async def mended() -> int:
        return 2

    job.job = mended
    now[0] = 3600.0
    assert await scheduler.run_now(name="reminders") == {"reminders": 2}  # by hand: at once
    assert job.outage.failures == 0
