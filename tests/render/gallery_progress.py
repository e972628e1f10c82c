"""Gallery entries for the coordinator's weekly progress report on Inadequate work."""

from __future__ import annotations

from dataclasses import replace

from cards.progress_reports import PROGRESS_LIMIT, ProgressReportView, progress_report_card
from tests.render.examples import LONGEST, Example, example

REPORT = ProgressReportView(
    audit_id=42,
    case_ref="CSC-26-0142",
    team="Child Protection",
    practitioner="Hannah Cohen",
    grade="Inadequate",
    week="2026-W50",
    week_words="week of Mon 7 Dec 2026",
)
LAST = "Peter Walsh on Tue 1 Dec 2026: weekly visits restarted and the plan was reviewed."

PROGRESS_GALLERY: tuple[Example, ...] = (
    example("progress-report", progress_report_card, REPORT),
    example(
        "progress-report-error",
        progress_report_card,
        replace(REPORT, last_report=LAST),
        error="Say briefly how the improvement plan is going.",
    ),
    example(
        "progress-report-most",
        progress_report_card,
        replace(REPORT, last_report=LONGEST),
        text=LONGEST[:PROGRESS_LIMIT],
        notice="That card was for an earlier week, so nothing was sent. This is this week's.",
    ),
    example(
        "progress-report-sent",
        progress_report_card,
        replace(REPORT, last_report=LAST, reported=f"Peter Walsh on Tue 8 Dec 2026: {LONGEST}"),
    ),
)
