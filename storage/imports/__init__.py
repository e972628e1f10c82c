"""CSV imports of teams, staff and cases: idempotent, row by row, every change on the trail."""

from storage.imports.cases import import_cases
from storage.imports.common import ImportReport, RejectedRow
from storage.imports.staff import import_staff
from storage.imports.teams import import_teams

__all__ = ["ImportReport", "RejectedRow", "import_cases", "import_staff", "import_teams"]
