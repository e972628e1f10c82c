"""Purging case attributes nobody declared, stored before declarations existed: from the
cases, the audit trail, the cycles that selected by them and the cards that showed them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from dialogs.notify import tell
from storage import repositories as repo
from storage.imports import import_case_attributes
from storage.models import AuditEvent
from storage.purge import PURGED, find_undeclared, purge_undeclared
from tests.conftest import Database
from tests.factories import create_case, create_cycle, create_staff

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
NAME = "Jane Smith"
TABLES = ("cases", "audit_events", "cycles", "outbox")


async def stored_before_declarations(db: Database) -> dict[str, int]:
    """What an import and a thematic proposal stored before attributes were declared."""
    async with db.sessions.begin() as session:
        await import_case_attributes(session, "attribute,values,description\nplan,CP;CIN,\n")
        case = await create_case(
            session, attributes={"plan": "CP", "young_person": NAME, "family": "Smith"}
        )
        clean = await create_case(session, attributes={"plan": "CIN"})
        await repo.record_event(
            session, "import", "case", case.id, "created", None, repo.snapshot(case)
        )
        cycle = await create_cycle(session)
        cycle.selection_plan = {"seed": 1, "total": 3, "criteria": {"young_person": NAME}}
        cycle.selection_explanation = f"1 of 2 open cases where young_person is {NAME}."
        await repo.record_event(
            session, "cli", "cycle", cycle.id, "proposed", None, repo.snapshot(cycle)
        )
        approver = await create_staff(session)
        card = {"type": "AdaptiveCard", "body": [{"text": f"Thematic: young_person = {NAME}"}]}
        await tell(session, approver.id, "kloe_approval", "kloe:1", summary="KLOEs", card=card)
    return {"case": case.id, "clean": clean.id, "cycle": cycle.id}


async def mentions(db: Database, needle: str) -> dict[str, int]:
    """Rows of each table whose stored text contains `needle`, by table."""
    found = {}
    async with db.engine.connect() as connection:
        for table in TABLES:
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            found[table] = sum(1 for row in rows if needle in repr(tuple(row)))
    return found


async def test_finding_names_attributes_and_counts_and_changes_nothing(db: Database):
    await stored_before_declarations(db)

    async with db.sessions() as session:
        findings = await find_undeclared(session)

    assert dict(findings.cases) == {"family": 1, "young_person": 1}
    assert (findings.case_events, findings.cycle_events, findings.messages) == (1, 1, 1)
    assert list(findings.cycles.values()) == [["young_person"]]
    shown = "\n".join(findings.lines())
    assert NAME not in shown and "Smith" not in shown
    assert await mentions(db, NAME) == {"cases": 1, "audit_events": 2, "cycles": 1, "outbox": 1}


async def test_purging_removes_them_everywhere_and_leaves_one_trail_row(db: Database):
    ids = await stored_before_declarations(db)

    async with db.sessions.begin() as session:
        purged = await purge_undeclared(session, "cli", NOW)

    assert dict(purged.cases) == {"family": 1, "young_person": 1}
    assert await mentions(db, NAME) == dict.fromkeys(TABLES, 0)
    assert (await mentions(db, "Smith"))["cases"] == 0
    async with db.sessions() as session:
        case = await repo.get_case(session, ids["case"])
        clean = await repo.get_case(session, ids["clean"])
        assert case is not None and clean is not None
        assert (case.attributes, clean.attributes) == ({"plan": "CP"}, {"plan": "CIN"})
        [created] = await repo.list_events(session, "case", ids["case"])
        assert created.after["attributes"] == {
            "plan": "CP",
            "young_person": PURGED,
            "family": PURGED,
        }
        cycle = await repo.get_cycle(session, ids["cycle"])
        assert cycle is not None
        assert cycle.selection_plan["criteria"] == {"young_person": PURGED}
        record = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "undeclared_purged")
        )
        assert record is not None and record.actor_label == "cli"
        assert record.after == {
            "attributes": ["family", "young_person"],
            "cases": 1,
            "case_events": 1,
            "cycles": [ids["cycle"]],
            "cycle_events": 1,
            "messages": 1,
        }
        redactions = await session.scalar(text("SELECT count(*) FROM audit_event_redactions"))
        assert redactions == 2
        assert (await find_undeclared(session)).empty


async def test_a_purge_with_nothing_to_purge_records_nothing(db: Database):
    async with db.sessions.begin() as session:
        await import_case_attributes(session, "attribute,values,description\nplan,CP,\n")
        await create_case(session, attributes={"plan": "CP"}, opened_on=date(2026, 1, 5))
        before = len(list(await session.scalars(select(AuditEvent))))
        purged = await purge_undeclared(session, "cli", NOW)
        after = len(list(await session.scalars(select(AuditEvent))))
    assert purged.empty and before == after
