"""The real service as a process (`auditbot serve`, as deployed): killed mid-fan-out and
restarted, or two side by side on one PostgreSQL, it delivers every notice exactly once."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from storage.enums import OutboxState
from storage.repositories.outbox import count_messages_by_state
from tests.bot.test_outbox import create_person, personal_chat, queue_notice
from tests.conftest import POSTGRES_ONLY, Database
from tests.harness import deployed_environment
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn

ROOT = Path(__file__).resolve().parents[2]
NOTICES, PEOPLE = 200, 100


@dataclass
class Service:
    process: asyncio.subprocess.Process
    log: Path
    port: int

    @classmethod
    async def start(
        cls,
        db: Database,
        connector: ConnectorStandIn,
        identity: IdentityStandIn,
        folder: Path,
        name: str,
        **settings: str,
    ) -> Service:
        env = deployed_environment(db.url, identity)
        port = free_port()
        env.update(
            AUDITBOT_HOST="127.0.0.1",
            AUDITBOT_PORT=str(port),
            AUDITBOT_TEAMS_SERVICE_URL=connector.url,
            AUDITBOT_OUTBOX_REQUEST_TIMEOUT_SECONDS="2",
            # A send can take 2 x 2 s of requests and 2 x 1 s of database waits: claims
            # left by a killed service come back after 10 s, with 4 s to start a send in.
            AUDITBOT_OUTBOX_CLAIM_TIMEOUT_SECONDS="10",
            AUDITBOT_DATABASE_BUSY_TIMEOUT_SECONDS="1",
            AUDITBOT_OUTBOX_POLL_SECONDS="0.2",
            AUDITBOT_LOG_LEVEL="WARNING",
        )
        env.update({f"AUDITBOT_{key.upper()}": value for key, value in settings.items()})
        log = folder / f"{name}.log"
        with log.open("w") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "serve",
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )
        return cls(process, log, port)

    async def url(self) -> str:
        """Its /api/messages, once it answers /healthz."""
        base = f"http://127.0.0.1:{self.port}"
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(60):
                while True:
                    assert self.process.returncode is None, self.log.read_text()
                    try:
                        async with http.get(f"{base}/healthz") as answer:
                            if answer.status == 200:
                                return f"{base}/api/messages"
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no last commits."""
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM: the service lets sends under way finish and record, then exits."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(db: Database, connector: ConnectorStandIn) -> dict[str, str]:
    """200 notices to 100 people, half of whom have never talked to the bot.

    Returns each notice's text and the chat it must reach.
    """
    expected = {}
    async with db.sessions.begin() as session:
        people = [
            await create_person(session, connector, has_chat=n % 2 == 0) for n in range(PEOPLE)
        ]
        for n in range(NOTICES):
            person = people[n % PEOPLE]
            await queue_notice(session, person, n)
            aad = person.aad_object_id
            expected[f"notice {n}"] = personal_chat(aad) if n % 2 == 0 else f"a:created-{aad}"
    return expected


async def states(db: Database) -> dict[OutboxState, int]:
    async with db.sessions() as session:
        return await count_messages_by_state(session)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait for the service under test to reach a state only the database shows."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def texts(connector: ConnectorStandIn) -> Counter[str]:
    return Counter(sent.activity["text"] for sent in connector.sent)


def assert_each_reached_its_chat(connector: ConnectorStandIn, expected: dict[str, str]) -> None:
    for sent in connector.sent:
        assert sent.conversation_id == expected[sent.activity["text"]]


async def test_a_service_killed_mid_fan_out_and_restarted_delivers_every_notice_exactly_once(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn, tmp_path: Path
):
    expected = await seed(db, connector)
    # After 80, Teams holds requests without taking them: the kill lands with sends in flight.
    connector.stall_before_accepting(after=80)
    first = await Service.start(db, connector, identity, tmp_path, "first")
    try:
        await connector.wait_until(lambda: connector.stalled >= 1, timeout=60)
        await eventually(lambda: _sent_is(db, 80))
    finally:
        await first.kill()
    assert (await states(db)).get(OutboxState.CLAIMED, 0) > 0  # claims left by the dead sender
    connector.drop_stalled()

    second = await Service.start(db, connector, identity, tmp_path, "second")
    try:
        await connector.wait_until(lambda: len(connector.sent) >= NOTICES, timeout=90)
    finally:
        await second.stop()

    assert texts(connector) == {text: 1 for text in expected}
    assert_each_reached_its_chat(connector, expected)
    assert await states(db) == {OutboxState.SENT: NOTICES}


async def test_a_crash_after_teams_accepted_but_before_the_outcome_was_saved_resends_only_those(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn, tmp_path: Path
):
    """The one window exactly-once cannot close: Teams' connector takes no idempotency key, so
    a message accepted just before the crash, and not yet recorded, is sent again. Never lost."""
    expected = await seed(db, connector)
    connector.stall_after_accepting(after=80)
    first = await Service.start(db, connector, identity, tmp_path, "first")
    try:
        await connector.wait_until(lambda: connector.stalled >= 1, timeout=60)
        await eventually(lambda: _sent_is(db, 80))
    finally:
        await first.kill()
    in_the_window = {sent.activity["text"] for sent in connector.sent[80:]}
    connector.drop_stalled()

    second = await Service.start(db, connector, identity, tmp_path, "second")
    try:
        await connector.wait_until(lambda: set(texts(connector)) >= set(expected), timeout=90)
    finally:
        await second.stop()

    assert in_the_window
    counts = texts(connector)
    assert {text for text, n in counts.items() if n > 1} == in_the_window
    assert {counts[text] for text in in_the_window} == {2}
    assert set(counts) == set(expected)
    assert_each_reached_its_chat(connector, expected)
    assert await states(db) == {OutboxState.SENT: NOTICES}


@POSTGRES_ONLY
async def test_two_services_sharing_one_postgresql_send_as_one_within_teams_limit(
    db: Database, identity: IdentityStandIn, tmp_path: Path
):
    """One sends while the other stands by (bot/election.py), so together they keep to Teams'
    app-wide limit; when the sender is killed mid-fan-out the other takes over: nothing is
    lost, and only what the dead one had in flight may go twice (the documented window)."""
    async with ConnectorStandIn.with_teams_limits(tokens=identity.issued) as connector:
        expected = await seed(db, connector)
        services = {
            name: await Service.start(db, connector, identity, tmp_path, name, log_level="INFO")
            for name in ("left", "right")
        }
        try:
            await connector.wait_until(lambda: len(connector.sent) >= 80, timeout=90)
            [sending] = [
                n
                for n, s in services.items()
                if "this instance sends the outbox" in s.log.read_text()
            ]
            await services[sending].kill()
            await connector.wait_until(lambda: set(texts(connector)) >= set(expected), 90)
        finally:
            for service in services.values():
                await service.stop()
        [standing_by] = set(services) - {sending}
        assert "this one stands by" in services[standing_by].log.read_text()
        assert "this instance sends the outbox" in services[standing_by].log.read_text()

        counts = texts(connector)
        assert set(counts) == set(expected)
        assert sum(n - 1 for n in counts.values()) <= 16  # AUDITBOT_OUTBOX_CONCURRENCY
        assert_each_reached_its_chat(connector, expected)
        assert connector.throttled == 0
    assert await states(db) == {OutboxState.SENT: NOTICES}


async def _sent_is(db: Database, count: int) -> bool:
    return (await states(db)).get(OutboxState.SENT, 0) >= count
