"""Part B of an audit (Hillingdon): what the practitioner and team manager record at the
next supervision, or sooner when the auditor found immediate safeguarding actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from microsoft_teams.cards import CardElement

from cards.base import attention, card, facts, heading, paragraph, record_form, text_input
from cards.escalations import escalation_actions

RECORD_PART_B = "part_b.record"
ANSWER_LIMIT = 2000


def answer_field(number: int) -> str:
    """The input holding the answer to the number-th prompt (from 1)."""
    return f"answer_{number}"


@dataclass(frozen=True)
class PartBView:
    audit_id: int
    version: int
    case_ref: str
    practitioner: str
    team_manager: str
    grade: str
    due: str  # already formatted
    safeguarding: bool  # the auditor found immediate safeguarding actions: due sooner
    title: str
    guidance: str
    prompts: Sequence[str]
    # Once recorded: who recorded it and when, and the answers, in prompt order.
    recorded: str | None = None
    answers: Sequence[str] = ()
    values: Mapping[str, str] = field(default_factory=dict)  # what was typed, on an error
    error: str | None = None
    notice: str | None = None


def part_b_card(view: PartBView) -> dict:
    """For the practitioner and team manager: the part B questions, recorded once by
    either of them, or what was recorded."""
    when = (
        "Immediate safeguarding actions were found in the audit, so complete it by "
        if view.safeguarding
        else "Complete it at your next supervision, by "
    )
    body: list[CardElement] = [
        heading(f"{view.title}: case {view.case_ref}"),
        facts(
            [
                ("Practitioner", view.practitioner),
                ("Team manager", view.team_manager),
                ("Final grade", view.grade),
                ("Due", view.due),
            ]
        ),
        paragraph(view.guidance, subtle=True),
    ]
    fallback = f"Part B of the audit of case {view.case_ref}: due {view.due}"
    if view.recorded is not None:
        body.append(paragraph(f"**{view.recorded}**"))
        for prompt, answer in zip(view.prompts, view.answers, strict=False):
            body.append(paragraph(f"**{prompt}**\n\n{answer}"))
        if view.notice:
            body.append(attention(view.notice))
        return card(body, fallback=fallback, actions=escalation_actions(view.audit_id))
    body.append(paragraph(when + f"{view.due}. Either of you records it, once, for both."))
    if view.notice:
        body.append(attention(view.notice))
    for number, prompt in enumerate(view.prompts, 1):
        box = text_input(
            answer_field(number),
            f"{prompt} (no names or case details)",
            error="Answer this before recording part B.",
        )
        box.value = view.values.get(answer_field(number)) or None
        body.append(box)
    return record_form(
        body,
        fallback=fallback,
        error=view.error,
        button=(
            "Record part B",
            RECORD_PART_B,
            {"audit_id": view.audit_id, "version": view.version},
        ),
        more=escalation_actions(view.audit_id),
    )
