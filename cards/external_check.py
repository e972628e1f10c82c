"""The external check of a moderation group's audits (Tower Hamlets CSC: "An external social
work consultant is employed to check the accuracy and impact of the audit programme twice a
year"): the sample drawn for the consultant, and where they record their findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microsoft_teams.cards import CardElement, Container, TextBlock

from cards.base import attention, card, facts, heading, paragraph, record_form, text_input

RECORD_EXTERNAL_CHECK = "external_check.record"
FINDINGS_LIMIT = 4000


@dataclass(frozen=True)
class CheckedAudit:
    case_ref: str
    team: str
    auditor: str
    moderated_by: str
    practitioner: str
    grades: str  # "Good, moderated Requires Improvement to be Good"


@dataclass(frozen=True)
class ExternalCheckView:
    check_id: int
    service: str
    period: str  # "July to December 2026"
    drawn: str  # how the sample was drawn, to explain it
    audits: Sequence[CheckedAudit]
    report_to: str  # who the findings are for, e.g. "the CSCIB"
    findings: str = ""
    recorded: str | None = None  # "Recorded by <name> on <date>"
    error: str | None = None
    notice: str | None = None


def external_check_card(view: ExternalCheckView) -> dict:
    title = f"External check: {view.service}, {view.period}"
    body: list[CardElement] = [
        heading(title),
        paragraph(
            "Review each of these audits with its practitioner, auditor and the moderators, "
            f"and check the file record. Your findings and recommendations go to {view.report_to}."
        ),
        paragraph(view.drawn, subtle=True),
    ]
    for audit in view.audits:
        body.append(
            Container(
                separator=True,
                items=[
                    TextBlock(text=f"Case {audit.case_ref}", weight="Bolder", wrap=True),
                    facts(
                        [
                            ("Team", audit.team),
                            ("Practitioner", audit.practitioner),
                            ("Auditor", audit.auditor),
                            ("Moderated by", audit.moderated_by),
                            ("Grades", audit.grades),
                        ]
                    ),
                ],
            )
        )
    if view.notice:
        body.append(attention(view.notice))
    fallback = f"{title}: {len(view.audits)} audits to check"
    if view.recorded is not None:
        body.append(paragraph(f"**{view.recorded}**"))
        body.append(paragraph(view.findings))
        return card(body, fallback=fallback)
    findings = text_input(
        "findings",
        "Your findings and recommendations (case references only: no names of children or "
        "family members)",
        error="Write your findings.",
    )
    findings.max_length = FINDINGS_LIMIT
    findings.value = view.findings or None
    body.append(findings)
    return record_form(
        body,
        fallback=fallback,
        error=view.error,
        button=("Record findings", RECORD_EXTERNAL_CHECK, {"check_id": view.check_id}),
    )
