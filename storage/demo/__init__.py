"""Demo data for `auditbot demo`: two services, their teams, staff and cases (all fictional).

Everything goes through the real CSV importers, from the files beside this
module, so the demo exercises the same path a council's data takes. Running
it twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.imports import ImportReport, import_cases, import_staff, import_teams

DEMO_FILES = Path(__file__).parent


async def load_demo(session: AsyncSession) -> tuple[ImportReport, ImportReport, ImportReport]:
    """Import the demo teams, staff and cases; the caller commits."""
    teams = await import_teams(session, DEMO_FILES / "teams.csv", actor="demo")
    staff = await import_staff(session, DEMO_FILES / "staff.csv", actor="demo")
    cases = await import_cases(session, DEMO_FILES / "cases.csv", actor="demo")
    return teams, staff, cases
