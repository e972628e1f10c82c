"""The council declares which case attributes thematic audits may select by: the file is the
whole declaration, loaded whole or not at all, every change on the trail."""

from __future__ import annotations

from storage import repositories as repo
from storage.imports import ImportReport, RejectedRow, import_case_attributes
from tests.conftest import Database

HEADER = "attribute,values,description\n"
GOOD = HEADER + "plan,CP;CIN;CLA,The child's plan\ndisability,,Whether recorded\n"


async def declare(db: Database, text: str) -> ImportReport:
    async with db.sessions.begin() as session:
        return await import_case_attributes(session, text)


async def test_a_declaration_is_loaded_then_left_unchanged(db: Database):
    first = await declare(db, GOOD)
    second = await declare(db, GOOD)

    assert first == ImportReport(created=2)
    assert second == ImportReport(unchanged=2)
    async with db.sessions() as session:
        declared = await repo.declared_case_attributes(session)
    assert declared.names == ["disability", "plan"]
    assert declared.attributes["plan"].values == frozenset({"CP", "CIN", "CLA"})
    assert declared.attributes["disability"].values is None  # any value
    assert declared.allows("plan", "CP") and not declared.allows("plan", "Jane Smith")


async def test_an_attribute_left_out_is_no_longer_declared_and_that_is_recorded(db: Database):
    await declare(db, GOOD)

    report = await declare(db, HEADER + "plan,CP;CIN,The child's plan\n")

    assert (report.updated, report.removed, report.summary()) == (
        1,
        1,
        "0 created, 1 updated, 0 unchanged, 1 removed, 0 rejected",
    )
    async with db.sessions() as session:
        declared = await repo.declared_case_attributes(session)
        events = [e.action for e in await repo.list_events(session, "case_attribute", 2)]
    assert declared.names == ["plan"]
    assert events == ["created", "undeclared"]


async def test_a_file_with_a_bad_row_changes_nothing(db: Database):
    await declare(db, GOOD)
    rows = [
        "Child Name,,",  # row 2
        "case_ref,,",
        "plan,CP;CP,",
        "legal_status,S20,",  # row 5: good, but not loaded with the rest refused
        "legal_status,S31,",
        f"outcome,{'x' * 65},",
    ]

    report = await declare(db, HEADER + "\n".join(rows) + "\n")

    reasons = {r.row: r.reason for r in report.rejected}
    assert "lower-case letters, digits and underscores" in reasons[2]
    assert reasons[3] == "case_ref is already a column of the cases file"
    assert reasons[4] == "a value is listed twice"
    assert reasons[6] == "legal_status is declared twice"
    assert reasons[7] == "each value must be at most 64 characters"
    assert report.rejected[-1] == RejectedRow(
        1, "the declaration is loaded whole or not at all: nothing was loaded"
    )
    async with db.sessions() as session:
        assert (await repo.declared_case_attributes(session)).names == ["disability", "plan"]
