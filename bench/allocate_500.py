"""How long opening a cycle of 500 cases takes: select, allocate, write audits and trail.

Builds a large service (24 teams, 4,800 open cases, 72 trained auditors, 18
moderators) on SQLite and on PostgreSQL, then opens three cycles of 500
cases each and reports the median. Run:

    python bench/allocate_500.py

Both databases durable (bench/support.py: PostgreSQL with fsync on, SQLite with
synchronous=FULL). Prints a table, then `BENCH allocate_500_sqlite <seconds> s`,
`BENCH allocate_500_postgres <seconds> s` and `BENCH allocate_500_statements <n>`
(SQL statements one opening sends, the larger of the two databases).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from support import StatementCounter, durability, postgres_server, scratch_postgres  # noqa: E402

from dialogs.cycles import CycleRequest, open_cycle  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.enums import ServiceKind  # noqa: E402
from workflow.roles import Role  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402

TEAMS, PRACTITIONERS_PER_TEAM, CASES_PER_PRACTITIONER = 24, 8, 25
AUDITORS, MODERATORS, CASES, RUNS = 72, 18, 500, 3
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def build_service(sessions) -> None:
    async with sessions.begin() as session:
        service = await repo.add_service(
            session, "BIG", "Big Service", ServiceKind.CHILDRENS_SOCIAL_CARE
        )
        teams = [
            await repo.add_team(session, service.id, f"BIG-{n:02d}", f"Team {n}")
            for n in range(TEAMS)
        ]
        people = 0

        async def person(role, team=None, trained=False):
            nonlocal people
            people += 1
            staff = await repo.add_staff(
                session,
                str(uuid.uuid4()),
                f"p{people}@big.example",
                f"Person {people}",
                f"p{people}@big.example",
                auditor_trained=trained,
            )
            await repo.assign_role(session, staff.id, role, service.id, team.id if team else None)
            return staff

        for n in range(AUDITORS):
            auditor = await person(Role.AUDITOR, trained=True)
            await repo.assign_role(
                session, auditor.id, Role.TEAM_MANAGER, service.id, teams[n % TEAMS].id
            )
        for _ in range(MODERATORS):
            await person(Role.MODERATOR, trained=True)
        ref = 0
        for team in teams:
            for _ in range(PRACTITIONERS_PER_TEAM):
                practitioner = await person(Role.PRACTITIONER, team)
                for _ in range(CASES_PER_PRACTITIONER):
                    ref += 1
                    await repo.add_case(
                        session, f"BIG-{ref:06d}", team.id, practitioner.id, date(2026, 1, 5)
                    )


async def measure(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        sessions = session_factory(engine)
        await build_service(sessions)
        counter = StatementCounter(engine)
        timings, statements = [], []
        for run in range(RUNS):
            request = CycleRequest(
                service_code="BIG", month=date(2027, run + 1, 1), seed=run, total=CASES
            )
            started = time.perf_counter()
            with counter.counting():
                async with sessions.begin() as session:
                    opened = await open_cycle(
                        session, request, rules=ProgrammeRules(), now=NOW, actor="bench"
                    )
            timings.append(time.perf_counter() - started)
            statements.append(counter.count)
            assert len(opened.allocations) == CASES
        return {
            "timings": timings,
            "statements": statistics.median(statements),
            "durability": await durability(engine),
        }
    finally:
        await engine.dispose()


async def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await measure(f"sqlite:///{folder}/bench.sqlite3")
    server = postgres_server()
    if server:
        async with scratch_postgres(server) as url:
            results["postgres"] = await measure(url)

    open_cases = TEAMS * PRACTITIONERS_PER_TEAM * CASES_PER_PRACTITIONER
    print(
        f"Opening a cycle of {CASES} cases from {open_cases} open cases, "
        f"{AUDITORS} auditors, {MODERATORS} moderators ({RUNS} runs): select, allocate, "
        "write audits, trail and notices, commit"
    )
    header = (
        f"{'database':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'statements':>11}  durability"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        timings = r["timings"]
        print(
            f"{name:<10} {statistics.median(timings):>9.3f} {min(timings):>7.3f} "
            f"{max(timings):>7.3f} {r['statements']:>11.0f}  {r['durability']}"
        )
    for name, r in results.items():
        print(f"BENCH allocate_500_{name} {statistics.median(r['timings']):.3f} s")
    print(f"BENCH allocate_500_statements {max(r['statements'] for r in results.values()):.0f}")


if __name__ == "__main__":
    asyncio.run(main())
