"""One SQLite database with something live for every card action, reused by many examples.

The demo organisation, both services' cycles open, next month's cycles
proposed (KLOEs waiting for approval), two exemption requests waiting for
their Head of Service and one approved (waiting for the Audit Team to
reallocate), plus people who must never act: someone with no role, and two
who have left (a former Audit Team member, and an auditor with live audits).

`fingerprint()` hashes every row of every table, so "nothing changed" means
nothing at all. An example that legitimately changed something is undone by
`restore()`, which puts back the file as it was built.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialogs.conversation import Actor, Conversations
from dialogs.cycle_form import MONTHS_AHEAD
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.kloes import APPROVERS, propose_cycle
from storage import repositories as repo
from storage.db import make_engine, session_factory
from storage.demo import load_demo
from storage.enums import CycleState
from storage.models import Audit, Cycle, ExemptionRequest, Staff
from workflow.calendar import FixedClock
from workflow.roles import Role
from workflow.rules import ProgrammeRules

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PROPOSER_UPN = "alex.wilber@demo-council.gov.uk"
KLOES = ("Is the child's lived experience visible?", "Does oversight prevent drift?")
AUDIT_TEAM_ROLES = (Role.AUDIT_TEAM, Role.AUDIT_MANAGER)


@dataclass(frozen=True)
class Subject:
    """What a button is about, the data a genuine button sends, and who may press it."""

    data: dict[str, Any]
    legit: frozenset[int]  # staff ids


@dataclass(frozen=True)
class Person:
    id: int
    aad_object_id: str
    name: str
    active: bool = True


@dataclass(frozen=True)
class AuditRef:
    """A live audit, and staff with no part in it: not allocated, not managing anyone who
    is, and holding roles only in another service."""

    id: int
    version: int
    unrelated: tuple[Person, ...]


@dataclass
class World:
    path: Path
    baseline: Path
    runner: asyncio.Runner
    rules: ProgrammeRules
    people: list[Person] = field(default_factory=list)  # active staff holding roles
    outsiders: list[Person] = field(default_factory=list)  # no role, or left
    subjects: dict[str, list[Subject]] = field(default_factory=dict)
    audits: list[AuditRef] = field(default_factory=list)
    service_codes: tuple[str, ...] = ()
    offered_months: tuple[str, ...] = ()
    engine: AsyncEngine | None = None
    conversations: Conversations | None = None
    original: dict[str, str] = field(default_factory=dict)

    def connect(self) -> None:
        self.engine = make_engine(f"sqlite+aiosqlite:///{self.path}")
        self.conversations = Conversations(
            session_factory(self.engine), rules=self.rules, clock=FixedClock(NOW)
        )

    def act(self, actor: Actor, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self.conversations is not None
        return self.runner.run(self.conversations.on_card_action(actor, verb, data))

    def fingerprint(self) -> dict[str, str]:
        """A hash of every row, table by table."""
        hashes = {}
        with closing(sqlite3.connect(self.path)) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                digest = hashlib.sha256()
                for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                    digest.update(repr(row).encode())
                hashes[table] = digest.hexdigest()
        return hashes

    def changed(self) -> list[str]:
        """The tables whose rows are not as built."""
        now = self.fingerprint()
        return sorted(table for table in now if now[table] != self.original.get(table))

    def restore(self) -> None:
        assert self.engine is not None
        self.runner.run(self.engine.dispose())
        copy_database(self.baseline, self.path)
        self.connect()

    def close(self) -> None:
        if self.engine is not None:
            self.runner.run(self.engine.dispose())
        self.runner.close()


def copy_database(source: Path, target: Path) -> None:
    """Copy a closed SQLite database, its write-ahead log folded in, over another."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)


def actor_for(person: Person) -> Actor:
    return Actor(aad_object_id=person.aad_object_id, tenant_id=TENANT_ID, display_name=person.name)


def build_world(template: Path, folder: Path) -> World:
    path = folder / "fuzz.sqlite3"
    shutil.copyfile(template, path)
    world = World(
        path=path, baseline=folder / "baseline.sqlite3", runner=asyncio.Runner(),
        rules=ProgrammeRules(),
    )  # fmt: skip
    world.connect()
    world.runner.run(_populate(world))
    world.runner.run(_describe(world))
    assert world.engine is not None
    world.runner.run(world.engine.dispose())
    copy_database(path, world.baseline)
    world.connect()
    world.original = world.fingerprint()
    return world


