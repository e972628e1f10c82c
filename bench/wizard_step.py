"""Latency of one audit wizard step (invoke in, updated card out) at 50 concurrent users.

Fifty auditors each start their audit and press "Save and continue" through
the wizard, filling the card's inputs as a person would, all at once, over
real HTTP on loopback, against SQLite and PostgreSQL. Beside it, in the same
run, a minimal botbuilder echo bot answers the same invokes with a fixed card:
the floor set by the SDK and HTTP alone. It runs on auditbot's own adapter, so
it gains what the adapter saves on every turn (msrest's retry policy, which
was 90% of the echo bot's time before bot/adapter.py made it cheap). Both run
as deployed: every invoke carries a Bot Framework token, checked against keys
from the identity stand-in (tests/standins/identity.py), and the heap is settled
(bot.service.settle_heap) as `auditbot serve` settles it once started; unsettled,
the echo bot's p95 was whether a full collection of this process's leftovers fell
in its run (110 to 250 ms against a steady 95). On PostgreSQL a third bot sends a
press's five statements straight through asyncpg and answers with a fixed card: the
least any code doing the wizard's reads and writes could cost (RawDriverPress). Run:

    python bench/wizard_step.py

Both databases durable (bench/support.py). Then, on PostgreSQL, `auditbot serve
--workers 1` and `--workers 2` as processes of their own, each pressed through a fresh
cycle by the same 50 users: presses per second (the load comes from this process, on the
same cores). Prints tables, then `BENCH wizard_step_p95_<db> <ms> ms`,
`BENCH wizard_vs_echo_p95 <ratio> x` (the slower database against the echo bot, one
process, side by side in one round; three rounds, the median round reported),
`BENCH wizard_vs_raw_driver_p95` and `BENCH raw_driver_vs_echo_p95` (the same, against
and for the raw driver), `BENCH wizard_step_statements <n>` (SQL statements per press,
the larger database) and `BENCH wizard_throughput_workers_1|2 <n> rps`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from allocate_500 import NOW, build_service  # noqa: E402
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext  # noqa: E402
from botbuilder.schema import AdaptiveCardInvokeResponse  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from support import durability, postgres_server, scratch_postgres  # noqa: E402

from bot.adapter import build_adapter  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service import build_service as build_bot  # noqa: E402
from bot.service import settle_heap  # noqa: E402
from cards.notice import notice_card  # noqa: E402
from dialogs.cycles import CycleRequest, open_cycle  # noqa: E402
from dialogs.wizard_facts import OWNER_ROLES  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from tests import presses  # noqa: E402
from tests.standins.identity import IdentityStandIn  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402

USERS, STEPS, ROUNDS = 50, 8, 3
TENANT = "4d1f7e2a-6c3b-4f0e-9a51-2b8c7d6e5f40"
APP_ID = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
SERVICE_URL = "http://127.0.0.1:9/"


DEPLOYED = {"app_id": APP_ID, "app_type": "UserAssignedMSI", "tenant_id": TENANT}


def deployed(identity: IdentityStandIn, **values: Any):
    """The settings of a deployed bot whose requests are signed by `identity`."""
    return load_settings(
        **DEPLOYED,
        botframework_openid_url=identity.metadata_url,
        outbox_sender=False,
        scheduler_enabled=False,
        **values,
    )


def invoke(aad_object_id: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return presses.invoke(
        aad_object_id, verb, data, service_url=SERVICE_URL, tenant=TENANT, app_id=APP_ID
    )


def next_press(card: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    return presses.next_press(card, NOW.date())


async def one_user(
    http: aiohttp.ClientSession, url: str, token: str, aad_id: str, first: tuple[str, dict]
) -> list[float]:
    timings, press = [], first
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(STEPS):
        started = time.perf_counter()
        async with http.post(url, json=invoke(aad_id, *press), headers=headers) as response:
            body = await response.json()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body
        following = next_press(body["value"])
        if following is None:
            break
        press = following
    return timings


async def open_audits(db_url: str, month: date, *, build: bool) -> list[tuple[str, tuple]]:
    """A cycle of USERS audits (building the service first when asked): each auditor's
    first press."""
    engine = make_engine(db_url)
    await async_upgrade(engine)
    sessions = session_factory(engine)
    if build:
        await build_service(sessions)
    async with sessions.begin() as session:
        opened = await open_cycle(
            session,
            CycleRequest(service_code="BIG", month=month, seed=month.month, total=USERS),
            rules=ProgrammeRules(),
            now=NOW,
            actor="bench",
        )
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        people = await repo.staff_by_ids(session, {a.auditor_id for a in audits})
        starts = [
            (
                people[a.auditor_id].aad_object_id,
                ("audit.start", {"audit_id": a.id, "version": a.version}),
            )
            for a in audits
        ]
    await engine.dispose()
    return starts


class Statements:
    """SQL statements sent by every engine in this process while counting."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._seen)


