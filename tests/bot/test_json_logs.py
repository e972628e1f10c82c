"""An operator's log: `auditbot serve` with AUDITBOT_LOG_FORMAT=json writes one JSON object a
line, each carrying the ids of what it was handling (request, activity, audit, outbox messages)
and none of the content: no answer typed into a card, no card text, no one's name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.models import OutboxMessage, Staff
from tests.bot.test_outbox_processes import Service
from tests.cluster import NOW, build_council, open_a_cycle
from tests.conftest import Database
from tests.harness import APP_ID, TENANT_ID
from tests.presses import ANSWER, start_audits
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn


async def test_json_logs_carry_ids_and_no_content(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn, tmp_path: Path
):
    code = await build_council(db.url, auditors=3, cases=6)
    audits = await open_a_cycle(db.url, code, 3)
    service = await Service.start(
        db, connector, identity, tmp_path, "json", log_format="json", log_level="INFO"
    )
    try:
        url = await service.url()
        token = identity.issue_token(audience=APP_ID, service_url=connector.url)
        await start_audits(
            url,
            token,
            audits,
            service_url=connector.url,
            tenant=TENANT_ID,
            app_id=APP_ID,
            today=NOW.date(),
        )
        queued = await _count(db)
        await connector.wait_until(lambda: len(connector.sent) >= queued, timeout=60)
    finally:
        await service.stop()

    lines = service.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert all({"time", "level", "logger", "pid", "message"} <= set(r) for r in records)

    started = [r for r in records if r["message"].endswith(" started")]
    assert sorted(r["audit_id"] for r in started) == sorted(a for _, a, _ in audits)
    assert all(r["request_id"].startswith("req-") and r["activity_id"] for r in started)
    assert all(r["verb"] == "audit.start" for r in started)
    chats = [r for r in records if r["message"].startswith("created the 1:1 chat")]
    assert chats and all(r["outbox_ids"] for r in chats)

    said = "\n".join(lines)
    assert ANSWER not in said
    for text in await _contents(db):
        assert text not in said, text


async def _count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count(OutboxMessage.id))) or 0)


async def _contents(db: Database) -> set[str]:
    """What people read: every text on the cards queued, and everyone's name."""
    async with db.sessions() as session:
        payloads = (await session.scalars(select(OutboxMessage.payload))).all()
        names = (await session.scalars(select(Staff.display_name))).all()
    found: set[str] = set(names)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str) and len(value) > 12:
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([p.get("card") for p in payloads])
    return found
