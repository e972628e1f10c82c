"""Import the council's services and teams, keyed by their codes.

Staff roles and cases name services and teams by code, so this file is
loaded first. A service is created by the first row that names it; its name
and kind come from that row, and later rows must agree.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import ServiceKind
from storage.imports.common import ImportReport, RowError, count_and_record, read_rows
from storage.models import Service, Team
from storage.repositories.events import Actor, snapshot
from storage.repositories.people import (
    add_service,
    add_team,
    get_service_by_code,
    get_team_by_code,
)

log = logging.getLogger(__name__)

COLUMNS = ("service_code", "service_name", "service_kind", "team_code", "team_name")
# As long as the columns that hold them, so a code the import accepts always fits.
SERVICE_CODE_MAX: int = getattr(Service.__table__.c.code.type, "length")  # noqa: B009
TEAM_CODE_MAX: int = getattr(Team.__table__.c.code.type, "length")  # noqa: B009
KINDS = {kind.value: kind for kind in ServiceKind}


async def import_teams(
    session: AsyncSession, source: str | Path, actor: Actor = "import"
) -> ImportReport:
    """Create or update services and teams from CSV; never commits.

    Columns: service_code, service_name, service_kind (early_help,
    childrens_social_care or youth_justice), team_code, team_name. Counts are
    of teams; a service's creation or rename is on the audit trail too.
    """
    report = ImportReport()
    service_changes = ImportReport()  # services are recorded on the trail, not counted
    services: dict[str, tuple[int, str, ServiceKind]] = {}
    seen: dict[str, int] = {}
    for number, values in read_rows(source, COLUMNS, report):
        try:
            service_code, team_code = _parse(values, services, seen)
        except RowError as error:
            report.reject(number, str(error))
            continue
        seen[team_code] = number
        service = await _upsert_service(session, service_code, values, actor, service_changes)
        services[service_code] = (number, service.name, service.kind)
        await _upsert_team(session, service, team_code, values["team_name"], actor, report)
    log.info("team import: %s", report.summary())
    return report


def _parse(
    values: dict[str, str],
    services: dict[str, tuple[int, str, ServiceKind]],
    seen: dict[str, int],
) -> tuple[str, str]:
    service_code = values["service_code"].upper()
    team_code = values["team_code"].upper()
    for column, code, longest in (
        ("service_code", service_code, SERVICE_CODE_MAX),
        ("team_code", team_code, TEAM_CODE_MAX),
    ):
        if not _is_code(code, longest):
            raise RowError(f"{column} must be letters, digits and hyphens, up to {longest} long")
    if not values["service_name"] or not values["team_name"]:
        raise RowError("service_name and team_name must not be empty")
    kind = KINDS.get(values["service_kind"].lower())
    if kind is None:
        raise RowError(f"service_kind must be one of {', '.join(sorted(KINDS))}")
    if service_code in services:
        first, name, first_kind = services[service_code]
        if (values["service_name"], kind) != (name, first_kind):
            raise RowError(f"service {service_code} has a different name or kind on row {first}")
    if team_code in seen:
        raise RowError(f"duplicate team_code: already on row {seen[team_code]}")
    return service_code, team_code


def _is_code(code: str, longest: int) -> bool:
    return len(code) <= longest and re.fullmatch(r"[A-Z0-9][A-Z0-9-]*", code) is not None


async def _upsert_service(
    session: AsyncSession, code: str, values: dict[str, str], actor: Actor, report: ImportReport
) -> Service:
    kind = KINDS[values["service_kind"].lower()]
    service = await get_service_by_code(session, code)
    if service is None:
        service = await add_service(session, code, values["service_name"], kind)
        await count_and_record(
            session, "service", service.id, None, snapshot(service), actor, report
        )
        return service
    before = snapshot(service)
    service.name, service.kind = values["service_name"], kind
    await count_and_record(session, "service", service.id, before, snapshot(service), actor, report)
    return service


async def _upsert_team(
    session: AsyncSession,
    service: Service,
    code: str,
    name: str,
    actor: Actor,
    report: ImportReport,
) -> Team:
    team = await get_team_by_code(session, code)
    if team is None:
        team = await add_team(session, service.id, code, name)
        await count_and_record(session, "team", team.id, None, snapshot(team), actor, report)
        return team
    before = snapshot(team)
    team.service_id, team.name = service.id, name
    await session.flush()
    await count_and_record(session, "team", team.id, before, snapshot(team), actor, report)
    return team
