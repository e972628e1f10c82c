"""Import the case attributes the council declares for thematic selection.

The file is the whole declaration: an attribute it no longer lists is no
longer declared (values already stored stay until `auditbot cases
purge-undeclared` removes them), and a file with any bad row changes
nothing, since a half-loaded declaration would refuse or admit the wrong
columns of the next cases file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.imports.cases import COLUMNS as CASE_COLUMNS
from storage.imports.common import (
    ImportReport,
    RowError,
    count_and_record,
    read_rows,
    split_list,
)
from storage.models import CaseAttribute
from storage.repositories.events import Actor, record_event, snapshot
from workflow.case_attributes import VALUE_MAX, attribute_name_problem

log = logging.getLogger(__name__)

COLUMNS = ("attribute", "values", "description")
FIELDS = ("name", "allowed_values", "description")
DESCRIPTION_MAX = 200


async def import_case_attributes(
    session: AsyncSession, source: str | Path, actor: Actor = "import"
) -> ImportReport:
    """Replace the declaration with the file's; never commits.

    Columns: attribute (lower-case, e.g. plan), values (semicolon-separated;
    empty for any value), description. Every change is on the audit trail,
    removals included.
    """
    report = ImportReport()
    declared: dict[str, dict[str, Any]] = {}
    for number, values in read_rows(source, COLUMNS, report):
        try:
            row = _parse(values, declared)
        except RowError as error:
            report.reject(number, str(error))
            continue
        declared[row["name"]] = row
    if report.rejected:
        report.reject(1, "the declaration is loaded whole or not at all: nothing was loaded")
        return report
    existing = {a.name: a for a in await session.scalars(select(CaseAttribute))}
    for name, row in declared.items():
        attribute = existing.pop(name, None)
        before = None if attribute is None else snapshot(attribute, FIELDS)
        if attribute is None:
            attribute = CaseAttribute(**row)
            session.add(attribute)
        else:
            for field, value in row.items():
                setattr(attribute, field, value)
        await session.flush()
        after = snapshot(attribute, FIELDS)
        await count_and_record(
            session, "case_attribute", attribute.id, before, after, actor, report
        )
    for attribute in existing.values():
        await record_event(
            session,
            actor,
            "case_attribute",
            attribute.id,
            "undeclared",
            snapshot(attribute, FIELDS),
        )
        await session.delete(attribute)
        report.removed += 1
    log.info("case attribute import: %s", report.summary())
    return report


def _parse(values: dict[str, str], declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name = values["attribute"].lower()
    problem = attribute_name_problem(name, CASE_COLUMNS)
    if problem:
        raise RowError(problem)
    if name in declared:
        raise RowError(f"{name} is declared twice")
    allowed = split_list(values["values"])
    if any(len(value) > VALUE_MAX for value in allowed):
        raise RowError(f"each value must be at most {VALUE_MAX} characters")
    if len(set(allowed)) != len(allowed):
        raise RowError("a value is listed twice")
    if len(values["description"]) > DESCRIPTION_MAX:
        raise RowError(f"description must be at most {DESCRIPTION_MAX} characters")
    return {
        "name": name,
        "allowed_values": sorted(allowed) or None,
        "description": values["description"],
    }
