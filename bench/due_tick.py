"""The reminder tick over a large programme: 100,000 audits and 300,000 actions.

Each database (SQLite, and PostgreSQL when available) is built by the real
migrations and filled with bulk inserts: years of history, mostly closed
audits and finished actions, with the live work a big council would carry
(some of it late). Then, on a fixed clock at 10:00 on a working Monday:

- the sweep's due-work queries alone (repositories.reminders.overdue_queries, one per
  kind): every late item, read again at each sweep;
- the first tick of the day (every late item claimed, its trail row and
  one bundled card per person queued): a once-a-day cost;
- then one chaser ticking every minute for 45 minutes, as the service runs it: between
  sweeps a tick reads only what fell due since it last looked (the due queue), which
  here is nothing: the headline figure, with its statement count; every 15 minutes a
  sweep reads every late item again (reported apart).

It prints a table, each database's query plans (EXPLAIN QUERY PLAN /
EXPLAIN ANALYZE), and ends with `BENCH due_tick_<db> <ms> ms` (median tick between
sweeps), `BENCH due_tick_sweep_<db> <ms> ms` and `BENCH due_tick_statements <n>`.

Run:

    python bench/due_tick.py [--audits 100000] [--actions 300000]

Both databases durable (bench/support.py: PostgreSQL with fsync on, in a scratch
database; SQLite with synchronous=FULL); AUDITBOT_BENCH_SQLITE_ONLY=1 skips PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from support import StatementCounter, durability, postgres_server, scratch_postgres  # noqa: E402

from scheduler.reminders import SWEEP_EVERY, ReminderChaser  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.enums import (  # noqa: E402
    CaseStatus,
    CycleState,
    MeetingKind,
    MeetingState,
    RecommendationLevel,
    RecommendationStatus,
    ServiceKind,
)
from storage.models import (  # noqa: E402
    Audit,
    Case,
    Cycle,
    Meeting,
    Recommendation,
    RoleAssignment,
    Service,
    Staff,
    Team,
)
from storage.repositories.reminders import overdue_items, overdue_queries  # noqa: E402
from workflow.calendar import FixedClock  # noqa: E402
from workflow.grades import Grade  # noqa: E402
from workflow.roles import Role  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402
from workflow.states import AuditState  # noqa: E402

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON).astimezone(UTC)  # a working Monday
TODAY = date(2026, 11, 23)
STAFF, TEAMS, CASES, CYCLES = 2_000, 40, 20_000, 48
CHUNK = 5_000
RUNS = 25
MINUTES = 45  # steady ticks measured, a sweep among every SWEEP_EVERY of them


def _states(n: int, rng: random.Random) -> list[tuple[AuditState, dict[str, Any]]]:
    """n audits as a programme carries them: history closed, a live tail, some of it late."""
    out = []
    for _ in range(n):
        roll = rng.random()
        late = rng.random() < 0.5
        due = NOW + timedelta(days=rng.randint(-12, -1) if late else rng.randint(1, 20))
        if roll < 0.90:
            out.append((AuditState.CLOSED, {"due_at": NOW - timedelta(days=rng.randint(30, 900))}))
        elif roll < 0.94:
            out.append((rng.choice([AuditState.UOPP_HELD, AuditState.FOLLOW_UP]), {}))
        elif roll < 0.965:
            state = rng.choice([AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED])
            out.append((state, {"due_at": due}))
        elif roll < 0.98:
            out.append((AuditState.SUBMITTED, {"due_at": due, "moderation_due_at": due}))
        elif roll < 0.99:
            fields = {"moderation_due_at": due, "uopp_due_at": due}
            if rng.random() < 0.3:
                fields |= {"final_grade": Grade.INADEQUATE, "urgent_issues_due_at": due}
            out.append((AuditState.MODERATED, fields))
        else:
            out.append((rng.choice([AuditState.INVALIDATED, AuditState.REALLOCATED]), {}))
    return out


async def _insert(engine: AsyncEngine, model: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(model), rows[start : start + CHUNK])


async def fill_people(engine: AsyncEngine, staff: int, *, line_managers: bool) -> None:
    """Service 1 (CSC), TEAMS teams and `staff` people, ids from 1; with line_managers, the
    first TEAMS people manage everyone else."""
    stamp = {"created_at": NOW, "updated_at": NOW}
    kind = ServiceKind.CHILDRENS_SOCIAL_CARE
    await _insert(
        engine, Service,
        [{"id": 1, "code": "CSC", "name": "CSC", "kind": kind, "rules_overrides": {}, **stamp}],
    )  # fmt: skip
    await _insert(
        engine, Team,
        [{"id": t, "service_id": 1, "code": f"T{t}", "name": f"Team {t}", **stamp}
         for t in range(1, TEAMS + 1)],
    )  # fmt: skip

    def manager(s: int) -> int | None:
        return 1 + s % TEAMS if line_managers and s > TEAMS else None

    await _insert(
        engine, Staff,
        [{"id": s, "aad_object_id": f"00000000-0000-0000-0000-{s:012d}", "upn": f"p{s}@x.example",
          "display_name": f"Person {s}", "email": f"p{s}@x.example", "auditor_trained": True,
          "line_manager_id": manager(s), "active": True, **stamp}
         for s in range(1, staff + 1)],
    )  # fmt: skip


async def fill(engine: AsyncEngine, audits: int, actions: int) -> dict[str, int]:
    """The programme, by bulk insert; how many rows of each."""
    rng = random.Random(20261123)
    stamp = {"created_at": NOW, "updated_at": NOW}
    await fill_people(engine, STAFF, line_managers=True)
    await _insert(
        engine, RoleAssignment,
        [{"staff_id": 1, "role": Role.HEAD_OF_SERVICE, "service_id": 1, "team_id": None, **stamp}],
    )  # fmt: skip
    await _insert(
        engine, Case,
        [{"id": c, "case_ref": f"CSC-{c:06d}", "team_id": 1 + c % TEAMS,
          "practitioner_id": 1 + c % STAFF, "status": CaseStatus.OPEN, "attributes": {},
          "opened_on": date(2024, 1, 1), **stamp}
         for c in range(1, CASES + 1)],
    )  # fmt: skip
    await _insert(
        engine, Cycle,
        [{"id": c, "service_id": 1, "title": f"Cycle {c}", "month": date(2023, 1, 1),
          "state": CycleState.CLOSED, "audit_tool_id": "col_practice_impact_review",
          "selection_plan": {}, **stamp}
         for c in range(1, CYCLES + 1)],
    )  # fmt: skip
    audit_rows, meetings = [], []
    for a, (state, fields) in enumerate(_states(audits, rng), start=1):
        audit_rows.append(
            {"id": a, "cycle_id": 1 + a % CYCLES, "case_id": 1 + a % CASES,
             "practitioner_id": 1 + a % STAFF, "team_manager_id": 1 + a % TEAMS,
             "auditor_id": 1 + (a * 7) % STAFF, "moderator_id": 1 + (a * 13) % STAFF,
             "state": state, "version": 1, "draft": {}, "due_at": None, "moderation_due_at": None,
             "urgent_issues_due_at": None, "uopp_due_at": None, "final_grade": None,
             **fields, **stamp}
        )  # fmt: skip
        if state is AuditState.MODERATED and rng.random() < 0.6:
            meetings.append(_meeting(a, MeetingState.PROPOSED, None, stamp))
        elif state is AuditState.UOPP_HELD and rng.random() < 0.2:
            ends = NOW - timedelta(days=rng.randint(1, 10))
            meetings.append(_meeting(a, MeetingState.BOOKED, ends, stamp))
    await _insert(engine, Audit, audit_rows)
    await _insert(engine, Meeting, meetings)
    action_rows = []
    for r in range(1, actions + 1):
        finished = rng.random() < 0.85
        action_rows.append(
            {"id": r, "audit_id": 1 + r % audits, "level": RecommendationLevel.CHILD,
             "action": "Update the plan", "owner_id": 1 + (r * 11) % STAFF,
             "due_on": TODAY + timedelta(days=rng.randint(-60 if finished else -10, 60)),
             "status": RecommendationStatus.DONE if finished else rng.choice(
                 [RecommendationStatus.OPEN, RecommendationStatus.PARTLY,
                  RecommendationStatus.NOT_YET]),
             "source": "audit", **stamp}
        )  # fmt: skip
    await _insert(engine, Recommendation, action_rows)
    await vacuum(engine)
    return {"audits": audits, "actions": actions, "meetings": len(meetings)}


async def vacuum(engine: AsyncEngine) -> None:
    """Statistics and, on PostgreSQL, the visibility map, as autovacuum keeps them."""
    if engine.dialect.name == "sqlite":
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
        return
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))


def _meeting(audit_id: int, state: MeetingState, ends: datetime | None, stamp: dict) -> dict:
    return {
        "audit_id": audit_id, "kind": MeetingKind.UOPP, "organiser_id": 1 + audit_id % STAFF,
        "state": state, "starts_at": ends - timedelta(hours=1) if ends else None, "ends_at": ends,
        "length_minutes": 60, "booking_attempts": 0, **stamp,
    }  # fmt: skip


async def _timed(make: Any, runs: int = RUNS) -> tuple[float, float, Any]:
    """Median and worst wall time in ms of `runs` awaits of make(), and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await make()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