async def _populate(world: World) -> None:
    assert world.engine is not None and world.conversations is not None
    sessions = session_factory(world.engine)
    async with sessions.begin() as session:
        await load_demo(session)
        proposer = await repo.get_staff_by_upn(session, PROPOSER_UPN)
        for code in ("CSC", "EH"):
            await open_cycle(
                session,
                CycleRequest(service_code=code, month=date(2026, 12, 1), seed=3, total=4,
                             kloes=KLOES),
                rules=world.rules,
                now=NOW,
                actor="demo",
            )  # fmt: skip
            await propose_cycle(
                session,
                CycleRequest(service_code=code, month=date(2027, 1, 1), seed=5, total=3,
                             kloes=KLOES),
                actor=proposer,
                now=NOW,
                rules=world.rules,
            )  # fmt: skip
    async with sessions() as session:
        cycles = [c for c in await _all(session, Cycle) if c.state is CycleState.OPEN]
        csc, eh = [await repo.list_audits_in_cycle(session, c.id) for c in cycles]
        staff = {s.id: s for s in await _all(session, Staff)}
        hos = {
            code: (await repo.list_staff_with_role(session, Role.HEAD_OF_SERVICE, c.service_id))[0]
            for code, c in zip(("CSC", "EH"), cycles, strict=True)
        }
    conversations = world.conversations

    async def press(person: Staff, verb: str, **data: Any) -> None:
        card = await conversations.on_card_action(
            actor_for(Person(person.id, person.aad_object_id, person.display_name)), verb, data
        )
        assert "isn't yours" not in str(card) and "out of date" not in str(card), card

    # Waiting for a Head of Service: one in each service; one approved, to reallocate.
    for audit in (csc[0], eh[0], csc[1]):
        await press(staff[audit.auditor_id], "exemption.request", audit_id=audit.id,
                    reason="I supervised this practitioner last year.")  # fmt: skip
    async with sessions() as session:
        approved = await repo.open_exemption_request(session, csc[1].id)
    assert approved is not None
    await press(hos["CSC"], "exemption.decide", request_id=approved.id, decision="approved")

    async with sessions.begin() as session:
        await repo.add_staff(session, "0a0a0a0a-0000-4000-8000-00000000000a",
                             "no.roles@demo-council.gov.uk", "Nora Roles",
                             "no.roles@demo-council.gov.uk")  # fmt: skip
        former = await repo.add_staff(session, "0b0b0b0b-0000-4000-8000-00000000000b",
                                      "former.team@demo-council.gov.uk", "Fay Former",
                                      "former.team@demo-council.gov.uk", active=False)  # fmt: skip
        csc_service = await repo.get_service_by_code(session, "CSC")
        assert csc_service is not None
        await repo.assign_role(session, former.id, Role.AUDIT_TEAM, csc_service.id)
        leaver = await repo.get_staff(session, csc[2].auditor_id)
        assert leaver is not None
        leaver.active = False


async def _describe(world: World) -> None:
    """Who exists, and for each verb, every subject with the data its genuine button sends."""
    assert world.engine is not None
    async with session_factory(world.engine)() as session:
        staff = await _all(session, Staff)
        with_roles = {s.id for s in staff if await repo.roles_of(session, s.id)}
        world.people = [_person(s) for s in staff if s.active and s.id in with_roles]
        world.outsiders = [_person(s) for s in staff if not s.active or s.id not in with_roles]
        active = {s.id for s in staff if s.active}
        services = await repo.list_services(session)
        world.service_codes = tuple(s.code for s in services)
        world.offered_months = offered_months(NOW.date())

        async def holders(roles: tuple[Role, ...], service_id: int) -> frozenset[int]:
            found = set()
            for role in roles:
                found |= {s.id for s in await repo.list_staff_with_role(session, role, service_id)}
            return frozenset(found & active)

        cycles = await _all(session, Cycle)
        service_of_cycle = {c.id: c.service_id for c in cycles}
        audits = await _all(session, Audit)
        service_of_audit = {a.id: service_of_cycle[a.cycle_id] for a in audits}
        scopes = {s.id: {r.service_id for r in await repo.roles_of(session, s.id)} for s in staff}
        managers = {s.id: s.line_manager_id for s in staff}
        world.audits = []
        for audit in audits:
            involved = _with_managers(
                {audit.auditor_id, audit.moderator_id, audit.practitioner_id,
                 audit.team_manager_id} - {None},
                managers,
            )  # fmt: skip
            service = service_of_audit[audit.id]
            unrelated = tuple(
                person
                for person in world.people
                if person.id not in involved and service not in scopes[person.id]
            )
            world.audits.append(AuditRef(audit.id, audit.version, unrelated))
        world.subjects = {
            "exemption.request": [
                Subject({"audit_id": a.id}, frozenset({a.auditor_id}) & active) for a in audits
            ],
            "audit.reallocate": [
                Subject({"audit_id": a.id}, await holders(AUDIT_TEAM_ROLES, service_of_audit[a.id]))
                for a in audits
            ],
            "exemption.decide": [
                Subject(
                    {"request_id": r.id},
                    await holders((Role.HEAD_OF_SERVICE,), service_of_audit[r.audit_id]),
                )
                for r in await _all(session, ExemptionRequest)
            ],
            "kloe.decide": [
                Subject({"cycle_id": c.id, "role": str(role)}, await holders((role,), c.service_id))
                for c in cycles
                for role in APPROVERS
            ],
            "cycle.propose": [
                Subject({"service": s.code}, await holders(AUDIT_TEAM_ROLES, s.id))
                for s in services
            ],
        }


def _with_managers(people: set[Any], managers: dict[int, int | None]) -> set[int]:
    """The people and everyone above them in line management (a loop cannot hang it)."""
    found: set[int] = set()
    todo = list(people)
    while todo:
        person = todo.pop()
        if person in found:
            continue
        found.add(person)
        manager = managers.get(person)
        if manager is not None:
            todo.append(manager)
    return found


def offered_months(today: date) -> tuple[str, ...]:
    """The months the cycle form offers: the next MONTHS_AHEAD, as "YYYY-MM"."""
    index = today.year * 12 + today.month - 1
    return tuple(
        f"{(index + n) // 12:04d}-{(index + n) % 12 + 1:02d}" for n in range(1, MONTHS_AHEAD + 1)
    )


def _person(staff: Staff) -> Person:
    return Person(staff.id, staff.aad_object_id, staff.display_name, staff.active)


async def _all(session: Any, model: Any) -> list[Any]:
    return list((await session.scalars(select(model).order_by(model.id))).all())
