"""The audit wizard's cards: one per step, the summary to confirm, and where it stops.

Every button sends the audit id, the audit's version and the wizard's
revision and step, so the bot can tell a stale card or a repeated press from
a new answer. A card shows case references only, never a child's details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from microsoft_teams.cards import CardElement, Container, TextBlock
from pydantic import BaseModel

from cards.base import card, execute, facts, heading, paragraph
from cards.escalations import escalation_actions
from cards.practitioner import ReflectionView, reflection_lines
from cards.wizard_steps import StepInputs, clip, grade_words, problems_summary, step_body
from workflow.completeness import Gap
from workflow.tools import ChecklistAnswer, SectionKind
from workflow.wizard_rules import (
    CONVERSATION,
    ON,
    SAFEGUARDING,
    YES,
    WizardStep,
    kloe_field,
    parse_day,
    recommendations,
    row_count,
)
from workflow.words import counted

START_AUDIT = "audit.start"
RESUME = "wizard.resume"
NEXT = "wizard.next"
BACK = "wizard.back"
STOP = "wizard.stop"
SUBMIT = "wizard.submit"

MAX_PROMPTS_SHOWN = 12


@dataclass(frozen=True)
class WizardView:
    audit_id: int
    version: int
    rev: int  # the wizard's own revision: it moves only when the auditor saves
    case_ref: str
    tool_title: str
    steps: Sequence[WizardStep]
    step: WizardStep  # the one to show
    answers: Mapping[str, Mapping[str, str]]  # every step's answers, as typed
    kloes: Sequence[str]
    owners: Sequence[tuple[str, str]]
    reflection: ReflectionView | None
    today: str  # YYYY-MM-DD in the council's time zone
    errors: Mapping[str, str] = field(default_factory=dict)
    notice: str | None = None  # e.g. why the audit came back, or why nothing was saved
    gaps: Sequence[Gap] = ()  # what the completeness check will find (summary step)
    returned: bool = False  # resubmitting after the Audit Team returned it
    # What was typed on an out-of-date copy of a step and not saved, as (label, text).
    unsaved: Sequence[tuple[str, str]] = ()

    @property
    def data(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "version": self.version,
            "rev": self.rev,
            "step": self.step.id,
        }

    @property
    def number(self) -> int:
        return next(n for n, step in enumerate(self.steps, 1) if step.id == self.step.id)


def wizard_card(view: WizardView) -> dict:
    """The card for the step the auditor is on, with the two escalations one tap away."""
    step = view.step
    body: list[CardElement] = [
        heading(step.title),
        paragraph(
            f"Audit of case {view.case_ref} · step {view.number} of {len(view.steps)}",
            subtle=True,
        ),
    ]
    if view.notice:
        body.append(TextBlock(text=view.notice, wrap=True, weight="Bolder", color="Attention"))
    if view.unsaved:
        body.append(unsaved_block(view.unsaved))
    if view.errors:
        body.append(problems_summary(len(view.errors)))
    if step.kind == "summary":
        body += _summary(view)
    else:
        body += _guidance(step)
        if step.kind == SectionKind.PRACTITIONER_REFLECTION:
            body += _reflection(view)
        body += step_body(step, _inputs(view))
    return card(
        body,
        fallback=f"Audit of case {view.case_ref}: {step.title}",
        actions=[*_navigation(view), *escalation_actions(view.audit_id)],
    )


def _inputs(view: WizardView) -> StepInputs:
    grades = [
        (step.title, grade_words(view.answers.get(step.id, {}).get("grade")))
        for step in view.steps
        if step.kind == SectionKind.GRADED_DOMAIN
    ]
    return StepInputs(
        mine=view.answers.get(view.step.id, {}),
        errors=view.errors,
        kloes=view.kloes,
        owners=view.owners,
        grades=grades,
        data=view.data,
        today=view.today,
    )


def _guidance(step: WizardStep) -> list[CardElement]:
    section = step.section
    if section is None:
        return []
    body: list[CardElement] = []
    if section.guidance:
        body.append(paragraph(section.guidance, subtle=True))
    prompts = section.prompts[:MAX_PROMPTS_SHOWN]
    if prompts and section.kind is not SectionKind.PRACTITIONER_REFLECTION:
        lines = "\n".join(f"- {prompt}" for prompt in prompts)
        body.append(paragraph(f"**Think about**\n\n{lines}"))
    return body


def _reflection(view: WizardView) -> list[CardElement]:
    if view.reflection is None:
        return [paragraph("The practitioner has not been asked for their section.")]
    lines = reflection_lines(view.reflection)
    if not view.reflection.written:
        asked = f"on {view.reflection.asked_on}" if view.reflection.asked_on else "for it"
        lines.append(
            paragraph(
                f"I asked them {asked}; it shows here once they have written it. "
                "You can carry on meanwhile.",
                subtle=True,
            )
        )
    return lines


def _navigation(view: WizardView) -> list[Any]:
    data = view.data
    buttons = []
    if view.step.kind == "summary":
        title = "Resubmit the audit" if view.returned else "Submit the audit"
        buttons.append(execute(title, SUBMIT, data, positive=True))
    else:
        buttons.append(execute("Save and continue", NEXT, data, positive=True))
    if view.number > 1:
        buttons.append(execute("Back", BACK, data))
    buttons.append(execute("Save and stop", STOP, data))
    return buttons


def _summary(view: WizardView) -> list[CardElement]:
    rows = [(step.title, _status(view, step)) for step in view.steps if step.kind != "summary"]
    body: list[CardElement] = [
        paragraph("Check your answers. Go back to change any of them; nothing is lost."),
        facts(rows),
    ]
    if view.gaps:
        lines = "\n".join(f"- {gap.what}" for gap in view.gaps)
        body.append(
            TextBlock(
                text=f"**The Audit Team's completeness check will find:**\n\n{lines}",
                wrap=True,
                color="Attention",
            )
        )
        body.append(paragraph("You can still submit; they may return it to you.", subtle=True))
    else:
        body.append(paragraph("The completeness check finds nothing missing."))
    body.append(
        paragraph(
            "Submitting sends the audit to the Audit Team to check it is complete, then to "
            "the moderator. You can't change it after that unless it is returned to you.",
            subtle=True,
        )
    )
    return body


def _status(view: WizardView, step: WizardStep) -> str:
    mine = view.answers.get(step.id, {})
    kind = step.kind
    if step.id == CONVERSATION:
        held_on = parse_day(mine.get("held_on"))
        if mine.get("held") == YES and held_on:
            return f"Held on {held_on:%a} {held_on.day} {held_on:%b %Y}"
        return "Not held yet" if mine.get("held") else "Not answered"
    if kind == SectionKind.CHECKLIST and step.section:
        answers = {answer.value for answer in ChecklistAnswer}
        done = sum(mine.get(f"item_{item.id}") in answers for item in step.section.items)
        return f"{done} of {len(step.section.items)} standards answered"
    if kind == SectionKind.GRADED_DOMAIN:
        return grade_words(mine.get("grade"))
    if kind == SectionKind.OVERALL_GRADE:
        met = "outcomes met or on the way" if mine.get("outcomes_met") == ON else "outcomes not met"
        found = "; immediate safeguarding actions" if mine.get(SAFEGUARDING) == ON else ""
        return f"{grade_words(mine.get('grade'))}; {met}{found}"
    if kind == SectionKind.FEEDBACK and step.section:
        given = sum(bool(mine.get(f"{s.id}_said", "").strip()) for s in step.section.sources)
        return f"{given} of {len(step.section.sources)} recorded"
    if kind == SectionKind.KLOE_COMMENTS:
        count = max(len(view.kloes), 1)
        done = sum(bool(mine.get(kloe_field(n), "").strip()) for n in range(1, count + 1))
        return f"{done} of {len(view.kloes)} KLOEs commented on" if view.kloes else "Optional"
    if kind == SectionKind.NARRATIVE:
        return "Written" if mine.get("text", "").strip() else "Not written"
    if kind == SectionKind.PRACTITIONER_REFLECTION:
        written = view.reflection is not None and view.reflection.written
        return "Written by the practitioner" if written else "Not written yet"
    if kind == SectionKind.RECOMMENDATIONS:
        count = len(recommendations([step], view.answers))
        blank = row_count(mine) == 0 or count == 0
        return "None" if blank else f"{count} recommendation{'s' * (count != 1)}"
    return ""


def continue_button(audit_id: int, *, title: str = "Continue audit") -> Any:
    """The button that reopens the wizard where the auditor left it (for `my audits` too)."""
    return execute(title, RESUME, {"audit_id": audit_id}, positive=True)


def stopped_card(case_ref: str, audit_id: int, step_title: str) -> dict:
    """After "Save and stop": everything is saved, and how to come back."""
    return card(
        [
            heading(f"Saved: audit of case {case_ref}"),
            paragraph(
                f"Everything is saved, up to **{step_title}**. Carry on whenever you like, "
                "on any device: press Continue audit here, or type **my audits**."
            ),
        ],
        fallback=f"Your audit of case {case_ref} is saved",
        actions=[continue_button(audit_id), *escalation_actions(audit_id)],
    )


NEXT_AFTER_SUBMISSION = {
    "sample": "The Audit Team checks it is complete; then it is drawn for the moderation "
    "sample, or keeps your grade.",
    "none": "The Audit Team checks it is complete; this programme does not moderate audits.",
    "group": "The Audit Team checks it is complete; then the moderation group moderates it "
    "at its meeting.",
    "panel": "The Audit Team checks it is complete, then the moderator moderates it; it may "
    "then go on to the moderation panel, which agrees its final grading with you.",
}
NEXT_BY_DEFAULT = "The Audit Team checks it is complete, then the moderator moderates it."


def submitted_card(
    case_ref: str,
    grade: str,
    recommendations_count: int,
    gaps: Sequence[Gap],
    when: str,
    next_step: str = NEXT_BY_DEFAULT,
) -> dict:
    """For the auditor once submitted: what happens next. No buttons: it is out of their hands."""
    body: list[CardElement] = [
        heading(f"Submitted: audit of case {case_ref}"),
        facts(
            [
                ("Overall grade", grade),
                ("Recommendations", str(recommendations_count)),
                ("Submitted", when),
            ]
        ),
        paragraph(f"{next_step} I'll tell you if anything needs doing."),
    ]
    if gaps:
        found = counted(len(gaps), "gap")
        body.append(paragraph(f"The completeness check found {found}.", subtle=True))
    return card(body, fallback=f"Your audit of case {case_ref} was submitted")


def closed_card(case_ref: str, state: str, unsaved: Sequence[tuple[str, str]] = ()) -> dict:
    """For a wizard button pressed once the audit is no longer the auditor's to change;
    with `unsaved`, what was typed on that card, so it is not lost without a word."""
    body: list[CardElement] = [
        heading(f"Audit of case {case_ref}"),
        paragraph(f"This audit is {state}, so it can't be changed here. Nothing was changed."),
    ]
    if unsaved:
        body.append(unsaved_block(unsaved))
    return card(body, fallback=f"The audit of case {case_ref} is {state}")


# Characters of unsaved text shown back: a whole answer (4,000) when one was typed, shared
# out when many were, so the card stays under Teams' size limit beside the step's inputs.
UNSAVED_TOTAL = 24000

STALE_NOTICE = (
    "This audit moved on since this copy of the card was drawn: it was saved from another "
    "copy or device. So what you typed here was not saved, and nothing was overwritten. "
    "What is saved now is below; what you typed is under Not saved, to copy if you want it."
)


def unsaved_block(unsaved: Sequence[tuple[str, str]]) -> Container:
    """What was typed and not saved, label by label, to copy back by hand."""
    items: list[CardElement] = [
        TextBlock(text="Not saved: what you typed on the older copy", weight="Bolder", wrap=True)
    ]
    limit = min(4000, UNSAVED_TOTAL // max(1, len(unsaved)))
    for label, text in unsaved:
        items.append(TextBlock(text=label, wrap=True, is_subtle=True, spacing="Small"))
        items.append(TextBlock(text=clip(text, limit), wrap=True, spacing="None"))
    return Container(items=items, style="emphasis", separator=True)


def typed_labels(view: WizardView, step: WizardStep, typed: Mapping[str, str]) -> dict[str, str]:
    """The label of each input of `step` as its card shows them, and for a choice what the
    chosen value reads as: so typed answers can be shown back in the card's own words."""
    shown = replace(view, step=step, answers={**view.answers, step.id: dict(typed)})
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, BaseModel):
            node_id, label = getattr(node, "id", None), getattr(node, "label", None)
            if node_id and isinstance(label, str):
                found[node_id] = label
                for choice in getattr(node, "choices", None) or ():
                    if choice.value == typed.get(node_id):
                        found[f"{node_id}={choice.value}"] = choice.title
            for value in node.__dict__.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(step_body(step, _inputs(shown)))
    return found
