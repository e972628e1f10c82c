"""A person leaves: the staff import retires them (`active` no, or absent from a whole list
with --retire-absent), their open audit is offered to the Audit Team on a card that
reallocates it, messages queued for them are not sent, and their history stays."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage import repositories as repo
from storage.models import AuditEvent, OutboxMessage, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, open_demo_cycle, person, press
from tests.bot.test_messages import texts_in
from tests.bot.test_outbox import running_outbox
from tests.conftest import Database
from tests.harness import DEPLOYED, RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.states import AuditState

DEMO_STAFF = Path(__file__).resolve().parents[2] / "storage" / "demo" / "staff.csv"


def staff_file(tmp_path: Path, *, leaving: str, how: str) -> str:
    """The demo's staff list with one person leaving: marked `active` no, or left out."""
    rows = list(csv.DictReader(io.StringIO(DEMO_STAFF.read_text())))
    out = io.StringIO()
    writer = csv.DictWriter(out, [*rows[0].keys(), "active"])
    writer.writeheader()
    for row in rows:
        if row["upn"] == leaving and how == "absent":
            continue
        writer.writerow({**row, "active": "no" if row["upn"] == leaving else "yes"})
    path = tmp_path / "staff.csv"
    path.write_text(out.getvalue())
    return str(path)


async def _offers(db: Database, audit_id: int) -> list[OutboxMessage]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "leaver_reallocate")
        )
        return [m for m in rows if f":audit:{audit_id}:" in m.idempotency_key]


@pytest.fixture
def deployed_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The environment of the deployed bot, for the operator's commands beside it."""
    for name in ("AUDITBOT_DEMO", "AUDITBOT_APP_PASSWORD", "AUDITBOT_APP_CERT_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(f"AUDITBOT_{name.upper()}", value)
    monkeypatch.setenv("AUDITBOT_DATABASE_URL", db.url)
    return db


@pytest.fixture
async def quiet_bot(
    deployed_env: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    """The bot as deployed, its outbox left for the test to send (running_outbox)."""
    settings = bot_settings(deployed_env, identity, outbox_sender=False)
    server, running = await start_bot(settings, connector, identity)
    yield running
    await running.http.close()
    await server.close()


async def test_a_leaver_marked_in_the_import_has_their_audit_offered_and_reallocated(
    deployed_env: Database, quiet_bot: RunningBot, identity: IdentityStandIn, tmp_path, capsys
):
    db, teams_bot = deployed_env, quiet_bot
    audit = await open_demo_cycle(db)
    async with db.sessions() as session:
        leaver = await repo.get_staff(session, audit.auditor_id)
        queued = await repo.list_messages(session, recipient_id=leaver.id)
    assert queued  # their allocation notice, not yet sent

    path = staff_file(tmp_path, leaving=leaver.upn, how="active-no")
    assert await asyncio.to_thread(main, ["import", "staff", path]) == 0
    assert "1 left" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["import", "staff", path]) == 0  # again: nothing new
    assert "0 updated" in capsys.readouterr().out and len(await _offers(db, audit.id)) > 0

    async with db.sessions() as session:
        assert not (await repo.get_staff(session, leaver.id)).active
    audit_team = await person(db, AUDIT_TEAM)
    offers = await _offers(db, audit.id)
    assert audit_team.id in {m.recipient_id for m in offers}
    [offer] = [m for m in offers if m.recipient_id == audit_team.id]
    assert f"{leaver.display_name} has left" in texts_in(offer.payload["card"])

    # Someone else may not press it; the Audit Team may, once.
    refused = await press(teams_bot, leaver, "audit.reallocate", audit_id=audit.id)
    assert "You're no longer on auditbot's staff list" in texts_in(refused)
    done = await press(teams_bot, audit_team, "audit.reallocate", audit_id=audit.id)
    assert "Reallocated to" in texts_in(done)
    again = await press(teams_bot, audit_team, "audit.reallocate", audit_id=audit.id)
    assert "Already reallocated to" in texts_in(again)
    async with db.sessions() as session:
        old = await repo.get_audit(session, audit.id)
        new = await repo.successor_of(session, audit.id)
        history = await repo.list_events(session, "audit", audit.id)
    assert old.state is AuditState.REALLOCATED and old.auditor_id == leaver.id
    assert new.auditor_id != leaver.id and any(e.action == "allocated" for e in history)

    # Their notice, queued before they left, is not sent; the Audit Team hears why.
    async with running_outbox(db, teams_bot.connector, identity) as outbox:
        await outbox.drain()
    async with db.sessions() as session:
        theirs = await repo.list_messages(session, recipient_id=leaver.id)
    assert theirs and all(m.state.value == "unreachable" for m in theirs)
    assert not [s for s in teams_bot.connector.sent if leaver.aad_object_id in s.conversation_id]


async def test_retire_absent_retires_only_who_is_missing_from_a_whole_list(
    deployed_env: Database, tmp_path: Path, capsys
):
    db = deployed_env
    audit = await open_demo_cycle(db)
    async with db.sessions() as session:
        leaver = await repo.get_staff(session, audit.auditor_id)
    path = staff_file(tmp_path, leaving=leaver.upn, how="absent")

    assert (
        await asyncio.to_thread(main, ["import", "staff", path]) == 0
    )  # without the flag, absence changes nothing
    async with db.sessions() as session:
        assert (await repo.get_staff(session, leaver.id)).active
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["import", "staff", path, "--retire-absent"]) == 0
    assert "1 left" in capsys.readouterr().out
    async with db.sessions() as session:
        everyone = (await session.scalars(select(Staff))).all()
        trail = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "staff", AuditEvent.entity_id == leaver.id
            )
        )
        changes = [(e.before or {}).get("active") for e in trail if e.action == "updated"]
    assert [p.id for p in everyone if not p.active] == [leaver.id]
    assert changes == [True]
    assert await _offers(db, audit.id)

    bad = tmp_path / "bad.csv"
    bad.write_text("upn,display_name\nx@y.gov.uk,X\n")  # refused whole: nobody retired
    assert await asyncio.to_thread(main, ["import", "staff", str(bad), "--retire-absent"]) == 1
    async with db.sessions() as session:
        gone = await session.scalars(select(Staff.id).where(Staff.active.is_(False)))
        assert list(gone) == [leaver.id]


