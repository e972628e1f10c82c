"""The Audit Team's completeness check (DOMAIN.md step 6), and what the auditor is told.

The Audit Team's card lists what the automatic check found, in words about
the audit (never its content), and offers Accept, Return (with reasons and a
deadline) and, when no conversation with the practitioner is recorded,
Invalidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from microsoft_teams.cards import (
    AdaptiveCard,
    CardElement,
    ShowCardAction,
    TextBlock,
    TextInput,
)

from cards.base import VERSION, card, execute, facts, heading, paragraph
from cards.dates import date_input
from cards.escalations import escalation_actions
from cards.wizard import continue_button
from cards.wizard_steps import error_block
from workflow.words import counted

ACCEPT = "completeness.accept"
RETURN = "completeness.return"
INVALIDATE = "completeness.invalidate"
RECORD_INCOMPLETE = "completeness.incomplete"  # once moderated on the Inadequate fast path

REASONS_LIMIT = 2000


@dataclass(frozen=True)
class CompletenessView:
    audit_id: int
    version: int
    case_ref: str
    auditor: str
    practitioner: str
    grade: str
    submitted_on: str
    round: int  # 1 for the first submission, 2 after one return, ...
    gaps: Sequence[str]
    contacted: bool  # an audit conversation with the practitioner is recorded
    default_due: str  # YYYY-MM-DD: the default deadline for a returned audit's fixes
    earliest_due: str  # YYYY-MM-DD: today
    outcome: str | None = None  # once decided, who decided what
    error: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)  # what was typed, on an error
    # Graded Inadequate, the audit was moderated before this check was decided: the check
    # is still recorded, but the audit can no longer go back to the auditor.
    moderated_first: bool = False
    # Graded Inadequate, the moderator was asked at submission: accepting asks nobody.
    moderator_asked: bool = False
    # What accepting does, where the programme does not simply ask a named moderator: e.g.
    # "Accept: draw for the moderation sample", or "Accept as complete" without moderation.
    accept_title: str | None = None
    # A desktop audit has no conversation with the practitioner, so none is looked for and
    # it cannot be invalidated for the want of one.
    desktop: bool = False


def completeness_card(view: CompletenessView) -> dict:
    """For the Audit Team: accept, return or (practitioner not contacted) invalidate."""
    title = f"Check the audit of case {view.case_ref} is complete"
    body: list[CardElement] = [
        heading(title),
        facts(
            [
                ("Auditor", view.auditor),
                ("Practitioner", view.practitioner),
                ("Auditor's grade", view.grade),
                ("Submitted", view.submitted_on + _resubmission(view.round)),
            ]
        ),
    ]
    if view.gaps:
        lines = "\n".join(f"- {gap}" for gap in view.gaps)
        body.append(
            TextBlock(
                text=f"**The automatic check found {counted(len(view.gaps), 'gap')}:**\n\n{lines}",
                wrap=True,
                color="Attention",
            )
        )
    else:
        body.append(
            paragraph(
                "**The automatic check found nothing missing**: every section is graded with "
                "a rationale, the KLOEs are addressed, there are recommendations where the "
                "work is below Good"
                + (
                    " (a desktop audit: no conversation with the practitioner is needed)."
                    if view.desktop
                    else ", and the conversation with the practitioner is recorded."
                )
            )
        )
    if view.outcome:
        body.append(TextBlock(text=view.outcome, wrap=True, weight="Bolder"))
        return card(
            body, fallback=f"{title}: {view.outcome}", actions=escalation_actions(view.audit_id)
        )
    if view.error:
        body.append(error_block(view.error))
    decisions = _after_moderation(view, body) if view.moderated_first else _decisions(view)
    return card(body, fallback=title, actions=[*decisions, *escalation_actions(view.audit_id)])


def _data(view: CompletenessView) -> dict[str, int]:
    """What every button carries: the check it decides is this round's."""
    return {"audit_id": view.audit_id, "version": view.version, "round": view.round}


def _after_moderation(view: CompletenessView, body: list[CardElement]) -> list:
    """The fast path moderated the audit first: record the check, which can no longer send
    the audit back (its moderation and UoPP meeting go on)."""
    body.append(
        paragraph(
            "Graded Inadequate, this audit was moderated before the completeness check: record "
            "the check all the same. If something is missing, say what: the auditor and their "
            "Head of Service are told, and it is kept with the audit."
        )
    )
    gaps = TextInput(
        id="reasons",
        label="What is missing from the audit? (no names or case details)",
        is_multiline=True,
        max_length=REASONS_LIMIT,
        value=view.values.get("reasons") or None,
    )
    incomplete = AdaptiveCard(
        version=VERSION,
        body=[gaps],
        actions=[execute("Record as incomplete", RECORD_INCOMPLETE, _data(view))],
    )
    return [
        execute("Record as complete", ACCEPT, _data(view), positive=True),
        ShowCardAction(title="Record as incomplete", card=incomplete),
    ]


def _resubmission(round_: int) -> str:
    return f" (resubmitted after {round_ - 1} return{'s' * (round_ > 2)})" if round_ > 1 else ""


def _decisions(view: CompletenessView) -> list:
    data = _data(view)
    reasons = TextInput(
        id="reasons",
        label="What must the auditor put right? (no names or case details)",
        is_multiline=True,
        max_length=REASONS_LIMIT,
        value=view.values.get("reasons") or None,
    )
    due = date_input(
        "due",
        "Fix by",
        value=view.values.get("due") or view.default_due,
        earliest=view.earliest_due,
    )
    back = AdaptiveCard(
        version=VERSION,
        body=[reasons, due],
        actions=[execute("Return to the auditor", RETURN, data)],
    )
    accept = view.accept_title or (
        "Accept as complete" if view.moderator_asked else "Accept: send for moderation"
    )
    actions = [
        execute(accept, ACCEPT, data, positive=True),
        ShowCardAction(title="Return to the auditor", card=back),
    ]
    if not view.contacted and not view.desktop:
        why = TextInput(
            id="invalid_reasons",
            label="Why is the audit invalid? (no names or case details)",
            is_multiline=True,
            max_length=REASONS_LIMIT,
            value=view.values.get("invalid_reasons") or None,
        )
        invalid = AdaptiveCard(
            version=VERSION,
            body=[
                paragraph(
                    "No audit conversation with the practitioner is recorded. Invalidating "
                    "ends this audit; the auditor and the practitioner are told.",
                    subtle=True,
                ),
                why,
            ],
            actions=[execute("Invalidate the audit", INVALIDATE, data)],
        )
        actions.append(ShowCardAction(title="Invalidate", card=invalid))
    return actions


def returned_card(
    case_ref: str, audit_id: int, by: str, reasons: str, due: str, gaps: Sequence[str]
) -> dict:
    """For the auditor: what to put right and by when, and the button back into the wizard."""
    body: list[CardElement] = [
        heading(f"Your audit of case {case_ref} needs completing"),
        paragraph(f"{by} (Audit Team) returned it to you. Please put it right and resubmit."),
        facts([("Fix by", due)]),
        paragraph(f"**What to put right**\n\n{reasons}"),
    ]
    if gaps:
        lines = "\n".join(f"- {gap}" for gap in gaps)
        body.append(paragraph(f"**The automatic check found**\n\n{lines}"))
    return card(
        body,
        fallback=f"Your audit of case {case_ref} was returned: fix by {due}",
        actions=[continue_button(audit_id), *escalation_actions(audit_id)],
    )