async def measure_wizard(db_url: str, identity: IdentityStandIn) -> dict[str, Any]:
    starts = await open_audits(db_url, date(2026, 12, 1), build=True)
    counted = Statements()
    try:
        app = build_bot(deployed(identity, database_url=db_url))
        timings = await drive(app, starts, identity)
    finally:
        counted.close()
    engine = make_engine(db_url)
    try:
        how = await durability(engine)
    finally:
        await engine.dispose()
    return {"timings": timings, "statements": counted.count / len(timings), "durability": how}


class EchoBot(ActivityHandler):
    """The least a botbuilder bot can do for a card press: answer with a fixed card."""

    card = {
        **notice_card("Saved", "Your answers are saved."),
        "actions": [{"type": "Action.Execute", "title": "Next", "verb": "wizard.next", "data": {}}],
    }

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=self.card
        )
        return InvokeResponse(status=200, body=body)


# The five statements of a wizard press on PostgreSQL (what `wizard_step_statements` counts),
# written for asyncpg.
RAW_PRESS = (
    "SELECT * FROM staff WHERE aad_object_id = $1",
    "SELECT audits.id AS audit_id, audits.version AS audit_version, audits.*, cycles.*,"
    " cases.*, kloes.text FROM audits"
    " JOIN cycles ON cycles.id = audits.cycle_id JOIN cases ON cases.id = audits.case_id"
    " LEFT OUTER JOIN kloes ON kloes.cycle_id = cycles.id WHERE audits.id = $1"
    " ORDER BY kloes.position FOR UPDATE OF audits",
    "SELECT staff.*, role_assignments.role FROM staff LEFT OUTER JOIN role_assignments"
    " ON role_assignments.staff_id = staff.id AND role_assignments.role = ANY($2::text[])"
    " AND role_assignments.service_id = $3"
    " WHERE staff.id = ANY($1::int[]) OR (role_assignments.id IS NOT NULL AND staff.active)"
    " ORDER BY staff.id",
    "UPDATE audits SET draft = $1, version = version + 1, updated_at = now()"
    " WHERE id = $2 AND version = $3",
    "INSERT INTO audit_events (occurred_at, actor_id, entity, entity_id, action, before, after)"
    " VALUES (now(), $1, 'audit', $2, 'draft_saved', $3, $4)",
)


OWNER_ROLE_VALUES = [role.value for role in OWNER_ROLES]


