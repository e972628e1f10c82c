"""Retention: audits closed longer than AUDITBOT_RETENTION_DAYS lose what people wrote about
the case, the board's figures stay exactly as they were, the trail keeps every event (its
text redacted, each redaction recorded) and records the reduction; and `auditbot export
audit-trail` gives inspectors the trail, redactions included, as JSON lines or CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.cli import main
from storage import repositories as repo
from storage.enums import OutboxState
from storage.models import (
    Audit,
    AuditEvent,
    AuditEventRedaction,
    OutboxMessage,
    Recommendation,
    SectionGrade,
)
from storage.retention import REDUCED
from tests.bot.test_card_actions import AUDIT_TEAM, open_demo_cycle, person
from tests.bot.test_leavers_http import deployed_env  # noqa: F401
from tests.bot.test_outbox_processes import ROOT
from tests.bot.test_workspace_pages_http import graded_world, page
from tests.conftest import SQLITE_ONLY, Database
from tests.harness import RunningBot
from workflow.states import AuditState

WRITTEN = "Seen at home with her brother; the plan names the school"  # words about a case
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
LATER = "2030-06-03T09:00:00+00:00"  # long after the one-year period


async def reports(bot: RunningBot, db: Database, world) -> list[dict]:
    audit_team = await person(db, AUDIT_TEAM)
    return [
        await page(bot, audit_team, "reports", f"?service=EH&period={period}")
        for period in (
            f"cycle:{world.december[0].cycle_id}",
            f"cycle:{world.september[0].cycle_id}",
            "quarter:2026-Q4",
            "year:2026",
        )
    ]


async def tick(at: str) -> int:
    return await asyncio.to_thread(main, ["tick", "--job", "retention", "--at", at])


async def test_closed_audits_are_reduced_to_their_figures_and_the_trail_says_so(
    deployed_env: Database,  # noqa: F811
    teams_bot: RunningBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = deployed_env
    world = await graded_world(db)
    graded = [a.id for a in world.december[:4]]
    still_open = world.december[4].id
    async with db.sessions.begin() as session:
        for audit_id in [*graded, still_open]:
            audit = await repo.get_audit(session, audit_id)
            audit.draft = {
                "wizard": {
                    **(audit.draft or {}).get("wizard", {"step": "done", "answers": {}}),
                    "notes": WRITTEN,
                }
            }
            await repo.record_event(
                session, audit.auditor_id, "audit", audit_id, "section_saved", None,
                {"section": "planning_and_impact", "answers": {"analysis": WRITTEN},
                 "grade": "good"},
            )  # fmt: skip
            if audit_id != still_open:
                audit.state = AuditState.CLOSED
        await session.execute(
            update(SectionGrade).where(SectionGrade.audit_id.in_(graded)).values(rationale=WRITTEN)
        )
        await session.execute(update(Audit).values(updated_at=LONG_AGO))
        await session.execute(
            update(OutboxMessage).values(state=OutboxState.SENT, created_at=LONG_AGO)
        )
    figures = await reports(teams_bot, db, world)

    # Without a retention period nothing is reduced, however old.
    assert await tick(LATER) == 0
    assert "retention" not in capsys.readouterr().out

    monkeypatch.setenv("AUDITBOT_RETENTION_DAYS", "365")
    assert await tick("2026-06-01T09:00:00+00:00") == 0  # not yet a year
    assert capsys.readouterr().out.strip() == "retention: 0"
    assert await tick(LATER) == 0
    done = int(capsys.readouterr().out.strip().removeprefix("retention: "))
    assert done > len(graded)  # the audits, and the delivered messages

    # The board's figures are what they were: every section, every period.
    assert await reports(teams_bot, db, world) == figures

    async with db.sessions() as session:
        audits = {a.id: a for a in await session.scalars(select(Audit))}
        rationales = set(
            await session.scalars(
                select(SectionGrade.rationale).where(SectionGrade.audit_id.in_(graded))
            )
        )
        recommendations = {
            r.level.value: r.action
            for r in await session.scalars(
                select(Recommendation).where(Recommendation.audit_id.in_(graded))
            )
        }
        trail = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        redactions = list(await session.scalars(select(AuditEventRedaction)))
        messages = list(await session.scalars(select(OutboxMessage)))
    for audit_id in graded:
        assert audits[audit_id].reduced_at is not None
        assert WRITTEN not in json.dumps(audits[audit_id].draft)
        assert audits[audit_id].draft["wizard"]["step"] == "done"
        assert audits[audit_id].final_grade == world.december[graded.index(audit_id)].final_grade
    assert rationales == {REDUCED}
    assert recommendations == {"child": REDUCED, "service": "Refresh oversight guidance"}
    # The open audit is untouched: retention is for closed audits only.
    assert audits[still_open].reduced_at is None
    assert WRITTEN in json.dumps(audits[still_open].draft)

    theirs = [e for e in trail if e.entity == "audit" and e.entity_id in graded]
    assert not [e for e in theirs if WRITTEN in json.dumps([e.before, e.after])]
    saved = [e for e in theirs if e.action == "section_saved"]
    assert saved and all(e.after["grade"] == "good" for e in saved)  # values to count stay
    assert {r.event_id for r in redactions} >= {e.id for e in saved}
    assert all("retention" in r.reason and WRITTEN not in r.reason for r in redactions)
    reduced = [e for e in theirs if e.action == "reduced"]
    assert sorted(e.entity_id for e in reduced) == sorted(graded)
    assert all(e.after["retention_days"] == 365 and e.actor_label == "retention" for e in reduced)
    assert any(WRITTEN in json.dumps(e.after) for e in trail if e.entity_id == still_open)
    assert all(m.payload == {"reduced": True} and m.reduced_at for m in messages)

    # Again: nothing left to do, nothing written.
    count = len(trail)
    assert await tick(LATER) == 0
    assert capsys.readouterr().out.strip() == "retention: 0"
    async with db.sessions() as session:
        assert len((await session.scalars(select(AuditEvent.id))).all()) == count

    # An inspector's copy of one audit's trail: every event, its redactions, in order.
    audit_id = graded[0]
    out = tmp_path / "trail.jsonl"
    assert (
        await asyncio.to_thread(
            main, ["export", "audit-trail", "--audit", str(audit_id), "--output", str(out)]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert f"{len(rows)} events exported" in capsys.readouterr().err
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert {(r["entity"], r["entity_id"]) for r in rows} >= {("audit", audit_id)}
    assert "reduced" in [r["action"] for r in rows]
    assert any(r["redactions"] and "retention" in r["redactions"][0]["reason"] for r in rows)
    assert WRITTEN not in out.read_text()

    # The whole trail as CSV, to standard output; the exports are on the trail themselves.
    assert await asyncio.to_thread(main, ["export", "audit-trail", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    table = list(csv.DictReader(io.StringIO(captured.out)))
    assert len(table) == count + 1  # the first export is on the trail too
    assert {row["action"] for row in table} >= {"reduced", "exported"}
    assert all(json.loads(row["redactions"]) is not None for row in table)
    async with db.sessions() as session:
        exports = await repo.list_events(session, "trail", 0)
    assert [e.action for e in exports] == ["exported", "exported"]
    assert exports[0].after == {"audit_id": audit_id, "events": len(rows)}

    # --id needs --entity, and a bad date is refused by name.
    assert await asyncio.to_thread(main, ["export", "audit-trail", "--id", "3"]) == 2
    assert "--id needs --entity" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "audit-trail", "--since", "last tuesday"])
    assert "is not a date" in capsys.readouterr().err


@SQLITE_ONLY
async def test_an_export_piped_into_head_stops_quietly(db: Database):
    """`auditbot export audit-trail | head -1`: the reader leaves early; one line says so, no
    traceback, and the cut-off copy is not recorded as an export."""
    await open_demo_cycle(db)
    async with db.sessions.begin() as session:  # more trail than a pipe's buffer holds
        for number in range(2000):
            await repo.record_event(session, "demo", "staff", 1, "noted", None, {"n": number})
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}
    env.update(AUDITBOT_DEMO="true", AUDITBOT_DATABASE_URL=db.url, AUDITBOT_LOG_LEVEL="WARNING")
    command = (
        f"{shlex.quote(sys.executable)} -m bot.cli export audit-trail | head -1; "
        'echo "exit ${PIPESTATUS[0]}" >&2'
    )
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", command, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert json.loads(out.decode().splitlines()[0])["id"] == 1
    assert err.decode().splitlines() == [
        "export stopped: its output was closed before the end",
        "exit 1",
    ], err.decode()
    async with db.sessions() as session:
        assert not await repo.list_events(session, "trail", 0)
