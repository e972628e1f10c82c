"""Demo data for `auditbot demo`: two services, their teams, staff and cases (all fictional).

Everything goes through the real CSV importers, from the files beside this
module, so the demo exercises the same path a council's data takes. Running
it twice changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.imports import (
    ImportReport,
    import_case_attributes,
    import_cases,
    import_staff,
    import_teams,
)

DEMO_FILES = Path(__file__).parent


async def load_demo(session: AsyncSession) -> tuple[ImportReport, ...]:
    """Import the demo teams, staff, declared case attributes and cases; the caller commits."""
    return (
        await import_teams(session, DEMO_FILES / "teams.csv", actor="demo"),
        await import_staff(session, DEMO_FILES / "staff.csv", actor="demo"),
        await import_case_attributes(session, DEMO_FILES / "case_attributes.csv", actor="demo"),
        await import_cases(session, DEMO_FILES / "cases.csv", actor="demo"),
    )