class RawDriverPress(ActivityHandler):
    """The least a press doing the wizard's reads and writes can cost: the same five
    statements in one transaction, straight through asyncpg (no SQLAlchemy, no dialogs),
    answering with a fixed card. The reference for how much of a press is auditbot's own
    code: what no rewrite of it could go below with these statements."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        # Presses take their turn for a connection first come, first served, as the bot's
        # do (dialogs.conversation._Turns): without it the raw driver's p95 is its queue's.
        self._turns = asyncio.Semaphore(pool.get_max_size())

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        data = activity.value["action"]["data"]
        staff_by_aad, audit_and_facts, owners, save, trail = RAW_PRESS
        async with self._turns, self._pool.acquire() as connection, connection.transaction():
            staff = await connection.fetchrow(staff_by_aad, activity.from_property.aad_object_id)
            rows = await connection.fetch(audit_and_facts, int(data["audit_id"]))
            audit = rows[0]
            people = [audit["auditor_id"], audit["practitioner_id"], audit["team_manager_id"]]
            await connection.fetch(owners, people, OWNER_ROLE_VALUES, audit["service_id"])
            draft = json.dumps({"wizard": {"step": "raw", "answers": data}})
            saved = await connection.execute(save, draft, audit["audit_id"], audit["audit_version"])
            assert saved == "UPDATE 1", saved  # the draft really written, as the bot's is
            await connection.execute(trail, staff["id"], audit["audit_id"], "{}", draft)
        card = {
            **EchoBot.card,
            "actions": [
                {"type": "Action.Execute", "title": "Next", "verb": "wizard.next", "data": data}
            ],
        }
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
        )
        return InvokeResponse(status=200, body=body)


async def measure_raw_driver(db_url: str, identity: IdentityStandIn) -> dict[str, Any]:
    starts = await open_audits(db_url, date(2026, 12, 1), build=True)
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(dsn, min_size=5, max_size=5)  # as the bot's pool
    try:
        app = without_database(identity, RawDriverPress(pool))
        return {"timings": await drive(app, starts, identity)}
    finally:
        await pool.close()


def without_database(identity: IdentityStandIn, bot: ActivityHandler) -> Any:
    """The service's app on auditbot's adapter, tokens checked, for a bot that brings its own
    storage (or none): /healthz never asks auditbot's database."""
    settings = deployed(identity, database_url="sqlite:///:memory:")

    async def always_reachable() -> bool:
        return True

    return create_app(build_adapter(settings), bot, always_reachable, require_token=True)


async def measure_echo(identity: IdentityStandIn) -> list[float]:
    starts = [(str(uuid.uuid4()), ("audit.start", {"audit_id": n})) for n in range(1, USERS + 1)]
    return await drive(without_database(identity, EchoBot()), starts, identity)


async def drive(app, starts, identity: IdentityStandIn) -> list[float]:
    """Each user's presses against the app served in this process."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    # As `auditbot serve` does once started: what is loaded so far (and this process's
    # earlier rounds) is out of the collector's walk, so neither bot's tail is a full
    # collection of the bench's own leftovers.
    await settle_heap()
    try:
        return await load(str(server.make_url("/api/messages")), starts, identity)
    finally:
        gc.unfreeze()
        await server.close()


async def load(url: str, starts, identity: IdentityStandIn) -> list[float]:
    """Each user's presses, all users at once, with the token Teams would send (one an hour,
    so made once)."""
    token = identity.issue_token(audience=APP_ID, service_url=SERVICE_URL)
    connector = aiohttp.TCPConnector(limit=USERS)
    async with aiohttp.ClientSession(connector=connector) as http:
        results = await asyncio.gather(
            *(one_user(http, url, token, aad, first) for aad, first in starts)
        )
    return [t for timings in results for t in timings]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def throughput(db_url: str, identity: IdentityStandIn, workers: int, month: date) -> float:
    """Presses per second at USERS concurrent users against `auditbot serve --workers N`,
    a process of its own as deployed (the bench's load comes from this one)."""
    starts = await open_audits(db_url, month, build=False)
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}
    environment.update(
        {f"AUDITBOT_{k.upper()}": str(v) for k, v in DEPLOYED.items()},
        AUDITBOT_DATABASE_URL=db_url,
        AUDITBOT_BOTFRAMEWORK_OPENID_URL=identity.metadata_url,
        AUDITBOT_OUTBOX_SENDER="false",
        AUDITBOT_SCHEDULER_ENABLED="false",
        AUDITBOT_LOG_LEVEL="WARNING",
        PYTHONPATH=str(HERE.parent),
    )
    command = [sys.executable, "-m", "bot.cli", "serve", "--workers", str(workers)]
    service = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], env=environment
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"{base}/healthz") as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # every worker up, not only the first to answer
        started = time.perf_counter()
        timings = await load(f"{base}/api/messages", starts, identity)
        return len(timings) / (time.perf_counter() - started)
    finally:
        service.terminate()
        service.wait(60)


