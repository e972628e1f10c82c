"""The first reminder tick of a working day for 10,000 people, each owing late work.

Each database is built by the real migrations and filled by bulk insert: 10,000 staff,
each the auditor of one audit three working days late (and 2,000 of them the owner of a
late action too). Then one tick at 10:00 on a working Monday, as the scheduler runs it:
every late item claimed, its trail row written, one bundled reminder card per person
queued, people committed a hundred at a time (PEOPLE_PER_COMMIT), each in a savepoint.
Checks that everyone got exactly one card, then prints a table and
`BENCH first_tick_10000_people_<db> <seconds> s` (aim: under 60 s on PostgreSQL).

Run:

    python bench/first_tick.py [--people 10000]

Both databases durable (bench/support.py: PostgreSQL with fsync on, SQLite with
synchronous=FULL); AUDITBOT_BENCH_SQLITE_ONLY=1 skips PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from due_tick import NOW, TEAMS, TODAY, _insert, fill_people  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402
from support import (  # noqa: E402
    StatementCounter,
    durability,
    postgres_server,
    scratch_postgres,
)

from scheduler.reminders import PEOPLE_PER_COMMIT, ReminderChaser  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.enums import (  # noqa: E402
    CaseStatus,
    CycleState,
    RecommendationLevel,
    RecommendationStatus,
)
from storage.models import (  # noqa: E402
    Audit,
    Case,
    Cycle,
    OutboxMessage,
    Recommendation,
    ReminderDay,
)
from workflow.calendar import FixedClock  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402
from workflow.states import AuditState  # noqa: E402


async def fill(engine: Any, people: int) -> None:
    stamp = {"created_at": NOW, "updated_at": NOW}
    late = NOW - timedelta(days=3)
    await fill_people(engine, people, line_managers=False)
    await _insert(
        engine, Case,
        [{"id": c, "case_ref": f"CSC-{c:06d}", "team_id": 1 + c % TEAMS,
          "practitioner_id": 1 + (c + 1) % people, "status": CaseStatus.OPEN, "attributes": {},
          "opened_on": date(2026, 1, 5), **stamp}
         for c in range(1, people + 1)],
    )  # fmt: skip
    await _insert(
        engine, Cycle,
        [{"id": 1, "service_id": 1, "title": "November", "month": date(2026, 11, 1),
          "state": CycleState.OPEN, "audit_tool_id": "col_practice_impact_review",
          "selection_plan": {}, **stamp}],
    )  # fmt: skip
    await _insert(
        engine, Audit,
        [{"id": a, "cycle_id": 1, "case_id": a, "practitioner_id": 1 + (a + 1) % people,
          "auditor_id": a, "team_manager_id": None, "moderator_id": None,
          "state": AuditState.IN_PROGRESS, "version": 1, "draft": {}, "due_at": late, **stamp}
         for a in range(1, people + 1)],
    )  # fmt: skip
    await _insert(
        engine, Recommendation,
        [{"id": r, "audit_id": r, "level": RecommendationLevel.CHILD, "action": "Update the plan",
          "owner_id": r, "due_on": TODAY - timedelta(days=2), "status": RecommendationStatus.OPEN,
          "source": "audit", **stamp}
         for r in range(1, people // 5 + 1)],
    )  # fmt: skip


async def measure(url: str, people: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        await fill(engine, people)
        sessions = session_factory(engine)
        counter = StatementCounter(engine)
        commits = [0]

        def committed(_connection: Any) -> None:
            commits[0] += 1

        event.listen(engine.sync_engine, "commit", committed)
        chaser = ReminderChaser(sessions, ProgrammeRules(), FixedClock(NOW))
        started = time.perf_counter()
        with counter.counting():
            reminded = await chaser.tick()
        seconds = time.perf_counter() - started
        async with sessions() as session:
            cards = await session.scalar(
                select(func.count()).where(OutboxMessage.kind == "reminder")
            )
            days = await session.scalar(select(func.count()).select_from(ReminderDay))
        assert reminded == cards == days == people, (reminded, cards, days)
        return {
            "seconds": seconds,
            "reminded": reminded,
            "statements": counter.count,
            "commits": commits[0],
            "durability": await durability(engine),
        }
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        results["sqlite"] = await measure(url, args.people)
    server = postgres_server()
    if server:
        async with scratch_postgres(server) as url:
            results["postgres"] = await measure(url, args.people)

    print(
        f"\nFirst reminder tick of a working day: {args.people:,} people, each owing a late "
        f"audit (a fifth a late action too); {PEOPLE_PER_COMMIT} people a commit"
    )
    header = (
        f"{'database':<10} {'people':>7} {'seconds':>8} {'ms/person':>10} {'statements':>11} "
        f"{'per person':>11} {'commits':>8}  durability"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<10} {r['reminded']:>7,} {r['seconds']:>8.1f} "
            f"{r['seconds'] * 1000 / r['reminded']:>10.2f} {r['statements']:>11,} "
            f"{r['statements'] / r['reminded']:>11.1f} {r['commits']:>8,}  {r['durability']}"
        )
    for name, r in results.items():
        print(f"BENCH first_tick_{args.people}_people_{name} {r['seconds']:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
