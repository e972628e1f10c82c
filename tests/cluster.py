"""Three `auditbot serve` instances behind HAProxy on one PostgreSQL, driven as Teams drives
them, for tests/bot/test_cluster.py and bench/cluster.py.

A council runs auditbot on several instances behind a load balancer. `run_cluster` opens a
cycle (its allocation notices fan out through the outbox) while its auditors press through
the audit wizard through the balancer, kills the instance that is sending the outbox part way,
and starts it again. Teams is the Bot Connector stand-in with Teams' rate limits, the tokens
are the identity stand-in's, the balancer is Debian's HAProxy. It returns what a council would
ask of the run: was anything lost, sent twice, sent faster than Teams allows, saved twice.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from dialogs.cycles import CycleRequest, open_cycle
from storage import repositories as repo
from storage.db import make_engine, session_factory
from storage.enums import OutboxState
from storage.models import AuditEvent, OutboxMessage, Staff
from tests.factories import create_case, create_service, create_staff, create_team
from tests.harness import APP_ID, TENANT_ID, deployed_environment
from tests.presses import invoke, next_press
from tests.standins.connector import TEAMS_APP_LIMITS, ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.roles import Role
from workflow.rules import ProgrammeRules

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = shutil.which("haproxy") or (
    "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
)
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CONCURRENCY = 16  # AUDITBOT_OUTBOX_CONCURRENCY: the most a killed sender can have in flight


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    name: str
    port: int
    starts: int = 0
    process: subprocess.Popen[bytes] | None = None

    def log(self, folder: Path) -> Path:
        return folder / f"{self.name}-{self.starts}.log"


@dataclass
class Cluster:
    """The instances and their balancer; `url` is the balancer's /api/messages."""

    database_url: str
    identity: IdentityStandIn
    connector: ConnectorStandIn
    folder: Path
    size: int = 3
    instances: list[Instance] = field(default_factory=list)
    balancer: subprocess.Popen[bytes] | None = None
    balancer_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}/api/messages"

    def environment(self) -> dict[str, str]:
        env = deployed_environment(self.database_url, self.identity)
        env.update(
            PYTHONPATH=str(ROOT),
            AUDITBOT_HOST="127.0.0.1",
            AUDITBOT_TEAMS_SERVICE_URL=self.connector.url,
            AUDITBOT_SCHEDULER_ENABLED="false",
            AUDITBOT_OUTBOX_REQUEST_TIMEOUT_SECONDS="2",
            # Claims left by a killed sender come back after 10 s (see test_outbox_processes).
            AUDITBOT_OUTBOX_CLAIM_TIMEOUT_SECONDS="10",
            AUDITBOT_DATABASE_BUSY_TIMEOUT_SECONDS="1",
            AUDITBOT_OUTBOX_POLL_SECONDS="0.2",
            AUDITBOT_OUTBOX_CONCURRENCY=str(CONCURRENCY),
            AUDITBOT_LOG_LEVEL="INFO",
        )
        return env

    async def start(self) -> None:
        self.instances = [Instance(f"auditbot-{n}", free_port()) for n in range(1, self.size + 1)]
        for instance in self.instances:
            self._launch(instance)
        self.balancer_port = free_port()
        config = self.folder / "haproxy.cfg"
        config.write_text(_haproxy_config(self.balancer_port, self.instances))
        assert HAPROXY is not None
        self.balancer = subprocess.Popen(
            [HAPROXY, "-f", str(config), "-db"],
            stdout=(self.folder / "haproxy.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for instance in self.instances:
            await self.healthy(instance)
        await _until(lambda: self._answers(f"http://127.0.0.1:{self.balancer_port}/healthz"))

    def _launch(self, instance: Instance) -> None:
        instance.starts += 1
        env = {**self.environment(), "AUDITBOT_PORT": str(instance.port)}
        instance.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=instance.log(self.folder).open("wb"),
            stderr=subprocess.STDOUT,
        )

    async def healthy(self, instance: Instance) -> None:
        def up() -> bool:
            assert instance.process is not None
            if instance.process.poll() is not None:
                raise AssertionError(instance.log(self.folder).read_text())
            return self._answers(f"http://127.0.0.1:{instance.port}/healthz")

        await _until(up)

    @staticmethod
    def _answers(url: str) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def said(self, instance: Instance, text: str) -> bool:
        return text in instance.log(self.folder).read_text()

    def sender(self) -> Instance | None:
        """The instance sending the outbox now (its current run took the lock)."""
        for instance in self.instances:
            running = instance.process is not None and instance.process.poll() is None
            if running and self.said(instance, "this instance sends the outbox"):
                return instance
        return None

    def kill(self, instance: Instance) -> None:
        assert instance.process is not None
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait(30)

    async def restart(self, instance: Instance) -> None:
        self._launch(instance)
        await self.healthy(instance)

    def stop(self) -> None:
        processes = [i.process for i in self.instances if i.process] + [self.balancer]
        for process in processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in processes:
            if process is None:
                continue
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.folder.glob("auditbot-*.log")))


