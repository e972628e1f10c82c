"""CSV imports of staff and cases: idempotent, row-by-row, every change on the audit trail."""

from storage.imports.cases import import_cases
from storage.imports.common import ImportReport, RejectedRow
from storage.imports.staff import import_staff

__all__ = ["ImportReport", "RejectedRow", "import_cases", "import_staff"]
