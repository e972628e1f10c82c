"""The practitioner's own section: the request they answer, and how the auditor sees it.

The practitioner writes how they applied the practice model, answering the
prompts of the tool's practitioner section, in the card or in one chat
message. It can be changed until the audit is submitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from microsoft_teams.cards import CardElement, TextBlock, TextInput

from cards.base import card, execute, heading, paragraph
from cards.escalations import escalation_actions
from cards.wizard_steps import clip, error_block
from workflow.wizard_rules import share_of_card

REFLECT = "practitioner.reflect"
CHAT = "chat"  # the key of an answer sent as a chat message
CHAT_LIMIT = 4000  # characters in a section sent as one chat message
ANSWER_MOST = 2000  # characters in one prompt's answer, when there are few prompts


def answer_limit(prompts: int) -> int:
    """The longest one answer may be, so that all of them fit on one card."""
    return share_of_card(prompts + 1, ANSWER_MOST)  # + 1: a chat answer may be shown too


def prompt_key(number: int) -> str:
    """The input id of the answer to the number-th prompt (from 1)."""
    return f"prompt_{number}"


@dataclass(frozen=True)
class ReflectionView:
    audit_id: int
    case_ref: str
    auditor: str
    title: str  # the section's title, e.g. "Practitioner's section: how I applied ..."
    guidance: str
    prompts: Sequence[str]
    answers: Mapping[str, str]  # prompt_key(n) -> text, or CHAT -> the message
    saved_on: str | None  # a formatted date once written
    can_change: bool  # until the audit is submitted
    asked_on: str | None = None  # a formatted date: when the practitioner was asked

    @property
    def written(self) -> bool:
        return any(text.strip() for text in self.answers.values())


def reflection_request_card(
    view: ReflectionView,
    *,
    error: str | None = None,
    outcome: str | None = None,
    unsaved: Sequence[tuple[str, str]] = (),
) -> dict:
    """For the practitioner: the prompts to answer, with what they have written so far."""
    intro = (
        f"{view.auditor} is auditing your work on case {view.case_ref} with you. "
        "Please write your own section: how you applied the practice model. "
        "Your auditor will see it and talk it through with you."
        if view.can_change
        else f"{view.auditor} audited your work on case {view.case_ref} with you."
    )
    body: list[CardElement] = [
        heading(f"Your own section for the audit of case {view.case_ref}"),
        paragraph(intro),
    ]
    if view.guidance and view.can_change:
        body.append(paragraph(view.guidance, subtle=True))
    if outcome:
        body.append(TextBlock(text=outcome, wrap=True, weight="Bolder"))
    if error:
        body.append(error_block(error))
    fallback = f"Write your own section for the audit of case {view.case_ref}"
    if not view.can_change:
        if view.written:
            body += reflection_lines(view)
        else:
            body.append(paragraph("You had not written your section when it was submitted."))
        body.append(paragraph("The audit has been submitted, so this can no longer change."))
        if unsaved:
            body.append(error_block(LATE_ANSWER.format(auditor=view.auditor)))
            body += [paragraph(f"**{prompt}**\n\n{clip(text)}") for prompt, text in unsaved]
        return card(body, fallback=fallback, actions=escalation_actions(view.audit_id))
    body.append(
        paragraph(
            "Answer any or all of these. Don't include the child's name or case details. "
            "You can also reply to me in this chat with your section in one message.",
            subtle=True,
        )
    )
    limit = answer_limit(len(view.prompts))
    if CHAT in view.answers:
        body.append(paragraph("**What you sent by chat**"))
        body.append(paragraph(clip(view.answers[CHAT], limit)))
    for number, prompt in enumerate(view.prompts, 1):
        body.append(
            TextInput(
                id=prompt_key(number),
                label=prompt,
                value=view.answers.get(prompt_key(number)) or None,
                is_multiline=True,
                max_length=limit,
            )
        )
    action = "Save my changes" if view.written else "Send my section"
    return card(
        body,
        fallback=fallback,
        actions=[
            execute(action, REFLECT, {"audit_id": view.audit_id}, positive=True),
            *escalation_actions(view.audit_id),
        ],
    )


LATE_ANSWER = (
    "Not saved: the audit was submitted before your section arrived, so it can no longer be "
    "added. What you typed is below, so you can keep it; {auditor} can talk it through with "
    "you at the follow-up meeting."
)


def reflection_lines(view: ReflectionView) -> list[CardElement]:
    """The section as written, read-only (for the auditor in the wizard, and once closed)."""
    if not view.written:
        return [paragraph("The practitioner has not written their section yet.")]
    lines: list[CardElement] = []
    limit = answer_limit(len(view.prompts))
    if view.saved_on:
        lines.append(
            paragraph(f"Written by the practitioner; last saved {view.saved_on}.", subtle=True)
        )
    if view.answers.get(CHAT, "").strip():
        lines += [paragraph("**Sent by chat**"), paragraph(clip(view.answers[CHAT], limit))]
    for number, prompt in enumerate(view.prompts, 1):
        answer = view.answers.get(prompt_key(number), "").strip()
        if answer:
            lines += [paragraph(f"**{prompt}**"), paragraph(clip(answer, limit))]
    return lines


def several_requests_card(case_refs: Sequence[str]) -> dict:
    """A chat reply could be for more than one audit: ask for the card instead."""
    refs = ", ".join(case_refs)
    return card(
        [
            heading("Which audit is this for?"),
            paragraph(
                f"You have been asked for your own section in more than one audit ({refs}), "
                "so I haven't saved that message. Please answer in the card I sent for each case."
            ),
        ],
        fallback=f"Please answer in the card for each case: {refs}",
    )