def _haproxy_config(port: int, instances: list[Instance]) -> str:
    servers = "\n".join(
        f"    server {i.name} 127.0.0.1:{i.port} check inter 300ms fall 2 rise 1" for i in instances
    )
    return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch

frontend teams
    bind 127.0.0.1:{port}
    default_backend auditbot

backend auditbot
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{servers}
"""


async def _until(check: Any, seconds: float = 120.0) -> None:
    async with asyncio.timeout(seconds):
        while not await asyncio.to_thread(check):
            await asyncio.sleep(0.1)


# The council: one service, its teams, auditors, moderators and open cases.


async def build_council(database_url: str, auditors: int, cases: int) -> str:
    """A service with `auditors` trained auditors and `cases` open cases; its code."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            service = await create_service(session, code=f"CL{uuid.uuid4().hex[:6].upper()}")
            teams = [await create_team(session, service=service) for _ in range(5)]
            await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
            for n, team in enumerate(teams):
                manager = await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
                for _ in range(auditors // len(teams) + (n < auditors % len(teams))):
                    await create_staff(
                        session,
                        roles=[(Role.AUDITOR, service)],
                        auditor_trained=True,
                        line_manager=manager,
                    )
            for _ in range(3):
                await create_staff(session, roles=[(Role.MODERATOR, service)], auditor_trained=True)
            for n in range(cases):
                await create_case(session, team=teams[n % len(teams)])
            return service.code
    finally:
        await engine.dispose()


async def open_a_cycle(database_url: str, code: str, total: int) -> list[tuple[str, int, int]]:
    """Open a cycle (its notices queued in the outbox); each audit's (auditor, id, version)."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            opened = await open_cycle(
                session,
                CycleRequest(service_code=code, month=date(2026, 12, 1), seed=1, total=total),
                rules=ProgrammeRules(),
                now=NOW,
                actor="cluster",
            )
            audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
            people = await repo.staff_by_ids(session, {a.auditor_id for a in audits})
            return [(people[a.auditor_id].aad_object_id, a.id, a.version) for a in audits]
    finally:
        await engine.dispose()


# The wizard through the balancer, as Teams posts card presses.


@dataclass
class Presses:
    made: int = 0
    retried: int = 0
    finished: int = 0
    halfway: int = 0  # auditors waiting half way for the kill
    answered_at: list[float] = field(default_factory=list)  # the loop's time of each answer


async def press_through(
    cluster: Cluster,
    audits: list[tuple[str, int, int]],
    steps: int,
    presses: Presses,
    resume: asyncio.Event,
    reading: float = 0.3,
) -> None:
    """Each auditor starts their audit and presses on `steps` times, all at once, `reading`
    seconds on each card before the next press. Every other auditor stops half way until
    `resume` is set (counted in `presses.halfway`), so some presses come before the kill and
    some after whatever the machine's speed; the others press on throughout. A press that
    fails on the way (its instance killed, the balancer's 502) is pressed again, as a person
    would; a press the bot already saved then answers with the card as it now is."""
    token = cluster.identity.issue_token(audience=APP_ID, service_url=cluster.connector.url)
    headers = {"Authorization": f"Bearer {token}"}

    async def one(
        http: aiohttp.ClientSession, pauses: bool, aad: str, audit_id: int, version: int
    ) -> None:
        press: tuple[str, dict[str, Any]] | None = (
            "audit.start",
            {"audit_id": audit_id, "version": version},
        )
        for step in range(steps):
            assert press is not None
            if pauses and step == steps // 2:
                presses.halfway += 1
                await resume.wait()
            body = await _press(
                http, cluster.url, aad, press, headers, presses, cluster.connector.url
            )
            press = next_press(body["value"], NOW.date())
            if press is None:
                break
            await asyncio.sleep(reading)
        presses.finished += 1

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(one(http, n % 2 == 0, *a) for n, a in enumerate(audits)))


async def _press(
    http: aiohttp.ClientSession,
    url: str,
    aad: str,
    press: tuple[str, dict[str, Any]],
    headers: dict[str, str],
    presses: Presses,
    service_url: str,
) -> dict[str, Any]:
    for attempt in range(60):
        presses.made += 1
        presses.retried += attempt > 0
        try:
            activity = invoke(aad, *press, service_url=service_url, tenant=TENANT_ID, app_id=APP_ID)
            async with http.post(url, json=activity, headers=headers) as response:
                if response.status == 200:
                    presses.answered_at.append(asyncio.get_running_loop().time())
                    return dict(await response.json())
                assert response.status >= 500, await response.text()
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.25)
    raise AssertionError(f"a press by {aad} never went through")


# The run, and what it shows.


@dataclass
class Outcome:
    notices: int  # outbox rows the cycle queued
    lost: int  # of those, not delivered in the end
    duplicates: int  # cards or texts a person received more than once
    peak_per_second: int  # the most requests reaching Teams in any one second
    limit_per_second: int
    throttled: int  # requests Teams answered 429 (a conversation's limit or the tenant's)
    throttled_by_tenant_limit: int
    presses: Presses
    saved_twice: int  # (audit, step) pairs with two "draft_saved" trail rows
    killed: str = ""
    killed_at: float = 0.0  # the loop's time
    sent_before_kill: int = 0  # messages Teams had accepted when the sender was killed
    seconds: float = 0.0

    @property
    def presses_around_the_kill(self) -> tuple[int, int]:
        """Presses answered before the kill, and after it."""
        before = sum(at < self.killed_at for at in self.presses.answered_at)
        return before, len(self.presses.answered_at) - before

    @property
    def peak_vs_limit(self) -> float:
        return self.peak_per_second / self.limit_per_second


async def run_cluster(
    cluster: Cluster, *, auditors: int = 30, cases: int = 120, steps: int = 8
) -> Outcome:
    """Open a cycle of `cases` while `auditors` press through the wizard; kill the sending
    instance once a third of the notices are out (and half the auditors wait half way), start
    it again once another sends."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await build_council(cluster.database_url, auditors, cases)
    await cluster.start()
    audits = await open_a_cycle(cluster.database_url, code, cases)
    notices = await _count(cluster.database_url, OutboxMessage.id)
    presses, resume = Presses(), asyncio.Event()
    wizard = asyncio.create_task(press_through(cluster, audits[:auditors], steps, presses, resume))

    pausing = (auditors + 1) // 2
    await cluster.connector.wait_until(lambda: len(cluster.connector.sent) >= notices // 3, 120)
    await _until(lambda: presses.halfway == pausing or wizard.done())
    sent_before_kill = len(cluster.connector.sent)
    victim = cluster.sender()
    assert victim is not None, cluster.logs()
    cluster.kill(victim)
    killed_at = loop.time()
    resume.set()
    await _until(lambda: (s := cluster.sender()) is not None and s is not victim)
    await cluster.restart(victim)
    await wizard

    await _until(lambda: _all_sent(cluster.database_url, notices), 180)
    outcome = Outcome(
        notices=notices,
        lost=notices - await _count(cluster.database_url, OutboxMessage.id, sent=True),
        duplicates=await _duplicates(cluster.database_url, cluster.connector),
        peak_per_second=_peak(cluster.connector),
        limit_per_second=TEAMS_APP_LIMITS[0][0],
        throttled=cluster.connector.throttled,
        throttled_by_tenant_limit=cluster.connector.throttled_by_app_limit,
        presses=presses,
        saved_twice=await _saved_twice(cluster.database_url),
        killed=victim.name,
        killed_at=killed_at,
        sent_before_kill=sent_before_kill,
    )
    outcome.seconds = loop.time() - started
    return outcome


def _all_sent(database_url: str, notices: int) -> bool:
    return asyncio.run(_count(database_url, OutboxMessage.id, sent=True)) >= notices


async def _count(database_url: str, column: Any, *, sent: bool = False) -> int:
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(func.count(column))
            if sent:
                query = query.where(OutboxMessage.state == OutboxState.SENT)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


def _peak(connector: ConnectorStandIn) -> int:
    """The most requests (sends and chats created, accepted or refused) that reached Teams
    within any one second."""
    times = sorted(connector.arrived)
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def _items(activity: dict[str, Any]) -> list[str]:
    """What a person sees in one message: each card, or the text when there is none."""
    cards = [
        json.dumps(a.get("content"), sort_keys=True) for a in activity.get("attachments") or []
    ]
    return cards or [str(activity.get("text"))]


async def _duplicates(database_url: str, connector: ConnectorStandIn) -> int:
    """Cards (or texts) that reached a person more often than the outbox asked for."""
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(Staff.aad_object_id, OutboxMessage.payload).join(
                Staff, Staff.id == OutboxMessage.recipient_id
            )
            rows = (await session.execute(query)).all()
    finally:
        await engine.dispose()
    wanted: Counter[tuple[str, str]] = Counter()
    for person, payload in rows:
        card = payload.get("card")
        wanted[
            (person, json.dumps(card, sort_keys=True) if card else str(payload.get("text")))
        ] += 1
    got: Counter[tuple[str, str]] = Counter(
        (_person(sent.conversation_id), item)
        for sent in connector.sent
        for item in _items(sent.activity)
    )
    return sum(max(0, n - wanted[key]) for key, n in got.items())


def _person(conversation_id: str) -> str:
    """Whose 1:1 chat this is: one the bot created ("a:created-AAD") or one a press named."""
    return conversation_id.removeprefix("a:created-").removeprefix("a:")


async def _saved_twice(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            saved = (
                await session.execute(
                    select(AuditEvent.entity_id, AuditEvent.after).where(
                        AuditEvent.action == "draft_saved"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    steps = Counter((audit_id, (after or {}).get("step")) for audit_id, after in saved)
    return sum(n - 1 for n in steps.values() if n > 1)