async def test_a_leaving_moderator_has_their_audits_given_another_moderator(
    deployed_env: Database, quiet_bot: RunningBot, tmp_path, capsys
):
    db, teams_bot = deployed_env, quiet_bot
    audit = await open_demo_cycle(db)
    async with db.sessions.begin() as session:
        row = await repo.get_audit(session, audit.id)
        assert row.moderator_id is not None
        leaver = await repo.get_staff(session, row.moderator_id)
        # The audit was accepted as complete and its moderation asked for, before they left.
        row.state = AuditState.SUBMITTED
        await repo.record_event(
            session, "system", "audit", audit.id, "moderation_requested", None,
            {"moderator_id": leaver.id, "version": row.version},
        )  # fmt: skip

    path = staff_file(tmp_path, leaving=leaver.upn, how="active-no")
    assert await asyncio.to_thread(main, ["import", "staff", path]) == 0
    assert "1 left" in capsys.readouterr().out
    audit_team = await person(db, AUDIT_TEAM)
    async with db.sessions() as session:
        offers = [
            m
            for m in await repo.list_messages(session, recipient_id=audit_team.id)
            if m.kind == "leaver_moderator"
        ]
    [offer] = [m for m in offers if f":moderate:{audit.id}:to:" in m.idempotency_key]
    assert f"{leaver.display_name} has left, and was to moderate" in texts_in(offer.payload["card"])

    refused = await press(teams_bot, leaver, "audit.replace_moderator", audit_id=audit.id)
    assert "You're no longer on auditbot's staff list" in texts_in(refused)
    outsider = await person(db, "samuel.adeyemi@demo-council.gov.uk")  # a Head of Service
    refused = await press(teams_bot, outsider, "audit.replace_moderator", audit_id=audit.id)
    assert "Only the Audit Team for this audit" in texts_in(refused), texts_in(refused)

    done = await press(teams_bot, audit_team, "audit.replace_moderator", audit_id=audit.id)
    async with db.sessions() as session:
        moved = await repo.get_audit(session, audit.id)
        chosen = await repo.get_staff(session, moved.moderator_id)
        asked = [
            m
            for m in await repo.list_messages(session, recipient_id=chosen.id)
            if m.kind == "moderation"
        ]
        trail = await repo.list_events(session, "audit", audit.id)
    assert chosen.id not in (leaver.id, moved.auditor_id) and chosen.active
    assert f"{chosen.display_name} moderates it now and has been sent the moderation form" in (
        texts_in(done)
    )
    assert len(asked) == 1
    [replaced] = [e for e in trail if e.action == "moderator_replaced"]
    assert replaced.before == {"moderator_id": leaver.id}
    assert replaced.actor_id == audit_team.id

    again = await press(teams_bot, audit_team, "audit.replace_moderator", audit_id=audit.id)
    assert f"{chosen.display_name} moderates it now; nothing to change" in texts_in(again)
    assert f"{leaver.display_name} has left" in texts_in(again)
    async with db.sessions() as session:
        assert (await repo.get_audit(session, audit.id)).moderator_id == chosen.id
