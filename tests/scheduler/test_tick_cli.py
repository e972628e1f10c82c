"""`auditbot tick`: the scheduled jobs run once by hand, as at a given time."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

from tests.conftest import SQLITE_ONLY, Database
from tests.scheduler.helpers import cast_in, end_of, late_audit, london, messages

ROOT = Path(__file__).resolve().parents[2]


async def run_tick(db: Database, *args: str) -> tuple[int, str]:
    """`auditbot tick ARGS` in demo mode on `db`, as a process: its exit status and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}
    env.update(AUDITBOT_DEMO="true", AUDITBOT_DATABASE_URL=db.url, AUDITBOT_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "tick", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


@SQLITE_ONLY
async def test_tick_runs_the_jobs_as_at_a_time_and_says_what_each_did(db: Database):
    cast = await cast_in(db)
    await late_audit(db, cast, end_of(date(2026, 11, 20)))

    code, out = await run_tick(db, "--at", london(2026, 11, 21, 10).isoformat())  # a Saturday
    done = dict(line.split(": ") for line in out.strip().splitlines())
    assert code == 0
    assert list(done) == [
        "reminders", "uopp_booking", "uopp_responses", "uopp_chairs", "group_meetings",
        "reminders_settle", "follow_ups", "progress_reports", "timetable", "external_checks",
        "digests",
    ]  # fmt: skip
    assert done["reminders"] == "0"  # a Saturday: nobody is chased at weekends

    code, out = await run_tick(
        db, "--job", "reminders", "--at", london(2026, 11, 23, 10).isoformat()
    )
    assert (code, out.strip()) == (0, "reminders: 1")
    assert len(await messages(db, cast.auditor, "reminder")) == 1


@SQLITE_ONLY
async def test_a_time_without_a_zone_is_refused(db: Database):
    code, out = await run_tick(db, "--at", "2026-11-23T10:00")
    assert code == 2 and "needs a time zone" in out


@SQLITE_ONLY
async def test_the_demo_clock_is_set_and_reset_by_hand(db: Database, tmp_path: Path):
    database = db.url.split("///", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}

    async def clock(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "demo", "clock", "--database", database, *args,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode().strip()

    assert await clock("--at", "2026-12-09T10:00+00:00") == (
        0,
        "The demo's clock now reads Wed 09 Dec 2026 10:00 GMT; "
        "`auditbot demo clock --reset` to go back",
    )
    code, out = await clock("--reset")
    assert code == 0 and out.endswith("(the real time)")
    code, out = await clock("--at", "2026-12-09T10:00")
    assert (code, out) == (2, "auditbot: --at needs a time zone, e.g. 2026-11-23T09:00+00:00")
