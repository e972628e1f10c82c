"""`auditbot sync entra`: staff, roles and leavers from Microsoft Entra ID, read through the
real msgraph-sdk from the Graph stand-in (delta queries, paging, throttling), run as an
operator runs it: the CLI beside the deployed bot.

The council here moves from the demo's staff CSV to Entra: its tenant holds the same
people, in one group per role, so a first sync changes nothing; then people join, move,
leave and come back in Entra, and each sync brings auditbot in line.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage import repositories as repo
from storage.models import (
    AuditEvent,
    EntraMembership,
    EntraSyncState,
    OutboxMessage,
    RoleAssignment,
    Service,
    Staff,
    Team,
)
from tests.bot.test_card_actions import open_demo_cycle
from tests.bot.test_leavers_http import DEMO_STAFF, _offers, deployed_env  # noqa: F401
from tests.conftest import Database
from tests.standins.graph import GraphStandIn
from tests.standins.identity import IdentityStandIn

GRAPH_RESOURCE = "http://127.0.0.1"  # what the stand-in's scope names (its host)


class Tenant:
    """The council's Entra tenant, mirroring the demo staff: a group per role@scope."""

    def __init__(self, graph: GraphStandIn) -> None:
        self.directory = graph.directory
        self.groups: dict[str, str] = {}  # role@scope -> group id
        self.people: dict[str, str] = {}  # upn -> object id
        rows = list(csv.DictReader(DEMO_STAFF.open()))
        ids = {row["upn"]: row["aad_object_id"] for row in rows}
        self.trained = self.directory.add_group("Trained auditors")
        for row in rows:
            user = self.directory.add_user(
                row["upn"],
                row["display_name"],
                mail=row["email"],
                manager=ids.get(row["line_manager_upn"]),
                user_id=row["aad_object_id"],
            )
            self.people[row["upn"]] = user
            for grant in row["roles"].split(";"):
                self.join(grant, user)
            if row["auditor_trained"] == "yes":
                self.directory.add_member(self.trained, user)
        # Someone who works for the council but not in children's services audits.
        self.directory.add_user("finance.officer@demo-council.gov.uk", "Finance Officer")

    def group(self, grant: str) -> str:
        if grant not in self.groups:
            self.groups[grant] = self.directory.add_group(f"auditbot {grant}")
        return self.groups[grant]

    def join(self, grant: str, user: str) -> None:
        self.directory.add_member(self.group(grant), user)

    def leave(self, grant: str, user: str) -> None:
        self.directory.remove_member(self.group(grant), user)

    def mapping(self, path: Path) -> Path:
        tables = [
            f'[[group]]\nid = "{group}"\nname = "auditbot {grant}"\nroles = ["{grant}"]\n'
            for grant, group in self.groups.items()
        ]
        tables.append(
            f'[[group]]\nid = "{self.trained}"\nname = "Trained auditors"\nauditor_trained = true\n'
        )
        path.write_text("# Which Entra groups make whom what in auditbot\n\n" + "\n".join(tables))
        return path


