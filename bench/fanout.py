"""How close the outbox sender gets to Teams' limits, and whether anything is lost or doubled.

The connector stand-in runs in its own process (as Teams is elsewhere) and
enforces Teams' documented limits itself, answering 429 with Retry-After
when a request would exceed them. The sender runs as the service runs it
(background task, default AUDITBOT_OUTBOX_* settings, a managed identity's
token from the identity stand-in on every request)
on SQLite and, when available, PostgreSQL. Scenarios:

- fan-out: 1,000 notices to 1,000 people who have all talked to the bot
  (one request each; the app-wide 50 requests a second binds);
- first contact: 300 notices to 300 people who never have (create the chat,
  then send: two requests each);
- many-to-few: 200 notices to 5 people (the per-conversation limits bind;
  the ideal time is the greedy schedule under them).

Run:

    python bench/fanout.py

PostgreSQL comes from AUDITBOT_TEST_POSTGRES_URL, or is started with
.ci/postgres when that is unset (set AUDITBOT_BENCH_SQLITE_ONLY=1 to skip
it). Prints a table, then `BENCH fanout_fraction_of_limit <ratio> x` (the
1,000-person fan-out, worst database), `BENCH fanout_lost <n> msgs` and
`BENCH fanout_duplicates <n> msgs` (over every run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.adapter import build_adapter  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.connector import BotConnector  # noqa: E402
from bot.outbox import (  # noqa: E402
    TEAMS_LIMITS_PER_APP,
    TEAMS_LIMITS_PER_CONVERSATION,
    OutboxSender,
    SenderOptions,
)
from bot.ratelimit import SlidingWindows, Ticket  # noqa: E402
from dialogs.notify import tell  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.enums import OutboxState  # noqa: E402
from storage.repositories.outbox import count_messages_by_state  # noqa: E402
from tests.standins.connector import ConnectorStandIn  # noqa: E402
from tests.standins.identity import IdentityStandIn  # noqa: E402

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"


@dataclass(frozen=True)
class Scenario:
    name: str
    notices: int
    people: int
    have_chats: bool
    headline: bool = False


SCENARIOS = (
    Scenario("fan-out", 1000, 1000, True, headline=True),
    Scenario("first contact", 300, 300, False),
    Scenario("many-to-few", 200, 5, True),
)


@dataclass
class Result:
    scenario: Scenario
    database: str
    seconds: float
    first_after: float
    requests: int
    ideal_seconds: float
    throttled: int
    lost: int
    duplicates: int

    @property
    def fraction(self) -> float:
        return self.ideal_seconds / self.seconds


# The stand-in's process: one stand-in per scenario, driven over a pipe.


def stand_in_process(pipe: Any) -> None:
    asyncio.run(_serve_stand_ins(pipe))


async def _serve_stand_ins(pipe: Any) -> None:
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "stop":
            return
        async with ConnectorStandIn.with_teams_limits() as connector:
            pipe.send(connector.url)
            await loop.run_in_executor(None, pipe.recv)  # "report"
            pipe.send(
                {
                    "sent": [
                        (s.conversation_id, s.activity.get("text"), s.at) for s in connector.sent
                    ],
                    "created": len(connector.created),
                    "throttled": connector.throttled,
                }
            )


# The sender's side.


async def seed(sessions: Any, scenario: Scenario, service_url: str) -> dict[str, str]:
    """People and their notices; returns each notice's text and the person's object id."""
    expected = {}
    async with sessions.begin() as session:
        people = []
        for n in range(scenario.people):
            aad = str(uuid.uuid4())
            person = await repo.add_staff(session, aad, f"p{n}@bench.example", f"P {n}", "x")
            people.append(person)
            if scenario.have_chats:
                reference = {
                    "channelId": "msteams",
                    "serviceUrl": service_url,
                    "conversation": {"id": f"a:personal-{aad}", "tenantId": TENANT},
                    "user": {"id": f"29:{aad}", "aadObjectId": aad},
                }
                await repo.save_conversation_ref(
                    session, aad, TENANT, f"a:personal-{aad}", service_url, reference
                )
        for n in range(scenario.notices):
            person = people[n % scenario.people]
            await tell(session, person.id, "bench", f"bench:{n}", summary="notice", text=f"n{n}")
            expected[f"n{n}"] = person.aad_object_id
    return expected


async def run(url: str, database: str, scenario: Scenario, pipe: Any) -> Result:
    pipe.send("start")
    service_url = pipe.recv()
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        sessions = session_factory(engine)
        expected = await seed(sessions, scenario, service_url)
        settings = load_settings(
            app_id=APP_ID,
            app_type="UserAssignedMSI",
            database_url=url,
            tenant_id=TENANT,
            teams_service_url=service_url,
        )
        connector = BotConnector(
            build_adapter(settings),
            settings.app_id,
            workers=settings.outbox_concurrency,
            timeout=settings.outbox_request_timeout_seconds,
        )
        sender = OutboxSender(sessions, connector, SenderOptions.from_settings(settings))
        started = time.monotonic()
        await sender.start()
        while not await _finished(sessions):
            await asyncio.sleep(0.05)
        await sender.stop()
        connector.close()
    finally:
        await engine.dispose()
    pipe.send("report")
    report = pipe.recv()
    counts = Counter(text for _, text, _ in report["sent"])
    misdirected = sum(
        1 for conversation, text, _ in report["sent"] if expected[text] not in conversation
    )
    last = max(at for _, _, at in report["sent"])
    first = min(at for _, _, at in report["sent"])
    requests = len(report["sent"]) + report["created"]
    return Result(
        scenario,
        database,
        seconds=last - started,
        first_after=first - started,
        requests=requests,
        ideal_seconds=ideal_seconds(scenario),
        throttled=report["throttled"],
        lost=sum(1 for text in expected if counts[text] == 0) + misdirected,
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
    )


async def _finished(sessions: Any) -> bool:
    async with sessions() as session:
        states = await count_messages_by_state(session)
    return not states.get(OutboxState.PENDING) and not states.get(OutboxState.CLAIMED)


def ideal_seconds(scenario: Scenario) -> float:
    """The least time from the first request to the last that Teams' limits allow.

    Each limit on its own gives a lower bound, found by sending every request at
    its earliest: all requests under the app-wide windows, and the busiest
    person's messages under the per-conversation windows.
    """
    requests = scenario.notices * (1 if scenario.have_chats else 2)
    busiest = -(-scenario.notices // scenario.people)
    return max(
        _greedy_last(SlidingWindows(TEAMS_LIMITS_PER_APP), requests),
        _greedy_last(SlidingWindows(TEAMS_LIMITS_PER_CONVERSATION), busiest),
    )


def _greedy_last(windows: SlidingWindows, count: int) -> float:
    at = 0.0
    for _ in range(count):
        at = windows.earliest(at)
        windows.record(Ticket(at, at))
    return at


def fresh_postgres_database(server_url: str, name: str) -> str:
    asyncio.run(
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    )
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(server_url: str, name: str) -> None:
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(server_url: str, *statements: str) -> None:
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await admin.dispose()


def postgres_server_url() -> str | None:
    if os.environ.get("AUDITBOT_BENCH_SQLITE_ONLY"):
        return None
    url = os.environ.get("AUDITBOT_TEST_POSTGRES_URL")
    if url:
        return url
    script = Path(__file__).resolve().parents[1] / ".ci" / "postgres"
    return subprocess.run([str(script)], check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    with IdentityStandIn() as identity:
        os.environ.update(identity.managed_identity_environment())
        fan_out()


def fan_out() -> None:
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    stand_in = context.Process(target=stand_in_process, args=(there,), daemon=True)
    stand_in.start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for n, scenario in enumerate(SCENARIOS):
                url = f"sqlite:///{folder}/bench-{n}.sqlite3"
                results.append(asyncio.run(run(url, "sqlite", scenario, here)))
        server = postgres_server_url()
        if server:
            name = f"auditbot_fanout_{os.getpid()}"
            for scenario in SCENARIOS:
                url = fresh_postgres_database(server, name)
                results.append(asyncio.run(run(url, "postgres", scenario, here)))
            drop_postgres_database(server, name)
    finally:
        here.send("stop")
        stand_in.join(10)

    print(
        "Outbox fan-out against a stand-in enforcing Teams' limits "
        "(per conversation 7/1s, 8/2s, 60/30s, 1800/h; app 50 requests/s)"
    )
    header = (
        f"{'scenario':<14} {'database':<9} {'msgs':>5} {'reqs':>5} {'first s':>7} {'seconds':>8} "
        f"{'msgs/s':>7} {'reqs/s':>7} {'ideal s':>8} {'of limit':>8} {'429s':>5} "
        f"{'lost':>5} {'dups':>5}"
    )
    print(header)
    for r in results:
        print(
            f"{r.scenario.name:<14} {r.database:<9} {r.scenario.notices:>5} {r.requests:>5} "
            f"{r.first_after:>7.2f} {r.seconds:>8.2f} {r.scenario.notices / r.seconds:>7.1f} "
            f"{r.requests / r.seconds:>7.1f} {r.ideal_seconds:>8.2f} {r.fraction:>8.3f} "
            f"{r.throttled:>5} {r.lost:>5} {r.duplicates:>5}"
        )
    headline = min(r.fraction for r in results if r.scenario.headline)
    print(f"BENCH fanout_fraction_of_limit {headline:.3f} x")
    print(f"BENCH fanout_lost {sum(r.lost for r in results)} msgs")
    print(f"BENCH fanout_duplicates {sum(r.duplicates for r in results)} msgs")


if __name__ == "__main__":
    main()
