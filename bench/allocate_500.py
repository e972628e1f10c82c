"""How long opening a cycle of 500 cases takes: select, allocate, write audits and trail.

Builds a large service (24 teams, 4,800 open cases, 72 trained auditors, 18
moderators) on SQLite and on PostgreSQL, then opens three cycles of 500
cases each and reports the median. Run:

    python bench/allocate_500.py

PostgreSQL comes from AUDITBOT_TEST_POSTGRES_URL, or is started with
.ci/postgres when that is unset. Prints a table, then one line per headline:
`BENCH allocate_500_sqlite <seconds> s` and `BENCH allocate_500_postgres <seconds> s`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

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


async def measure(url: str) -> list[float]:
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        sessions = session_factory(engine)
        await build_service(sessions)
        timings = []
        for run in range(RUNS):
            request = CycleRequest(
                service_code="BIG", month=date(2027, run + 1, 1), seed=run, total=CASES
            )
            started = time.perf_counter()
            async with sessions.begin() as session:
                opened = await open_cycle(
                    session, request, rules=ProgrammeRules(), now=NOW, actor="bench"
                )
            timings.append(time.perf_counter() - started)
            assert len(opened.allocations) == CASES
        return timings
    finally:
        await engine.dispose()


async def fresh_postgres_database(server_url: str) -> str:
    name = f"auditbot_bench_{os.getpid()}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def postgres_server_url() -> str:
    url = os.environ.get("AUDITBOT_TEST_POSTGRES_URL")
    if url:
        return url
    script = Path(__file__).resolve().parents[1] / ".ci" / "postgres"
    return subprocess.run([str(script)], check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = asyncio.run(measure(f"sqlite:///{folder}/bench.sqlite3"))
    pg_url = asyncio.run(fresh_postgres_database(postgres_server_url()))
    results["postgres"] = asyncio.run(measure(pg_url))

    open_cases = TEAMS * PRACTITIONERS_PER_TEAM * CASES_PER_PRACTITIONER
    print(
        f"Opening a cycle of {CASES} cases from {open_cases} open cases, "
        f"{AUDITORS} auditors, {MODERATORS} moderators ({RUNS} runs)"
    )
    print(f"{'database':<10} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, timings in results.items():
        median, low, high = statistics.median(timings), min(timings), max(timings)
        print(f"{name:<10} {median:>9.3f} {low:>7.3f} {high:>7.3f}")
    for name, timings in results.items():
        print(f"BENCH allocate_500_{name} {statistics.median(timings):.3f} s")


if __name__ == "__main__":
    main()