async def throughputs(server: str, identity: IdentityStandIn) -> dict[int, float]:
    async with scratch_postgres(server) as url:
        await open_audits(url, date(2027, 1, 1), build=True)
        return {
            workers: await throughput(url, identity, workers, date(2027, 1 + workers, 1))
            for workers in (1, 2)
        }


def one_round(identity: IdentityStandIn, server: str | None) -> dict[str, dict[str, Any]]:
    """The echo bot, then the wizard on each database (fresh), side by side in one run."""
    results = {"echo bot": {"timings": asyncio.run(measure_echo(identity))}}
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{folder}/bench.sqlite3"
        results["sqlite"] = asyncio.run(measure_wizard(sqlite, identity))
    if server:

        async def on_postgres() -> dict[str, Any]:
            async with scratch_postgres(server) as url:
                return await measure_wizard(url, identity)

        results["postgres"] = asyncio.run(on_postgres())

        async def raw_driver() -> dict[str, Any]:
            async with scratch_postgres(server) as url:
                return await measure_raw_driver(url, identity)

        results["raw driver"] = asyncio.run(raw_driver())
    return results


WIZARDS = ("sqlite", "postgres")


def ratio(results: dict[str, dict[str, Any]], over: str = "echo bot") -> float:
    """The slower database's p95 over the echo bot's (or another's), in one round."""
    slower = max(p95(r["timings"]) for name, r in results.items() if name in WIZARDS)
    return slower / p95(results[over]["timings"])


def raw_over_echo(results: dict[str, dict[str, Any]]) -> float:
    """The raw driver's p95 over the echo bot's, in one round."""
    return p95(results["raw driver"]["timings"]) / p95(results["echo bot"]["timings"])


def main() -> None:
    server = postgres_server()
    with IdentityStandIn() as identity:
        rounds = [one_round(identity, server) for _ in range(ROUNDS)]
        rates = asyncio.run(throughputs(server, identity)) if server else {}

    print(
        f"Wizard steps at {USERS} concurrent users, up to {STEPS} presses each, one process, "
        f"{ROUNDS} rounds (milliseconds; {os.cpu_count()} cores)"
    )
    print(
        f"{'round':<6} {'bot':<10} {'presses':>8} {'median':>8} {'p95':>8} {'statements':>11}"
        "  durability"
    )
    for number, results in enumerate(rounds, start=1):
        for name, r in results.items():
            timings = r["timings"]
            print(
                f"{number:<6} {name:<10} {len(timings):>8} {statistics.median(timings):>8.1f} "
                f"{p95(timings):>8.1f} {r.get('statements', 0):>11.1f}  "
                f"{r.get('durability', '')}"
            )
        print(f"{'':<6} p95 of the slower database over the echo bot's: {ratio(results):.2f}")
        if "raw driver" in results:
            print(
                f"{'':<6} over the raw driver's: {ratio(results, 'raw driver'):.2f}; the raw "
                f"driver over the echo bot's: {raw_over_echo(results):.2f}"
            )
    middle = sorted(rounds, key=ratio)[len(rounds) // 2]  # the round with the median ratio
    for name, r in middle.items():
        if name in WIZARDS:
            print(f"BENCH wizard_step_p95_{name} {p95(r['timings']):.1f} ms")
    print(f"BENCH wizard_vs_echo_p95 {ratio(middle):.2f} x")
    if "raw driver" in middle:
        print(f"BENCH wizard_vs_raw_driver_p95 {ratio(middle, 'raw driver'):.2f} x")
        print(f"BENCH raw_driver_vs_echo_p95 {raw_over_echo(middle):.2f} x")
    statements = max(r["statements"] for n, r in middle.items() if n in WIZARDS)
    print(f"BENCH wizard_step_statements {statements:.1f}")
    if rates:
        print(f"\nauditbot serve --workers N on PostgreSQL, {USERS} users pressing (presses/s):")
        for workers, rate in rates.items():
            print(f"  {workers} worker{'s' if workers > 1 else ''}: {rate:.0f}")
        for workers, rate in rates.items():
            print(f"BENCH wizard_throughput_workers_{workers} {rate:.0f} rps")


if __name__ == "__main__":
    main()
