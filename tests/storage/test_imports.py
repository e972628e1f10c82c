from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import repositories as repo
from storage.enums import CaseStatus, ServiceKind
from storage.imports import (
    ImportReport,
    RejectedRow,
    import_case_attributes,
    import_cases,
    import_staff,
)
from storage.models import AuditEvent, Case, Staff
from tests.conftest import Database
from tests.factories import create_service, create_staff, create_team
from workflow.roles import Role

HEADER = "aad_object_id,upn,display_name,email,roles,auditor_trained,line_manager_upn\n"
ANA = "0f8fad5b-d9cb-469f-a165-70867728950e"
BEN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CAT = "16fd2706-8baf-433b-82eb-8c7fada847da"
STAFF_CSV = HEADER + (
    f"{ANA},ana@council.gov.uk,Ana Auditor,ana@council.gov.uk,auditor@CSC;moderator@CSC,yes,"
    "cat@council.gov.uk\n"
    f"{BEN},ben@council.gov.uk,Ben Worker,,practitioner@CSC-T1,no,cat@council.gov.uk\n"
    f"{CAT},cat@council.gov.uk,Cat Manager,cat@council.gov.uk,team_manager@CSC-T1,no,\n"
)
CASES_HEADER = "case_ref,team_code,practitioner_upn,status,opened_on,involved_upns,plan\n"
CASES_CSV = CASES_HEADER + (
    "CSC/0001,CSC-T1,ben@council.gov.uk,open,2024-09-01,cat@council.gov.uk,CP\n"
    "CSC-0002,CSC-T1,ben@council.gov.uk,closed,2024-10-15,,\n"
)


ATTRIBUTES_CSV = "attribute,values,description\nplan,CP;CIN;CLA,The child's plan\n"


@pytest.fixture
async def organisation(db: Database) -> None:
    async with db.sessions.begin() as session:
        csc = await create_service(session, code="CSC", kind=ServiceKind.CHILDRENS_SOCIAL_CARE)
        await create_team(session, service=csc, code="CSC-T1")
        await create_team(session, service=csc, code="CSC-T2")


async def _import_staff(db: Database, source: str | Path) -> ImportReport:
    async with db.sessions.begin() as session:
        return await import_staff(session, source)


async def _import_cases(db: Database, source: str | Path) -> ImportReport:
    """Import the cases, the council having declared its `plan` attribute."""
    async with db.sessions.begin() as session:
        declared = await import_case_attributes(session, ATTRIBUTES_CSV)
        assert declared.rejected == []
        return await import_cases(session, source)


async def _count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_staff_import_creates_people_roles_and_line_managers(db: Database, organisation):
    report = await _import_staff(db, STAFF_CSV)
    assert report == ImportReport(created=3, updated=0, unchanged=0, rejected=[])
    async with db.sessions() as session:
        ana = await repo.get_staff_by_aad_id(session, ANA)
        ben = await repo.get_staff_by_upn(session, "ben@council.gov.uk")
        cat = await repo.get_staff_by_upn(session, "cat@council.gov.uk")
        assert ana is not None and ben is not None and cat is not None
        roles = [(h.role, h.scope_code) for h in await repo.roles_of(session, ana.id)]
        events = await repo.list_events(session, "staff", ana.id)
    assert ana.auditor_trained is True and ben.auditor_trained is False
    assert ana.line_manager_id == cat.id == ben.line_manager_id  # named before Cat's own row
    assert ben.email == "ben@council.gov.uk"
    assert roles == [(Role.AUDITOR, "CSC"), (Role.MODERATOR, "CSC")]
    assert [(e.action, e.actor_id, e.actor_label) for e in events] == [("created", None, "import")]
    assert events[0].after["roles"] == ["auditor@CSC", "moderator@CSC"]


