"""Every workspace page is a sheet: titled columns and rows of plain values. One sheet goes
out as JSON (for the page), CSV or an Excel workbook (for downloads), the same columns in
the same order, so what the Audit Team downloads is what they were looking at.

XLSX as the Audit Team would make it by hand: a formatted header, filters on every column,
the header frozen, dates as dates, numbers as numbers. CSV guards against formula injection
(a cell starting =, +, - or @ is quoted) because it will be opened in Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from openpyxl import Workbook


HEADER_COLOUR = "5B5FC7"


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Literal["text", "date", "number"] = "text"


@dataclass
class Sheet:
    title: str  # the workbook's tab
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
        }


def as_csv(sheet: Sheet) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.title for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_safe_cell(_text(row.get(c.key))) for c in sheet.columns])
    return out.getvalue()


def as_xlsx(*sheets: Sheet) -> bytes:
    from openpyxl import Workbook  # loaded when a workbook is asked for, not at start-up

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in sheets:
        _write(book, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write(book: Workbook, sheet: Sheet) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    page = book.create_sheet(sheet.title[:31])
    page.append([column.title for column in sheet.columns])
    for cell in page[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOUR)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in sheet.rows:
        page.append([_value(column, row.get(column.key)) for column in sheet.columns])
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        if column.kind == "date":
            for (cell,) in page.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "dd mmm yyyy"
        longest = max([len(column.title), *(len(_text(r.get(column.key))) for r in sheet.rows)])
        page.column_dimensions[letter].width = min(max(10, longest + 2), 60)
    page.freeze_panes = "A2"
    page.auto_filter.ref = (
        f"A1:{get_column_letter(len(sheet.columns))}{max(1, len(sheet.rows) + 1)}"
    )


def _value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if column.kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if column.kind == "number":
        return value
    return str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _safe_cell(value: str) -> str:
    """No formula injection when the CSV is opened in Excel: a leading =, +, - or @ is quoted."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
