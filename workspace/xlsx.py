"""Workbooks for the Audit Team: what they would otherwise keep in Excel, as real XLSX (a
formatted header, filters on every column, the header frozen, dates as dates)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from workspace.tracker import COLUMNS, TrackerRow

DATE_COLUMNS = frozenset({"audit_due", "moderation_due", "uopp_due"})
HEADER_FILL = PatternFill("solid", fgColor="5B5FC7")


def tracker_xlsx(rows: Sequence[TrackerRow]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tracker"
    sheet.append([title for _, title in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in rows:
        values = asdict(row)
        sheet.append([_cell(key, str(values[key])) for key, _ in COLUMNS])
    for index, (key, title) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if key in DATE_COLUMNS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "dd mmm yyyy"
        longest = max([len(title), *(len(str(values)) for values in _column(rows, key))])
        sheet.column_dimensions[letter].width = min(max(10, longest + 2), 48)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(1, len(rows) + 1)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(key: str, value: str) -> object:
    if key in DATE_COLUMNS and value:
        return date.fromisoformat(value)
    return value


def _column(rows: Sequence[TrackerRow], key: str) -> list[str]:
    return [str(getattr(row, key)) for row in rows]
