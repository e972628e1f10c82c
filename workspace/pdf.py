"""A report as a PDF for the board papers: the same sections, charts and figures as the
page (the charts drawn from the same description, `workspace/charts.py`), the top ten
findings and learning first."""

from __future__ import annotations

from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode
from fpdf.fonts import FontFace

from workspace.charts import draw, latin
from workspace.reports import Report
from workspace.sheets import Sheet


def report_pdf(report: Report, *, service_name: str, made_on: date) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(latin(f"Audit report: {report.period.label}"))
    pdf.set_author("auditbot")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    _line(pdf, 8, latin(f"Audit report: {report.period.label}"))
    pdf.set_font("Helvetica", size=10)
    _line(pdf, 6, latin(f"{service_name}. Made by auditbot on {made_on:%d %B %Y}. "
                               "Case references only."))  # fmt: skip
    if report.note:
        _heading(pdf, "Top ten findings and learning")
        pdf.set_font("Helvetica", size=10)
        _line(pdf, 5, latin(report.note))
        if report.note_by:
            pdf.set_font("Helvetica", "I", 8)
            _line(pdf, 5, latin(f"Written by {report.note_by}."))
    for section in report.sections:
        _heading(pdf, section.title)
        if section.note:
            pdf.set_font("Helvetica", "I", 9)
            _line(pdf, 5, latin(section.note))
            pdf.ln(1)
        if section.chart is not None and section.sheet.rows:
            if pdf.get_y() + 12 + 6 * len(section.chart.categories) > pdf.page_break_trigger:
                pdf.add_page()
            draw(pdf, section.chart)
        _table(pdf, section.sheet)
    return bytes(pdf.output())


def _line(pdf: FPDF, height: float, text: str) -> None:
    """A paragraph across the page, the next one starting at the left margin below it."""
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 30:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    _line(pdf, 7, latin(text))


def _table(pdf: FPDF, sheet: Sheet) -> None:
    pdf.set_font("Helvetica", size=8)
    if not sheet.rows:
        _line(pdf, 5, "Nothing to show for this period.")
        return
    pdf.set_fill_color(255, 255, 255)  # the charts' last colour must not fill the table
    with pdf.table(
        cell_fill_mode=TableCellFillMode.NONE,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 240)),
        line_height=4.5,
        text_align="LEFT",
    ) as table:
        header = table.row()
        for column in sheet.columns:
            header.cell(latin(column.title))
        for values in sheet.rows:
            row = table.row()
            for column in sheet.columns:
                row.cell(latin(_text(values.get(column.key))))
    pdf.ln(2)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value:%d %b %Y}"
    return str(value)