async def test_importing_the_same_staff_file_twice_changes_nothing(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    report = await _import_staff(db, STAFF_CSV)
    assert report == ImportReport(created=0, updated=0, unchanged=3, rejected=[])
    assert await _count(db, Staff) == 3
    assert await _count(db, AuditEvent) == 3


async def test_a_changed_staff_row_is_updated_with_its_before_and_after(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    changed = STAFF_CSV.replace("Ben Worker,,practitioner@CSC-T1,no", "Ben Worker,,auditor@CSC,yes")
    report = await _import_staff(db, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    async with db.sessions() as session:
        ben = await repo.get_staff_by_aad_id(session, BEN)
        assert ben is not None
        roles = [(h.role, h.scope_code) for h in await repo.roles_of(session, ben.id)]
        *_, event = await repo.list_events(session, "staff", ben.id)
    assert roles == [(Role.AUDITOR, "CSC")]
    assert event.action == "updated"
    assert (event.before["roles"], event.after["roles"]) == (
        ["practitioner@CSC-T1"],
        ["auditor@CSC"],
    )
    assert (event.before["auditor_trained"], event.after["auditor_trained"]) == (False, True)


async def test_bad_staff_rows_are_rejected_by_row_number_while_good_rows_load(
    db: Database, organisation
):
    rows = [
        f"{ANA},ana@council.gov.uk,Ana,ana@council.gov.uk,auditor@CSC,yes,",  # row 2: good
        "not-a-guid,x@council.gov.uk,X,,auditor@CSC,no,",
        f"{BEN},ben@council.gov.uk,Ben,,wizard@CSC,no,",
        f"{CAT},cat@council.gov.uk,Cat,,auditor@NOWHERE,no,",
        f"{ANA},ana2@council.gov.uk,Ana Again,,auditor@CSC,no,",
        "11111111-1111-1111-1111-111111111111,dan@council.gov.uk,Dan,,,maybe,",
        "22222222-2222-2222-2222-222222222222,eve@council.gov.uk,Eve,,,no,nobody@council.gov.uk",
        "33333333-3333-3333-3333-333333333333,fay@council.gov.uk,Fay,,team_manager@csc-t2,n,",
    ]
    report = await _import_staff(db, HEADER + "\n".join(rows) + "\n")
    assert report.created == 2
    assert [r.row for r in report.rejected] == [3, 4, 5, 6, 7, 8]
    reasons = dict((r.row, r.reason) for r in report.rejected)
    assert "GUID" in reasons[3]
    assert "unknown role 'wizard'" in reasons[4]
    assert "unknown service or team code 'NOWHERE'" in reasons[5]
    assert "duplicate aad_object_id: already on row 2" in reasons[6]
    assert "auditor_trained must be yes or no" in reasons[7]
    assert "line_manager_upn is not a known staff member" in reasons[8]
    assert await _count(db, Staff) == 2


async def test_a_row_whose_line_manager_was_rejected_is_rejected_too(db: Database, organisation):
    rows = [
        f"{ANA},ana@council.gov.uk,Ana,,,no,boss@council.gov.uk",
        f"{BEN},boss@council.gov.uk,Boss,,,no,ghost@council.gov.uk",
    ]
    report = await _import_staff(db, HEADER + "\n".join(rows))
    assert [(r.row, r.reason) for r in report.rejected] == [
        (3, "line_manager_upn is not a known staff member"),
        (2, "line_manager_upn is not a known staff member"),
    ]
    assert report.created == 0


async def test_a_line_manager_may_already_be_in_the_database(db: Database, organisation):
    async with db.sessions.begin() as session:
        boss = await create_staff(session, upn="boss@council.gov.uk")
    report = await _import_staff(
        db, HEADER + f"{ANA},ana@council.gov.uk,Ana,,,no,BOSS@council.gov.uk"
    )
    async with db.sessions() as session:
        ana = await repo.get_staff_by_aad_id(session, ANA)
    assert report.created == 1 and ana is not None and ana.line_manager_id == boss.id


async def test_a_upn_belonging_to_someone_else_is_rejected(db: Database, organisation):
    async with db.sessions.begin() as session:
        await create_staff(session, upn="ana@council.gov.uk")
    report = await _import_staff(db, HEADER + f"{ANA},ana@council.gov.uk,Ana,,,no,")
    assert report.rejected == [RejectedRow(2, "upn already belongs to another staff member")]


async def test_a_staff_file_missing_a_column_is_rejected_whole(db: Database, organisation):
    without_roles = STAFF_CSV.replace(",roles", "").replace(",auditor@CSC;moderator@CSC", "")
    report = await _import_staff(db, without_roles)
    assert report.created == 0
    assert report.rejected == [
        RejectedRow(1, "missing required column(s): roles; nothing was loaded")
    ]
    assert await _count(db, Staff) == 0


async def test_staff_can_be_imported_from_a_file(db: Database, organisation, tmp_path: Path):
    path = tmp_path / "staff.csv"
    path.write_text(STAFF_CSV, encoding="utf-8-sig")  # as Excel saves it, with a BOM
    assert (await _import_staff(db, path)).created == 3
    assert (await _import_staff(db, str(path))).unchanged == 3


async def test_the_person_running_an_import_is_on_the_trail(db: Database, organisation):
    async with db.sessions.begin() as session:
        runner = await create_staff(session)
        await import_staff(session, STAFF_CSV, actor=runner)
    async with db.sessions() as session:
        events = list(await session.scalars(select(AuditEvent)))
    assert {(e.actor_id, e.actor_label) for e in events} == {(runner.id, "import")}


async def test_cases_import_loads_references_involvement_and_attributes(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    report = await _import_cases(db, CASES_CSV)
    assert report == ImportReport(created=2, updated=0, unchanged=0, rejected=[])
    async with db.sessions() as session:
        case = await repo.get_case_by_ref(session, "CSC/0001")
        closed = await repo.get_case_by_ref(session, "CSC-0002")
        cat = await repo.get_staff_by_upn(session, "cat@council.gov.uk")
        assert case is not None and closed is not None and cat is not None
        involved = await repo.list_involvements(session, case.id)
        (event,) = await repo.list_events(session, "case", case.id)
    assert case.attributes == {"plan": "CP"} and closed.attributes == {}
    assert (case.status, case.opened_on) == (CaseStatus.OPEN, date(2024, 9, 1))
    assert closed.status is CaseStatus.CLOSED
    assert involved == [cat.id]
    assert (event.action, event.actor_label) == ("created", "import")


async def test_importing_the_same_cases_twice_changes_nothing(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    await _import_cases(db, CASES_CSV)
    report = await _import_cases(db, CASES_CSV)
    assert report == ImportReport(created=0, updated=0, unchanged=2, rejected=[])
    assert await _count(db, Case) == 2


async def test_a_changed_case_row_is_updated(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    await _import_cases(db, CASES_CSV)
    changed = CASES_CSV.replace("open,2024-09-01,cat@council.gov.uk,CP", "closed,2024-09-01,,CIN")
    report = await _import_cases(db, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    async with db.sessions() as session:
        case = await repo.get_case_by_ref(session, "CSC/0001")
        assert case is not None
        *_, event = await repo.list_events(session, "case", case.id)
        assert await repo.list_involvements(session, case.id) == []
    assert (case.status, case.attributes) == (CaseStatus.CLOSED, {"plan": "CIN"})
    assert event.before["status"] == "open" and event.after["status"] == "closed"


async def test_bad_case_rows_are_rejected_by_row_number_while_good_rows_load(
    db: Database, organisation
):
    await _import_staff(db, STAFF_CSV)
    rows = [
        "CSC/0001,CSC-T1,ben@council.gov.uk,open,2024-09-01,,",  # row 2: good
        ",CSC-T1,ben@council.gov.uk,open,2024-09-01,,",
        "Jane Smith 2014,CSC-T1,ben@council.gov.uk,open,2024-09-01,,",
        "JaneSmith,CSC-T1,ben@council.gov.uk,open,2024-09-01,,",
        "CSC/0003,NOPE,ben@council.gov.uk,open,2024-09-01,,",
        "CSC/0004,CSC-T1,zed@council.gov.uk,open,2024-09-01,,",
        "CSC/0005,CSC-T1,ben@council.gov.uk,open,01/09/2024,,",
        "CSC/0006,CSC-T1,ben@council.gov.uk,open,2024-02-30,,",
        "CSC/0001,CSC-T1,ben@council.gov.uk,open,2024-09-01,,",
        "CSC/0007,CSC-T1,ben@council.gov.uk,pending,2024-09-01,,",
        "CSC/0008,CSC-T1,ben@council.gov.uk,open,2024-09-01,ghost@council.gov.uk,",
    ]
    report = await _import_cases(db, CASES_HEADER + "\n".join(rows))
    assert report.created == 1
    reasons = {r.row: r.reason for r in report.rejected}
    assert sorted(reasons) == list(range(3, 13))
    assert reasons[3] == "case_ref is empty"
    assert "never a child's name" in reasons[4] and "no spaces" in reasons[4]
    assert "never a child's name" in reasons[5]
    assert "Jane" not in reasons[4] + reasons[5]  # a refused reference is never echoed
    assert "unknown team code 'NOPE'" in reasons[6]
    assert "zed@council.gov.uk is not a known staff member" in reasons[7]
    assert "YYYY-MM-DD" in reasons[8]
    assert "not a real date" in reasons[9]
    assert reasons[10] == "duplicate case_ref: already on row 2"
    assert "open or closed" in reasons[11]
    assert "ghost@council.gov.uk is not a known staff member" in reasons[12]


async def test_a_cases_file_missing_a_column_is_rejected_whole(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    report = await _import_cases(db, CASES_CSV.replace("opened_on,", "", 1))
    assert report.rejected == [
        RejectedRow(1, "missing required column(s): opened_on; nothing was loaded")
    ]
    assert await _count(db, Case) == 0


@pytest.mark.parametrize("column", ["child_name", "Child Name", "young_person", "family", "DOB"])
async def test_a_cases_file_with_a_column_nobody_declared_is_refused_whole(
    db: Database, organisation, column: str
):
    await _import_staff(db, STAFF_CSV)
    text = CASES_CSV.replace(",plan\n", f",plan,{column}\n")
    text = text.replace(",CP\n", ",CP,Jane Smith\n").replace(",,\n", ",,Jane Smith\n")
    report = await _import_cases(db, text)
    [rejected] = report.rejected
    assert rejected.row == 1
    assert rejected.reason == (
        f"column(s) {column.lower()!r} are neither cases columns nor declared case attributes "
        "(declared: plan); remove them, or declare them with auditbot import case-attributes; "
        "nothing was loaded"
    )
    assert await _count(db, Case) == 0
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).where(AuditEvent.entity == "case")) == 0


async def test_a_value_outside_a_declared_attributes_values_refuses_its_row_unechoed(
    db: Database, organisation
):
    await _import_staff(db, STAFF_CSV)
    report = await _import_cases(db, CASES_CSV.replace(",CP\n", ",Jane Smith\n"))
    [rejected] = report.rejected
    assert rejected == RejectedRow(
        2, "plan must be one of CIN, CLA, CP (the value given is not repeated here)"
    )
    assert report.created == 1
    async with db.sessions() as session:
        assert await repo.get_case_by_ref(session, "CSC/0001") is None


async def test_without_a_declaration_a_cases_file_may_carry_no_attributes(db: Database):
    async with db.sessions.begin() as session:
        csc = await create_service(session, code="CSC", kind=ServiceKind.CHILDRENS_SOCIAL_CARE)
        await create_team(session, service=csc, code="CSC-T1")
    await _import_staff(db, STAFF_CSV)
    async with db.sessions.begin() as session:
        report = await import_cases(session, CASES_CSV)
    assert "(declared: none)" in report.rejected[0].reason
    assert await _count(db, Case) == 0


async def test_a_row_with_more_values_than_columns_is_rejected(db: Database, organisation):
    await _import_staff(db, STAFF_CSV)
    extra = CASES_HEADER + "CSC/0009,CSC-T1,ben@council.gov.uk,open,2024-09-01,,CP,spare\n"
    report = await _import_cases(db, extra)
    assert report.rejected == [RejectedRow(2, "8 values but only 7 columns")]
