"""Import cases from the council's CSV, keyed by case reference.

A case is a reference and who holds the work. Nothing here may carry a
child's name or details: references are checked against a strict pattern,
and a refused reference is never echoed back or logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import CaseStatus
from storage.imports.common import (
    ImportReport,
    Row,
    RowError,
    count_and_record,
    parse_date,
    parse_upn,
    read_rows,
    split_list,
)
from storage.models import Case, CaseInvolvement, Staff, Team
from storage.repositories.events import Actor, snapshot

log = logging.getLogger(__name__)

COLUMNS = ("case_ref", "team_code", "practitioner_upn", "status", "opened_on", "involved_upns")
CASE_REF = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9/-]{0,63}$")
CASE_REF_RULE = (
    "case_ref must be a case reference: letters, digits, hyphens or slashes, "
    "with at least one digit and no spaces (never a child's name)"
)
# Columns that would bring a child's details into the bot; such a file is refused.
PERSONAL_COLUMNS = frozenset(
    "name child_name first_name forename last_name surname full_name "
    "dob date_of_birth birth_date address postcode nhs_number".split()
)
CASE_FIELDS = ("case_ref", "team_id", "practitioner_id", "status", "opened_on", "attributes")


@dataclass
class CaseRow:
    number: int
    fields: dict[str, Any]
    involved: frozenset[int]


@dataclass
class Directory:
    """The teams and staff a cases file may name."""

    teams: dict[str, int]  # upper-cased code -> id
    staff: dict[str, int]  # upn -> id


async def import_cases(
    session: AsyncSession, source: str | Path, actor: Actor = "import"
) -> ImportReport:
    """Create or update cases from CSV text or a file; never commits.

    Columns: case_ref, team_code, practitioner_upn, status (open/closed),
    opened_on (YYYY-MM-DD), involved_upns (semicolon-separated); any other
    column becomes a case attribute for thematic selection (e.g. plan=CP);
    a column named like personal details (name, dob, address...) refuses the file.
    Staff and teams must be loaded first. Bad rows are reported and skipped.
    """
    report = ImportReport()
    rows = read_rows(source, COLUMNS, report, refused=PERSONAL_COLUMNS)
    directory = await _load_directory(session, rows)
    parsed = _parse_rows(rows, directory, report)
    await _load(session, parsed, actor, report)
    log.info(
        "case import: created=%d updated=%d unchanged=%d rejected=%d",
        report.created,
        report.updated,
        report.unchanged,
        len(report.rejected),
    )
    return report


async def _load_directory(session: AsyncSession, rows: list[Row]) -> Directory:
    upns = set()
    for _, values in rows:
        upns.add(values["practitioner_upn"].lower())
        upns.update(upn.lower() for upn in split_list(values["involved_upns"]))
    teams = await session.execute(select(Team.code, Team.id))
    staff = await session.execute(select(Staff.upn, Staff.id).where(Staff.upn.in_(upns)))
    return Directory(
        teams={code.upper(): team_id for code, team_id in teams},
        staff={upn: staff_id for upn, staff_id in staff},
    )


def _parse_rows(rows: list[Row], directory: Directory, report: ImportReport) -> list[CaseRow]:
    parsed: list[CaseRow] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        try:
            row = _parse_row(number, values, directory)
            first = seen.get(row.fields["case_ref"])
            if first is not None:
                raise RowError(f"duplicate case_ref: already on row {first}")
        except RowError as error:
            report.reject(number, str(error))
            continue
        seen[row.fields["case_ref"]] = number
        parsed.append(row)
    return parsed


def _parse_row(number: int, values: dict[str, str], directory: Directory) -> CaseRow:
    case_ref = values["case_ref"]
    if not case_ref:
        raise RowError("case_ref is empty")
    if not CASE_REF.match(case_ref):
        raise RowError(CASE_REF_RULE)
    team_id = directory.teams.get(values["team_code"].upper())
    if team_id is None:
        raise RowError(f"unknown team code {values['team_code']!r}")
    try:
        status = CaseStatus(values["status"].lower())
    except ValueError:
        raise RowError("status must be open or closed") from None
    fields = {
        "case_ref": case_ref,
        "team_id": team_id,
        "practitioner_id": _staff_id(values["practitioner_upn"], "practitioner_upn", directory),
        "status": status,
        "opened_on": parse_date(values["opened_on"], "opened_on"),
        "attributes": {k: v for k, v in values.items() if k not in COLUMNS and v},
    }
    involved = [
        _staff_id(u, "involved_upns", directory) for u in split_list(values["involved_upns"])
    ]
    return CaseRow(number=number, fields=fields, involved=frozenset(involved))


def _staff_id(upn: str, column: str, directory: Directory) -> int:
    if not upn:
        raise RowError(f"{column} is empty")
    staff_id = directory.staff.get(parse_upn(upn, column))
    if staff_id is None:
        raise RowError(f"{column}: {upn} is not a known staff member (import staff first)")
    return staff_id


async def _load(
    session: AsyncSession, rows: list[CaseRow], actor: Actor, report: ImportReport
) -> None:
    refs = [str(row.fields["case_ref"]) for row in rows]
    existing = {
        case.case_ref: case
        for case in await session.scalars(select(Case).where(Case.case_ref.in_(refs)))
    }
    involvements = await _existing_involvements(session, [c.id for c in existing.values()])
    for row in rows:
        case = existing.get(str(row.fields["case_ref"]))
        before = None
        if case is None:
            case = Case(**row.fields)
            session.add(case)
        else:
            before = _snapshot(case, involvements.get(case.id, []))
            for name, value in row.fields.items():
                setattr(case, name, value)
        await session.flush()
        current = await _sync_involvements(session, case.id, involvements.get(case.id, []), row)
        after = _snapshot(case, current)
        await count_and_record(session, "case", case.id, before, after, actor, report)


async def _existing_involvements(
    session: AsyncSession, case_ids: list[int]
) -> dict[int, list[CaseInvolvement]]:
    found: dict[int, list[CaseInvolvement]] = {}
    query = select(CaseInvolvement).where(CaseInvolvement.case_id.in_(case_ids))
    for involvement in await session.scalars(query):
        found.setdefault(involvement.case_id, []).append(involvement)
    return found


async def _sync_involvements(
    session: AsyncSession, case_id: int, current: list[CaseInvolvement], row: CaseRow
) -> list[CaseInvolvement]:
    kept = []
    for involvement in current:
        if involvement.staff_id in row.involved:
            kept.append(involvement)
        else:
            await session.delete(involvement)
    held = {involvement.staff_id for involvement in kept}
    added = [CaseInvolvement(case_id=case_id, staff_id=s) for s in sorted(row.involved - held)]
    session.add_all(added)
    await session.flush()
    return kept + added


def _snapshot(case: Case, involvements: list[CaseInvolvement]) -> dict[str, Any]:
    record = snapshot(case, CASE_FIELDS)
    record["involved_staff_ids"] = sorted(involvement.staff_id for involvement in involvements)
    return record
