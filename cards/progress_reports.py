"""The coordinator's weekly progress report on Inadequate work (DOMAIN.md, the fast path).

Until the work reaches Good, each week the coordinator is asked how the
improvement plan is going; what they write goes to the Head of Service and
the Audit Manager. The card says plainly that the report must carry no
child's name or details: it is forwarded in chat.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_teams.cards import CardElement, TextBlock

from cards.base import card, execute, facts, heading, paragraph, text_input
from cards.escalations import escalation_actions
from cards.moderation import clip

REPORT_PROGRESS = "progress.report"
PROGRESS_LIMIT = 2000  # characters in one week's report


@dataclass(frozen=True)
class ProgressReportView:
    audit_id: int
    case_ref: str
    team: str
    practitioner: str
    grade: str  # the final grade, in words
    week: str  # ISO week, e.g. "2026-W50": the card is for this week only
    week_words: str  # "week of Mon 7 Dec 2026"
    last_report: str | None = None  # "Week of Mon 30 Nov 2026, by <name>: <text>"
    reported: str | None = None  # this week's, once given: "<name> on <date>: <text>"


def progress_report_card(
    view: ProgressReportView,
    *,
    error: str | None = None,
    text: str = "",
    notice: str | None = None,
) -> dict:
    """This week's report form, or, once given, the report as sent."""
    body: list[CardElement] = [
        heading(f"Weekly progress: case {view.case_ref}"),
        paragraph(
            f"The work on case {view.case_ref} was graded {view.grade}. Until it reaches Good, "
            "tell the Head of Service and the Audit Manager each week how the improvement plan "
            "is going."
        ),
        facts(
            [
                ("Week", view.week_words),
                ("Team", view.team),
                ("Practitioner", view.practitioner),
                ("Grade", view.grade),
            ]
        ),
    ]
    if view.last_report:
        body.append(paragraph(f"Last report: {clip(view.last_report)}", subtle=True))
    if notice:
        body.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
    fallback = f"Weekly progress on case {view.case_ref}, {view.week_words}"
    if view.reported:
        body.append(paragraph(f"**Reported this week** by {clip(view.reported)}"))
        return card(body, fallback=fallback, actions=escalation_actions(view.audit_id))
    body.append(
        paragraph(
            "Use the case reference only: don't write the child's name or any details that "
            "identify the child or family. This report is forwarded in chat.",
            subtle=True,
        )
    )
    report = text_input(
        "progress",
        "Progress this week on the improvement plan",
        error="Say briefly how the plan is going.",
    )
    report.max_length = PROGRESS_LIMIT
    report.value = text or None
    body.append(report)
    if error:
        body.append(TextBlock(text=error, wrap=True, color="Attention", weight="Bolder"))
    return card(
        body,
        fallback=fallback,
        actions=[
            execute(
                "Send the report",
                REPORT_PROGRESS,
                {"audit_id": view.audit_id, "week": view.week},
                positive=True,
            ),
            *escalation_actions(view.audit_id),
        ],
    )