@pytest.fixture
async def graph(
    deployed_env: Database,  # noqa: F811 (the fixture, imported)
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[GraphStandIn]:
    async with GraphStandIn() as stand_in:
        for name, value in stand_in.settings().items():
            monkeypatch.setenv(f"AUDITBOT_{name.upper()}", value)
        monkeypatch.setenv("AUDITBOT_GRAPH_RETRY_BACKOFF_SECONDS", "0.01")
        yield stand_in


async def sync(*args: str) -> int:
    return await asyncio.to_thread(main, ["sync", "entra", *args])


async def writes(db: Database) -> dict[str, object]:
    """What a sync could write, besides its delta links."""
    async with db.sessions() as session:
        return {
            "events": await session.scalar(select(func.count()).select_from(AuditEvent)),
            "outbox": await session.scalar(select(func.count()).select_from(OutboxMessage)),
            "staff": await session.scalar(select(func.max(Staff.updated_at))),
            "roles": sorted(await session.scalars(select(RoleAssignment.id))),
            "members": await session.scalar(select(func.count()).select_from(EntraMembership)),
        }


async def staff_named(db: Database, upn: str) -> Staff | None:
    async with db.sessions() as session:
        return await session.scalar(select(Staff).where(Staff.upn == upn))


async def roles_of(db: Database, staff_id: int) -> set[str]:
    """role@SCOPE for each role the person holds, as the staff CSV writes them."""
    query = (
        select(RoleAssignment.role, Team.code, Service.code)
        .join(Service, Service.id == RoleAssignment.service_id)
        .outerjoin(Team, Team.id == RoleAssignment.team_id)
        .where(RoleAssignment.staff_id == staff_id)
    )
    async with db.sessions() as session:
        return {
            f"{role.value}@{team or service}"
            for role, team, service in await session.execute(query)
        }


async def test_joiners_movers_and_leavers_follow_entra(
    deployed_env: Database,  # noqa: F811
    graph: GraphStandIn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = deployed_env
    audit = await open_demo_cycle(db)  # the demo staff, loaded from CSV, with an open audit
    tenant = Tenant(graph)
    mapping = str(tenant.mapping(tmp_path / "entra.toml"))
    graph.directory.page_size = 4  # every feed spans several pages

    # A dry run reads everything and saves nothing, not even where it got to.
    assert await sync("--mapping", mapping, "--dry-run") == 0
    assert "dry run, nothing saved" in capsys.readouterr().out
    async with db.sessions() as session:
        assert not (await session.scalars(select(EntraSyncState))).all()

    # The first sync reads the whole tenant, and the tenant says what the CSV said.
    before = await writes(db)
    assert await sync("--mapping", mapping) == 0
    out = capsys.readouterr().out
    assert "read in full" in out and "0 joined, 0 updated" in out, out
    after = await writes(db)
    assert {k: v for k, v in after.items() if k != "members"} == {
        k: v for k, v in before.items() if k != "members"
    }
    assert after["members"] > 0

    # A second sync with nothing changed reads from the delta links and writes nothing.
    links = {row.feed: row.delta_link for row in await _links(db)}
    assert await sync("--mapping", mapping) == 0
    out = capsys.readouterr().out
    assert "changes read: 0 users, 0 group memberships" in out and "0 updated" in out, out
    assert await writes(db) == after
    assert set(links.values()) <= set(graph.directory.delta_links_used)

    # The auditor's account is disabled: they leave, and their open audit is offered on.
    async with db.sessions() as session:
        auditor = await repo.get_staff(session, audit.auditor_id)
    graph.directory.update_user(auditor.aad_object_id, accountEnabled=False)
    assert await sync("--mapping", mapping) == 0
    assert "1 left" in capsys.readouterr().out
    assert not (await staff_named(db, auditor.upn)).active
    assert await _offers(db, audit.id)
    assert await roles_of(db, auditor.id)  # their history (and roles held) stay

    # A joiner, a mover, someone deleted, a new manager; and Graph throttles a page.
    practitioners = [
        row for row in csv.DictReader(DEMO_STAFF.open()) if row["roles"] == "practitioner@EH-NORTH"
    ]
    mover, deleted = practitioners[0], practitioners[1]
    manager = tenant.people[mover["line_manager_upn"]]
    joiner = graph.directory.add_user(
        "new.starter@demo-council.gov.uk", "New Starter", manager=manager
    )
    tenant.join("practitioner@EH-NORTH", joiner)
    tenant.leave("practitioner@EH-NORTH", mover["aad_object_id"])
    tenant.join("practitioner@EH-SOUTH", mover["aad_object_id"])
    graph.directory.delete_user(deleted["aad_object_id"])
    graph.directory.update_user(mover["aad_object_id"], displayName="Moved Person", manager=None)
    graph.throttle_next(1, retry_after=0)
    calls = graph.calls["groupsDelta"] + graph.calls["usersDelta"]
    assert await sync("--mapping", mapping) == 0
    out = capsys.readouterr().out
    assert "1 joined" in out and "1 left" in out, out
    assert graph.calls["groupsDelta"] + graph.calls["usersDelta"] > calls + 2  # one was a 429

    new = await staff_named(db, "new.starter@demo-council.gov.uk")
    assert new is not None and new.active and new.display_name == "New Starter"
    assert new.line_manager_id == (await staff_named(db, mover["line_manager_upn"])).id
    moved = await staff_named(db, mover["upn"])
    assert await roles_of(db, moved.id) == {"practitioner@EH-SOUTH"}
    assert moved.display_name == "Moved Person" and moved.line_manager_id is None
    assert not (await staff_named(db, deleted["upn"])).active
    async with db.sessions() as session:
        trail = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity == "staff", AuditEvent.entity_id == moved.id
                )
            )
        ).all()
    [change] = [e for e in trail if e.action == "updated"]
    assert change.before["roles"] == ["practitioner@EH-NORTH"]
    assert change.after["roles"] == ["practitioner@EH-SOUTH"]
    assert change.actor_label == "entra"

    # The disabled auditor's account is enabled again: they come back.
    graph.directory.update_user(auditor.aad_object_id, accountEnabled=True)
    assert await sync("--mapping", mapping) == 0
    assert "1 back" in capsys.readouterr().out
    assert (await staff_named(db, auditor.upn)).active

    # Graph forgets the delta links (seven days without a sync): a full round, no changes.
    graph.directory.expire_delta_links()
    settled = await writes(db)
    assert await sync("--mapping", mapping) == 0
    out = capsys.readouterr().out
    assert "read in full" in out and "0 joined, 0 updated" in out and "left" not in out, out
    assert {k: v for k, v in (await writes(db)).items() if k != "members"} == {
        k: v for k, v in settled.items() if k != "members"
    }


