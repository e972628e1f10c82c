"""CSV imports of teams, staff, the declared case attributes and cases: idempotent, every
change on the trail."""

from storage.imports.case_attributes import import_case_attributes
from storage.imports.cases import import_cases
from storage.imports.common import ImportReport, RejectedRow
from storage.imports.staff import import_staff
from storage.imports.teams import import_teams

__all__ = [
    "ImportReport",
    "RejectedRow",
    "import_case_attributes",
    "import_cases",
    "import_staff",
    "import_teams",
]