async def measure(url: str, audits: int, actions: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        started = time.perf_counter()
        sizes = await fill(engine, audits, actions)
        filled = time.perf_counter() - started
        sessions = session_factory(engine)

        async def query() -> int:
            async with sessions() as session:
                return len(await overdue_items(session, NOW, TODAY))

        query_ms, query_worst, due_rows = await _timed(query)
        clock = FixedClock(NOW)
        chaser = ReminderChaser(sessions, ProgrammeRules(), clock)
        first_ms, _, reminded = await _timed(chaser.tick, runs=1)
        await vacuum(engine)  # as autovacuum would, after a day's reminders
        counter = StatementCounter(engine)
        steady, sweeps, statements, sent = [], [], [], 0
        for minute in range(1, MINUTES + 1):  # one chaser, a tick a minute, as the service
            clock.set(NOW + timedelta(minutes=minute))
            with counter.counting():
                took, _, sent_now = await _timed(chaser.tick, runs=1)
            sent += sent_now
            if minute % (SWEEP_EVERY // timedelta(minutes=1)):
                steady.append(took)
                statements.append(counter.count)
            else:
                sweeps.append(took)
        return {
            **sizes, "fill_s": filled, "due_rows": due_rows, "query_ms": query_ms,
            "query_worst": query_worst, "first_ms": first_ms, "reminded": reminded,
            "steady_ms": statistics.median(steady), "steady_worst": max(steady),
            "steady_sent": sent, "statements": statistics.median(statements),
            "sweep_ms": statistics.median(sweeps), "plan": await explain(engine),
            "durability": await durability(engine),
        }  # fmt: skip
    finally:
        await engine.dispose()


async def explain(engine: AsyncEngine) -> str:
    """The database's own plan for each due-work query, as the driver ran it."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    prefix = (
        "EXPLAIN QUERY PLAN "
        if engine.dialect.name == "sqlite"
        else "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
    )
    lines: list[str] = []
    looked = NOW - timedelta(minutes=1)
    [steady] = overdue_queries(NOW, TODAY, since=looked, reopened={})
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with engine.connect() as connection:
            queries = [(q, None) for q in overdue_queries(NOW, TODAY)]
            queries.append((steady, "between sweeps: what fell due in the last minute (UNION)"))
            for query, title in queries:
                await connection.execute(query)
                statement, parameters = captured[-1]
                rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
                kind = statement.split("'", 2)[1]
                lines.append(f"  -- {title or 'sweep: ' + kind}")
                lines.extend(
                    f"  {row[-1] if engine.dialect.name == 'sqlite' else row[0]}" for row in rows
                )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audits", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=300_000)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        results["sqlite"] = await measure(url, args.audits, args.actions)
    server = postgres_server()
    if server:
        async with scratch_postgres(server) as url:
            results["postgres"] = await measure(url, args.audits, args.actions)
    report(results)


def report(results: dict[str, dict[str, Any]]) -> None:
    print()
    print(
        f"Due-work tick, {NOW.astimezone(LONDON):%a %d %b %Y %H:%M} London, then a tick a "
        f"minute for {MINUTES} minutes"
    )
    header = (
        f"{'database':<10} {'audits':>8} {'actions':>8} {'late':>6} {'sweep query':>12} "
        f"{'first tick ms':>14} {'people':>7} {'tick ms':>8} {'worst':>7} {'stmts':>6} "
        f"{'sweep ms':>9}  durability"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<10} {r['audits']:>8,} {r['actions']:>8,} {r['due_rows']:>6,} "
            f"{r['query_ms']:>12.1f} {r['first_ms']:>14.0f} {r['reminded']:>7,} "
            f"{r['steady_ms']:>8.1f} {r['steady_worst']:>7.1f} {r['statements']:>6.0f} "
            f"{r['sweep_ms']:>9.1f}  {r['durability']}"
        )
    print(
        "late: items the sweep query finds before the first tick; first tick: claim, trail and "
        "one card per person (once a day); tick: the median minute after, between sweeps (what "
        f"fell due since the last look: nothing), with its statements; sweep: every "
        f"{SWEEP_EVERY // timedelta(minutes=1)} minutes, every late item read again."
    )
    for name, r in results.items():
        print(f"\n{name} plans of the due-work queries (filled in {r['fill_s']:.0f} s):")
        print(r["plan"])
    print()
    for name, r in results.items():
        print(f"BENCH due_tick_{name} {r['steady_ms']:.1f} ms")
        print(f"BENCH due_tick_sweep_{name} {r['sweep_ms']:.1f} ms")
    print(f"BENCH due_tick_statements {max(r['statements'] for r in results.values()):.0f}")


if __name__ == "__main__":
    asyncio.run(main())
