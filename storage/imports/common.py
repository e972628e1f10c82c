"""What the CSV importers share: reading the file, reporting rows, parsing values."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import ImportFileError
from storage.repositories.events import Actor, record_event
from workflow.text import clean_text

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
IMPORT_LABEL = "import"

Row = tuple[int, dict[str, str]]


class RowError(ValueError):
    """Why one row cannot be loaded; the message goes to the person importing."""


@dataclass(frozen=True)
class RejectedRow:
    row: int  # as in the file: the header is row 1
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    removed: int = 0  # for a file that is the whole list (the case attribute declaration)
    retired: list[int] = field(default_factory=list)  # staff who left with this import

    def reject(self, row: int, reason: str) -> None:
        self.rejected.append(RejectedRow(row, reason))

    def summary(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        retired = f", {len(self.retired)} left" if self.retired else ""
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
            f"{removed}{retired}, {len(self.rejected)} rejected"
        )


def read_text(source: str | Path) -> str:
    """source is a Path, a path string naming an existing file, or the CSV text itself.

    Raises ImportFileError when the file is not UTF-8 text (Excel's plain "CSV" is not).
    """
    if not isinstance(source, Path):
        if "\n" in source or not Path(source).is_file():
            return source.removeprefix("\ufeff")
        source = Path(source)
    try:
        return source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"{source.name} is not UTF-8 text (byte {error.object[error.start]:#04x} at "
            f'position {error.start}); save it as "CSV UTF-8" and import it again'
        ) from None


def read_rows(
    source: str | Path,
    required: tuple[str, ...],
    report: ImportReport,
    allowed: Callable[[list[str]], str | None] | None = None,
) -> list[Row]:
    """The file's non-blank rows as {column: stripped value}, numbered as in the file.

    A file missing a required column, or whose header `allowed` finds a problem
    with (it returns why), is rejected whole (row 1, the header); a row with
    more values than columns is rejected on its own.
    """
    reader = csv.reader(io.StringIO(read_text(source)))
    header = [clean_text(name).lower() for name in next(reader, [])]
    missing = [name for name in required if name not in header]
    if missing:
        report.reject(1, f"missing required column(s): {', '.join(missing)}; nothing was loaded")
        return []
    problem = allowed(header) if allowed else None
    if problem:
        report.reject(1, f"{problem}; nothing was loaded")
        return []
    if len(set(header)) != len(header):
        report.reject(1, "a column appears twice; nothing was loaded")
        return []
    rows: list[Row] = []
    for number, values in enumerate(reader, start=2):
        cells = [clean_text(value) for value in values]
        if not any(cells):
            continue
        if len(cells) > len(header):
            report.reject(number, f"{len(cells)} values but only {len(header)} columns")
            continue
        padded = cells + [""] * (len(header) - len(cells))
        rows.append((number, dict(zip(header, padded, strict=True))))
    return rows


def parse_date(value: str, column: str) -> date:
    if not ISO_DATE.match(value):
        raise RowError(f"{column} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{column} is not a real date") from None


def parse_yes_no(value: str, column: str) -> bool:
    lowered = value.lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise RowError(f"{column} must be yes or no")


def parse_upn(value: str, column: str) -> str:
    if "@" not in value or " " in value:
        raise RowError(f"{column} must be a user principal name like name@council.gov.uk")
    return value.lower()


def split_list(value: str) -> list[str]:
    """Semicolon-separated values, blanks dropped."""
    return [item.strip() for item in value.split(";") if item.strip()]


async def count_and_record(
    session: AsyncSession,
    entity: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    actor: Actor,
    report: ImportReport,
) -> None:
    """Count the row as created, updated or unchanged, and record an event for a change."""
    if before == after:
        report.unchanged += 1
        return
    if before is None:
        report.created += 1
    else:
        report.updated += 1
    action = "created" if before is None else "updated"
    label = actor if isinstance(actor, str) else IMPORT_LABEL
    await record_event(session, actor, entity, entity_id, action, before, after, label=label)
