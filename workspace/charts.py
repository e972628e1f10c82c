"""Charts for the reports, drawn from one description two ways: SVG for the page (with the
same figures in a table beside it for screen readers) and fpdf2's own drawing for the PDF,
so the board paper shows what the page showed.

Each chart is horizontal bars, one per category (a period, a theme), stacked by series (the
grades), which reads well at any width and in either Teams theme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

# Fluent's palette, distinguishable in light and dark themes and for most colour vision.
GRADE_COLOURS = {
    "Outstanding": "#0F6CBD",
    "Good": "#13A10E",
    "Requires Improvement": "#F7630C",
    "Inadequate": "#C50F1F",
    "Not yet graded": "#8A8886",
}
COLOURS = ("#0F6CBD", "#13A10E", "#F7630C", "#C50F1F", "#8A8886", "#8764B8")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


@dataclass(frozen=True)
class Chart:
    title: str
    categories: Sequence[str]
    series: Sequence[Series]

    @property
    def largest(self) -> float:
        totals = [sum(s.values[i] for s in self.series) for i in range(len(self.categories))]
        return max([*totals, 1])


def stacked(
    title: str,
    categories: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    colours: dict[str, str] | None = None,
) -> Chart:
    """A chart of `rows` (one per category), stacking the named columns."""  # fmt: skip
    return Chart(
        title,
        categories,
        [
            Series(
                name,
                [float(row.get(name) or 0) for row in rows],
                (colours or {}).get(name, COLOURS[n % len(COLOURS)]),
            )
            for n, name in enumerate(columns)
        ],
    )


LABEL_WIDTH, BAR_WIDTH, ROW, LEGEND = 230, 400, 26, 22


def svg(chart: Chart) -> str:
    """The chart as inline SVG. `role="img"` with the title as its name; the page puts the
    figures in a table right after it."""
    height = LEGEND * 2 + ROW * len(chart.categories) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 60
    scale = BAR_WIDTH / chart.largest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-label="{escape(chart.title)}">'
    ]
    x = 0
    for series in chart.series:  # the legend
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{series.colour}"/>'
            f'<text x="{x + 16}" y="15" font-size="12" fill="currentColor">'
            f"{escape(series.name)}</text>"
        )
        x += 24 + 7 * len(series.name)
    for index, category in enumerate(chart.categories):
        y = LEGEND * 2 + ROW * index
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" font-size="12" text-anchor="end" '
            f'fill="currentColor">{escape(_clip(category, 32))}</text>'
        )
        left = float(LABEL_WIDTH)
        total = 0.0
        for series in chart.series:
            value = series.values[index]
            if value:
                parts.append(
                    f'<rect x="{left:.1f}" y="{y + 3}" width="{value * scale:.1f}" height="18" '
                    f'fill="{series.colour}"><title>{escape(series.name)}: '
                    f"{_number(value)}</title></rect>"
                )
            left += value * scale
            total += value
        parts.append(
            f'<text x="{left + 6:.1f}" y="{y + 16}" font-size="12" fill="currentColor">'
            f"{_number(total)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def draw(pdf: Any, chart: Chart, *, width: float = 180) -> None:
    """The same chart on an fpdf2 page, at the current position, in millimetres."""
    label, bar, row = width * 0.3, width * 0.62, 6.0
    scale = bar / chart.largest
    top = pdf.get_y()
    x0 = pdf.l_margin
    pdf.set_font("Helvetica", size=8)
    x = x0
    for series in chart.series:
        pdf.set_fill_color(*_rgb(series.colour))
        pdf.rect(x, top, 3, 3, style="F")
        pdf.set_xy(x + 4, top - 0.5)
        pdf.cell(text=latin(series.name))
        x += 8 + pdf.get_string_width(latin(series.name))
    y = top + 6
    for index, category in enumerate(chart.categories):
        pdf.set_xy(x0, y)
        pdf.cell(label - 2, row, latin(_clip(category, 40)), align="R")
        left = x0 + label
        total = 0.0
        for series in chart.series:
            value = series.values[index]
            if value:
                pdf.set_fill_color(*_rgb(series.colour))
                pdf.rect(left, y + 1, value * scale, row - 2, style="F")
            left += value * scale
            total += value
        pdf.set_xy(left + 1, y)
        pdf.cell(12, row, _number(total))
        y += row
    pdf.set_y(y + 4)


def latin(text: str) -> str:
    """The PDF's built-in font has Latin-1 only: anything else becomes '?'."""
    text = (
        text.replace("\u2013", "-")
        .replace("\u2014", "-")
        .replace("\u2019", "'")
        .replace("\u2026", "...")
    )
    return text.encode("latin-1", "replace").decode("latin-1")


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
