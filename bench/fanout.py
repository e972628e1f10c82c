"""How close the outbox sender gets to Teams' limits, and whether anything is lost or doubled.

The connector stand-in runs in its own process (as Teams is elsewhere) and
enforces Teams' documented limits itself, answering 429 with Retry-After
when a request would exceed them. The sender runs as the service runs it
(background task, default AUDITBOT_OUTBOX_* settings, a managed identity's
token from the identity stand-in on every request)
on SQLite and, when available, PostgreSQL. Scenarios:

- fan-out: 5,000 notices to 5,000 people who have all talked to the bot
  (one request each; the app-wide 50 requests a second binds), run clean and again
  with the stand-in answering every 20th send 429 with Retry-After (as Teams may
  when its service is busy, whatever the limits);
- first contact: 300 notices to 300 people who never have (create the chat,
  then send: two requests each);
- many-to-few: 200 notices to 5 people (the per-conversation limits bind;
  the ideal time is the greedy schedule under them).

Run:

    python bench/fanout.py

Both databases durable (bench/support.py; AUDITBOT_BENCH_SQLITE_ONLY=1 skips
PostgreSQL). Prints a table, then `BENCH fanout_fraction_of_limit <ratio> x` (the share of the
tenant's limit used by the 5,000-person fan-outs, a throttled request counting as a
request, worst run), `BENCH fanout_lost <n> msgs` and `BENCH fanout_duplicates <n> msgs`
(over every run).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from support import durability, postgres_server, scratch_postgres  # noqa: E402

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
from dialogs.notify import Message, tell_all  # noqa: E402
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
    throttle_every: int = 0  # the stand-in answers every n-th send 429 with Retry-After


SCENARIOS = (
    Scenario("fan-out", 5000, 5000, True, headline=True),
    Scenario("fan-out, 429s", 5000, 5000, True, headline=True, throttle_every=20),
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
    durability: str

    @property
    def fraction(self) -> float:
        """The share of the tenant's limit used: the least time Teams' limits allow for the
        requests made (a throttled one is a request too) over the time they took."""
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
        _, options = command
        async with ConnectorStandIn.with_teams_limits(**options) as connector:
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
        notices = []
        for n in range(scenario.notices):
            person = people[n % scenario.people]
            notices.append(
                Message(person.id, "bench", f"bench:{n}", summary="notice", text=f"n{n}")
            )
            expected[f"n{n}"] = person.aad_object_id
        await tell_all(session, notices)
    return expected


async def run(url: str, database: str, scenario: Scenario, pipe: Any) -> Result:
    pipe.send(("start", {"throttle_every": scenario.throttle_every}))
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
        how = await durability(engine)
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
    requests = len(report["sent"]) + report["created"] + report["throttled"]
    return Result(
        scenario,
        database,
        seconds=last - started,
        first_after=first - started,
        requests=requests,
        ideal_seconds=ideal_seconds(scenario, requests),
        throttled=report["throttled"],
        lost=sum(1 for text in expected if counts[text] == 0) + misdirected,
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        durability=how,
    )


async def _finished(sessions: Any) -> bool:
    async with sessions() as session:
        states = await count_messages_by_state(session)
    return not states.get(OutboxState.PENDING) and not states.get(OutboxState.CLAIMED)


def ideal_seconds(scenario: Scenario, requests: int) -> float:
    """The least time from the first request to the last that Teams' limits allow.

    Each limit on its own gives a lower bound, found by sending every request at
    its earliest: all requests under the app-wide windows, and the busiest
    person's messages under the per-conversation windows.
    """
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
        server = postgres_server()
        if server:

            async def on_postgres(scenario: Scenario) -> Result:
                async with scratch_postgres(server) as url:
                    return await run(url, "postgres", scenario, here)

            for scenario in SCENARIOS:
                results.append(asyncio.run(on_postgres(scenario)))
    finally:
        here.send("stop")
        stand_in.join(10)

    print(
        "Outbox fan-out against a stand-in enforcing Teams' limits "
        "(per conversation 7/1s, 8/2s, 60/30s, 1800/h; app 50 requests/s); reqs and 429s "
        "count throttled requests, injected or over a limit"
    )
    header = (
        f"{'scenario':<15} {'database':<9} {'msgs':>5} {'reqs':>5} {'first s':>7} {'seconds':>8} "
        f"{'msgs/s':>7} {'reqs/s':>7} {'ideal s':>8} {'of limit':>8} {'429s':>5} "
        f"{'lost':>5} {'dups':>5}  durability"
    )
    print(header)
    for r in results:
        print(
            f"{r.scenario.name:<15} {r.database:<9} {r.scenario.notices:>5} {r.requests:>5} "
            f"{r.first_after:>7.2f} {r.seconds:>8.2f} {r.scenario.notices / r.seconds:>7.1f} "
            f"{r.requests / r.seconds:>7.1f} {r.ideal_seconds:>8.2f} {r.fraction:>8.3f} "
            f"{r.throttled:>5} {r.lost:>5} {r.duplicates:>5}  {r.durability}"
        )
    headline = min(r.fraction for r in results if r.scenario.headline)
    print(f"BENCH fanout_fraction_of_limit {headline:.3f} x")
    print(f"BENCH fanout_lost {sum(r.lost for r in results)} msgs")
    print(f"BENCH fanout_duplicates {sum(r.duplicates for r in results)} msgs")


if __name__ == "__main__":
    main()
