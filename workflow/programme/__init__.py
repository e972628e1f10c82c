"""A council's audit programme as data: the file it writes, read into typed values.

`check_programme(text)` reads a programme file (TOML) and returns the
`Programme`, or raises `ProgrammeInvalid` naming every problem with its line.
Shipped programmes are `workflow/programmes/<id>.toml`.
"""

from workflow.programme.load import (
    Problem,
    ProgrammeInvalid,
    check_programme,
    shipped_programme,
    shipped_programmes,
)
from workflow.programme.model import Programme

__all__ = [
    "Problem",
    "Programme",
    "ProgrammeInvalid",
    "check_programme",
    "shipped_programme",
    "shipped_programmes",
]
