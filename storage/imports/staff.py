"""Import staff and their roles from the council's CSV, keyed by Azure AD object id."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.imports.common import (
    GUID,
    ImportReport,
    Row,
    RowError,
    count_and_record,
    parse_date,
    parse_upn,
    parse_yes_no,
    read_rows,
    split_list,
)
from storage.models import RoleAssignment, Service, Staff, Team
from storage.repositories.events import Actor, snapshot
from workflow.roles import Role

log = logging.getLogger(__name__)

COLUMNS = (
    "aad_object_id",
    "upn",
    "display_name",
    "email",
    "roles",
    "auditor_trained",
    "line_manager_upn",
)
STAFF_FIELDS = ("aad_object_id", "upn", "display_name", "email", "auditor_trained", "active")

Scope = tuple[int, int | None]  # service_id, team_id
Grant = tuple[Role, int, int | None]  # role, service_id, team_id


@dataclass
class StaffRow:
    number: int
    fields: dict[str, Any]
    grants: frozenset[Grant]
    line_manager_upn: str | None

    @property
    def upn(self) -> str:
        return str(self.fields["upn"])


async def import_staff(
    session: AsyncSession,
    source: str | Path,
    actor: Actor = "import",
    *,
    retire_absent: bool = False,
) -> ImportReport:
    """Create or update staff from CSV text or a file; never commits.

    Columns: aad_object_id, upn, display_name, email, roles
    (`role@SCOPE;...`, SCOPE a service or team code), auditor_trained (yes/no),
    line_manager_upn (may name someone later in the file), and optionally
    auditor_trained_on (YYYY-MM-DD) and active (yes/no, default yes: "no" retires
    the person). With `retire_absent` the file is the whole staff list: everyone
    active who is not on any of its rows (good or bad) is retired too, unless the
    file was refused whole. Re-importing the same file changes nothing; a
    person's roles become exactly those listed. Bad rows are reported with their
    row number and skipped. Who left is in `report.retired`, for the caller to
    hand their work on (dialogs/leavers.py).
    """
    report = ImportReport()
    rows = read_rows(source, COLUMNS, report)
    scopes, scope_codes = await load_scopes(session)
    parsed = _parse_rows(rows, scopes, report)
    parsed = await _check_against_database(session, parsed, report)
    await _load(session, parsed, scope_codes, actor, report)
    if retire_absent and rows:
        listed = {values["aad_object_id"].lower() for _, values in rows}
        await _retire_absent(session, listed, scope_codes, actor, report)
    log.info(
        "staff import: created=%d updated=%d unchanged=%d retired=%d rejected=%d",
        report.created,
        report.updated,
        report.unchanged,
        len(report.retired),
        len(report.rejected),
    )
    return report


async def _retire_absent(
    session: AsyncSession,
    listed: set[str],
    scope_codes: dict[Scope, str],
    actor: Actor,
    report: ImportReport,
) -> None:
    query = select(Staff).where(Staff.active.is_(True), Staff.aad_object_id.not_in(listed))
    absent = list((await session.scalars(query)).all())
    grants = await existing_grants(session, [staff.id for staff in absent])
    for staff in absent:
        before = staff_snapshot(staff, grants.get(staff.id, []), scope_codes)
        staff.active = False
        await session.flush()
        after = staff_snapshot(staff, grants.get(staff.id, []), scope_codes)
        await count_and_record(session, "staff", staff.id, before, after, actor, report)
        report.retired.append(staff.id)


async def load_scopes(session: AsyncSession) -> tuple[dict[str, Scope], dict[Scope, str]]:
    """Every service and team code: upper-cased code -> scope, and scope -> code as stored."""
    codes: dict[Scope, str] = {}
    for service_id, code in await session.execute(select(Service.id, Service.code)):
        codes[(service_id, None)] = code
    for team_id, service_id, code in await session.execute(
        select(Team.id, Team.service_id, Team.code)
    ):
        codes[(service_id, team_id)] = code
    lookup: dict[str, Scope] = {}
    for scope, code in codes.items():
        lookup.setdefault(code.upper(), scope)  # services first: a service code wins
    return lookup, codes


def _parse_rows(rows: list[Row], scopes: dict[str, Scope], report: ImportReport) -> list[StaffRow]:
    parsed: list[StaffRow] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        try:
            row = _parse_row(number, values, scopes)
            for key in ("aad_object_id", "upn"):
                first = seen.get(f"{key}:{row.fields[key]}")
                if first is not None:
                    raise RowError(f"duplicate {key}: already on row {first}")
        except RowError as error:
            report.reject(number, str(error))
            continue
        seen[f"aad_object_id:{row.fields['aad_object_id']}"] = number
        seen[f"upn:{row.upn}"] = number
        parsed.append(row)
    return parsed


def _parse_row(number: int, values: dict[str, str], scopes: dict[str, Scope]) -> StaffRow:
    aad_object_id = values["aad_object_id"].lower()
    if not GUID.match(aad_object_id):
        raise RowError("aad_object_id must be a GUID like 0f8fad5b-d9cb-469f-a165-70867728950e")
    if not values["display_name"]:
        raise RowError("display_name is empty")
    upn = parse_upn(values["upn"], "upn")
    fields: dict[str, Any] = {
        "aad_object_id": aad_object_id,
        "upn": upn,
        "display_name": values["display_name"],
        "email": parse_upn(values["email"], "email") if values["email"] else upn,
        "auditor_trained": parse_yes_no(values["auditor_trained"], "auditor_trained"),
        "active": parse_yes_no(values["active"], "active") if values.get("active") else True,
    }
    if "auditor_trained_on" in values:
        trained_on = values["auditor_trained_on"]
        fields["auditor_trained_on"] = (
            parse_date(trained_on, "auditor_trained_on") if trained_on else None
        )
    manager = values["line_manager_upn"]
    return StaffRow(
        number=number,
        fields=fields,
        grants=parse_grants(values["roles"], scopes),
        line_manager_upn=parse_upn(manager, "line_manager_upn") if manager else None,
    )


def parse_grants(value: str, scopes: dict[str, Scope]) -> frozenset[Grant]:
    grants: set[Grant] = set()
    for item in split_list(value):
        role_name, _, code = item.partition("@")
        try:
            role = Role(role_name.strip().lower())
        except ValueError:
            raise RowError(f"unknown role {role_name.strip()!r} in roles") from None
        scope = scopes.get(code.strip().upper())
        if scope is None:
            raise RowError(f"unknown service or team code {code.strip()!r} in roles")
        grants.add((role, *scope))
    return frozenset(grants)


async def _check_against_database(
    session: AsyncSession, rows: list[StaffRow], report: ImportReport
) -> list[StaffRow]:
    """Reject rows whose upn belongs to someone else, or whose line manager is unknown.

    Line managers may be anyone already stored or any good row of this file;
    rejecting a row can orphan another's manager, so this repeats until stable.
    """
    wanted = {row.upn for row in rows} | {r.line_manager_upn for r in rows if r.line_manager_upn}
    query = select(Staff.upn, Staff.aad_object_id).where(Staff.upn.in_(wanted))
    stored = {upn: aad_object_id for upn, aad_object_id in await session.execute(query)}
    good = []
    for row in rows:
        owner = stored.get(row.upn)
        if owner is not None and owner != row.fields["aad_object_id"]:
            report.reject(row.number, "upn already belongs to another staff member")
        else:
            good.append(row)
    while True:
        known = set(stored) | {row.upn for row in good}
        orphans = [row for row in good if not _manager_ok(row, known)]
        if not orphans:
            return good
        for row in orphans:
            reason = (
                "line_manager_upn is the person themself"
                if row.line_manager_upn == row.upn
                else "line_manager_upn is not a known staff member"
            )
            report.reject(row.number, reason)
        good = [row for row in good if row not in orphans]


def _manager_ok(row: StaffRow, known: set[str]) -> bool:
    manager = row.line_manager_upn
    return manager is None or (manager != row.upn and manager in known)


async def _load(
    session: AsyncSession,
    rows: list[StaffRow],
    scope_codes: dict[Scope, str],
    actor: Actor,
    report: ImportReport,
) -> None:
    existing = await _existing_staff(session, [str(row.fields["aad_object_id"]) for row in rows])
    grants = await existing_grants(session, [staff.id for staff in existing.values()])
    befores: dict[int, dict[str, Any] | None] = {}
    people: list[Staff] = []
    for row in rows:
        staff = existing.get(str(row.fields["aad_object_id"]))
        if staff is None:
            staff = Staff(**row.fields)
            session.add(staff)
            befores[row.number] = None
        else:
            befores[row.number] = staff_snapshot(staff, grants.get(staff.id, []), scope_codes)
            if staff.active and not row.fields["active"]:
                report.retired.append(staff.id)
            for name, value in row.fields.items():
                setattr(staff, name, value)
        people.append(staff)
    await session.flush()
    await _set_line_managers(session, rows, people)
    for row, staff in zip(rows, people, strict=True):
        current = await sync_grants(session, staff.id, grants.get(staff.id, []), row.grants)
        after = staff_snapshot(staff, current, scope_codes)
        await count_and_record(
            session, "staff", staff.id, befores[row.number], after, actor, report
        )


async def _existing_staff(session: AsyncSession, aad_ids: list[str]) -> dict[str, Staff]:
    found = await session.scalars(select(Staff).where(Staff.aad_object_id.in_(aad_ids)))
    return {staff.aad_object_id: staff for staff in found}


async def existing_grants(
    session: AsyncSession, staff_ids: list[int]
) -> dict[int, list[RoleAssignment]]:
    grants: dict[int, list[RoleAssignment]] = {}
    found = await session.scalars(
        select(RoleAssignment).where(RoleAssignment.staff_id.in_(staff_ids))
    )
    for assignment in found:
        grants.setdefault(assignment.staff_id, []).append(assignment)
    return grants


async def _set_line_managers(
    session: AsyncSession, rows: list[StaffRow], people: list[Staff]
) -> None:
    ids = {staff.upn: staff.id for staff in people}
    outside = {r.line_manager_upn for r in rows if r.line_manager_upn} - set(ids)
    if outside:
        query = select(Staff.upn, Staff.id).where(Staff.upn.in_(outside))
        ids.update({upn: staff_id for upn, staff_id in await session.execute(query)})
    for row, staff in zip(rows, people, strict=True):
        staff.line_manager_id = ids[row.line_manager_upn] if row.line_manager_upn else None
    await session.flush()


async def sync_grants(
    session: AsyncSession,
    staff_id: int,
    current: list[RoleAssignment],
    wanted: frozenset[Grant],
) -> list[RoleAssignment]:
    """Make the person's role assignments exactly wanted; returns them."""
    kept = []
    for assignment in current:
        if (assignment.role, assignment.service_id, assignment.team_id) in wanted:
            kept.append(assignment)
        else:
            await session.delete(assignment)
    held = {(a.role, a.service_id, a.team_id) for a in kept}
    added = [
        RoleAssignment(staff_id=staff_id, role=role, service_id=service_id, team_id=team_id)
        for role, service_id, team_id in sorted(wanted - held, key=str)
    ]
    session.add_all(added)
    await session.flush()
    return kept + added


def staff_snapshot(
    staff: Staff, grants: list[RoleAssignment], scope_codes: dict[Scope, str]
) -> dict[str, Any]:
    record = snapshot(staff, (*STAFF_FIELDS, "auditor_trained_on", "line_manager_id"))
    record["roles"] = sorted(
        f"{a.role.value}@{scope_codes[(a.service_id, a.team_id)]}" for a in grants
    )
    return record