async def _links(db: Database) -> list[EntraSyncState]:
    async with db.sessions() as session:
        return list(await session.scalars(select(EntraSyncState)))


async def test_a_wrong_mapping_is_refused_and_changes_nothing(
    deployed_env: Database,  # noqa: F811
    graph: GraphStandIn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = deployed_env
    await open_demo_cycle(db)
    tenant = Tenant(graph)
    good = tenant.mapping(tmp_path / "entra.toml").read_text()
    before = await writes(db)

    def refused(text: str, why: str) -> None:
        err = capsys.readouterr().err  # log lines may come first: the refusal is the last
        assert err.splitlines()[-1].startswith("auditbot: cannot sync:") and why in err, (
            text,
            err,
        )

    bad = tmp_path / "bad.toml"
    cases = {
        good.replace(
            '["practitioner@EH-NORTH"]', '["practitioner@EH-NORHT"]'
        ): "unknown service or team code 'EH-NORHT'",
        good.replace('roles = ["auditor@EH"]', 'roles = ["auditer@EH"]'): "unknown role",
        good + '\n[[group]]\nid = "not-a-guid"\nroles = ["auditor@EH"]\n': "a GUID",
        good + "\n[[group]]\nid = " + good.split("id = ")[1].split("\n")[0] + "\nroles = []\n": (
            "give it roles"
        ),
        good.replace("[[group]]", "[[groups]]", 1): "unknown keys: groups",
        good + f'\n[[group]]\nid = "{"0" * 8}-0000-4000-8000-{"0" * 12}"\nname = "Typo"\n'
        'roles = ["auditor@EH"]\n': "group Typo (00000000-0000-4000-8000-000000000000) is not "
        "in Entra ID",
    }
    for text, why in cases.items():
        bad.write_text(text)
        assert await sync("--mapping", str(bad)) == 2
        refused(text, why)

    # A mapping whose groups are (wrongly) empty would retire almost everyone: refused.
    empty = graph.directory.add_group("An empty group")
    bad.write_text(f'[[group]]\nid = "{empty}"\nroles = ["auditor@EH"]\n')
    assert await sync("--mapping", str(bad)) == 2
    refused("empty", "would retire")
    assert await writes(db) == before
    async with db.sessions() as session:
        assert not (await session.scalars(select(EntraSyncState))).all()

    # Graph refusing for want of permissions says which.
    graph.fail_next(403)
    assert await sync("--mapping", str(tenant.mapping(tmp_path / "entra.toml"))) == 2
    err = capsys.readouterr().err
    assert "cannot read Entra ID" in err and "GroupMember.Read.All" in err, err
    assert await writes(db) == before


async def test_the_managed_identity_reads_entra_with_no_secret(
    deployed_env: Database,  # noqa: F811
    graph: GraphStandIn,
    identity: IdentityStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = deployed_env
    await open_demo_cycle(db)
    tenant = Tenant(graph)
    for name in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "AUTHORITY_HOST", "CA_FILE"):
        monkeypatch.delenv(f"AUDITBOT_GRAPH_{name}")
    monkeypatch.setenv("AUDITBOT_GRAPH_MANAGED_IDENTITY", "true")
    identity.resources.add(GRAPH_RESOURCE)
    graph.trust(lambda token: token in identity.issued_for.get(GRAPH_RESOURCE, []))
    asked = identity.token_requests

    assert await sync("--mapping", str(tenant.mapping(tmp_path / "entra.toml"))) == 0
    assert "0 joined, 0 updated" in capsys.readouterr().out
    assert identity.token_requests > asked and graph.calls["token"] == 0
    assert {row.feed for row in await _links(db)} >= {"users"}
