"""Demo data for `auditbot demo`: two services, their teams, staff and cases (all fictional).

Services and teams are set up here; staff and cases go through the real
CSV importers from storage/demo/, so the demo exercises the same path a
council's data takes. Running it twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import ServiceKind
from storage.imports import ImportReport, import_cases, import_staff
from storage.repositories import add_service, add_team, get_service_by_code, get_team_by_code

DEMO_FILES = Path(__file__).parent / "demo"
DEMO_SERVICES = {
    "CSC": ("Children's Social Care", ServiceKind.CHILDRENS_SOCIAL_CARE),
    "EH": ("Early Help", ServiceKind.EARLY_HELP),
}
DEMO_TEAMS = {
    "EH-NORTH": ("EH", "Early Help North"),
    "EH-SOUTH": ("EH", "Early Help South"),
    "CSC-CIN": ("CSC", "Children in Need"),
    "CSC-CP": ("CSC", "Child Protection"),
    "CSC-CLA": ("CSC", "Children Looked After"),
}


async def load_demo(session: AsyncSession) -> tuple[ImportReport, ImportReport]:
    """Create the demo organisation and import its staff and cases; the caller commits."""
    for code, (name, kind) in DEMO_SERVICES.items():
        if await get_service_by_code(session, code) is None:
            await add_service(session, code, name, kind)
    for code, (service_code, name) in DEMO_TEAMS.items():
        service = await get_service_by_code(session, service_code)
        if service is not None and await get_team_by_code(session, code) is None:
            await add_team(session, service.id, code, name)
    staff = await import_staff(session, DEMO_FILES / "staff.csv", actor="demo")
    cases = await import_cases(session, DEMO_FILES / "cases.csv", actor="demo")
    return staff, cases
