"""Import cases from the council's CSV, keyed by case reference.

A case is a reference and who holds the work. Nothing here may carry a
child's name or details: references are checked against a strict pattern,
and a refused reference is never echoed back or logged. Besides the columns
below, a file may carry only the case attributes the council declared
(workflow.case_attributes); any other column refuses the whole file, and a
value outside an attribute's declared values refuses its row, unechoed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
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
from storage.repositories.cases import declared_case_attributes
from storage.repositories.events import Actor, snapshot
from workflow.case_attributes import Declaration

log = logging.getLogger(__name__)

COLUMNS = ("case_ref", "team_code", "practitioner_upn", "status", "opened_on", "involved_upns")
CASE_REF = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9/-]{0,63}$")
CASE_REF_RULE = (
    "case_ref must be a case reference: letters, digits, hyphens or slashes, "
    "with at least one digit and no spaces (never a child's name)"
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
    opened_on (YYYY-MM-DD), involved_upns (semicolon-separated), and any of the
    declared case attributes (e.g. plan). Any other column refuses the file.
    Staff, teams and the declaration must be loaded first. Bad rows are
    reported and skipped.
    """
    report = ImportReport()
    declared = await declared_case_attributes(session)
    rows = read_rows(source, COLUMNS, report, allowed=partial(_undeclared_columns, declared))
    directory = await _load_directory(session, rows)
    parsed = _parse_rows(rows, directory, declared, report)
    await _load(session, parsed, actor, report)
    log.info(
        "case import: created=%d updated=%d unchanged=%d rejected=%d",
        report.created,
        report.updated,
        report.unchanged,
        len(report.rejected),
    )
    return report


def _undeclared_columns(declared: Declaration, header: list[str]) -> str | None:
    unknown = [name for name in header if name not in COLUMNS and name not in declared.attributes]
    if not unknown:
        return None
    listed = ", ".join(repr(name) for name in unknown)
    return (
        f"column(s) {listed} are neither cases columns nor declared case attributes "
        f"(declared: {', '.join(declared.names) or 'none'}); remove them, or declare them "
        "with auditbot import case-attributes"
    )


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


def _parse_rows(
    rows: list[Row], directory: Directory, declared: Declaration, report: ImportReport
) -> list[CaseRow]:
    parsed: list[CaseRow] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        try:
            row = _parse_row(number, values, directory, declared)
            first = seen.get(row.fields["case_ref"])
            if first is not None:
                raise RowError(f"duplicate case_ref: already on row {first}")
        except RowError as error:
            report.reject(number, str(error))
            continue
        seen[row.fields["case_ref"]] = number
        parsed.append(row)
    return parsed


def _parse_row(
    number: int, values: dict[str, str], directory: Directory, declared: Declaration
) -> CaseRow:
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
        "attributes": _attributes(values, declared),
    }
    involved = [
        _staff_id(u, "involved_upns", directory) for u in split_list(values["involved_upns"])
    ]
    return CaseRow(number=number, fields=fields, involved=frozenset(involved))


def _attributes(values: dict[str, str], declared: Declaration) -> dict[str, str]:
    attributes = {name: value for name, value in values.items() if name not in COLUMNS and value}
    for name in declared.undeclared(attributes):
        raise RowError(
            f"{name} must be one of {declared.attributes[name].describe_values()} "
            "(the value given is not repeated here)"
        )
    return attributes


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
