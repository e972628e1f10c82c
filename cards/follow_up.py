"""Cards the follow-up sweeps send: a dip-audit task, a re-audit sample and its result, an
escalation.

Case references, grades and dates only; never a child's details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microsoft_teams.cards import CardElement

from cards.base import attention, card, execute, facts, heading, paragraph
from workflow.words import counted

MAX_CASES = 40
REAUDIT_ALL = "reaudit.all"


@dataclass(frozen=True)
class DipAuditView:
    case_ref: str
    service: str
    team: str
    grade: str  # the final grade, in words
    moderated_on: str
    due_on: str
    weeks: int
    moved_to_follow_up: bool


@dataclass(frozen=True)
class ReauditView:
    source: str  # the title of the cycle whose work is re-audited
    service: str
    below_good: int
    case_refs: Sequence[str]
    explanation: str
    cycle: str | None  # the title of the re-audit cycle, when it was allocated
    problem: str | None = None  # why it could not be allocated


@dataclass(frozen=True)
class ReauditResultView:
    result_id: int
    source: str  # the title of the cycle whose work was re-audited
    reaudited: int
    still_below: Sequence[str]  # case references still below Good
    rest: Sequence[str]  # the source's other below-Good cases, not re-audited yet
    offer_all: bool  # the programme allows re-auditing all of it when not improved
    report_to: str = ""  # a board the result is reported to
    allocated: str | None = None  # the cycle the rest went to, once asked for
    notice: str | None = None


@dataclass(frozen=True)
class EscalationView:
    case_ref: str
    service: str
    team: str
    grade: str
    moderated_on: str
    months: int


def dip_audit_card(view: DipAuditView) -> dict:
    """For the Audit Team: the dip audit of work graded RI or Inadequate is due."""
    body: list[CardElement] = [
        heading(f"Dip audit due: case {view.case_ref}"),
        paragraph(
            f"The work on case {view.case_ref} was graded {view.grade} {view.weeks} weeks ago. "
            "Please dip-audit it now to see whether the improvement plan is working; if it is "
            "still below Good, refer it to the coordinator and the Head of Service."
        ),
        facts(
            [
                ("Service", view.service),
                ("Team", view.team),
                ("Final grade", view.grade),
                ("Moderated", view.moderated_on),
                ("Dip audit due", view.due_on),
            ]
        ),
    ]
    if view.moved_to_follow_up:
        body.append(paragraph("The audit is now in follow-up.", subtle=True))
    return card(body, fallback=f"Dip audit due: case {view.case_ref}")


def reaudit_card(view: ReauditView) -> dict:
    """For the Audit Team: which below-Good work is re-audited, and why those cases."""
    title = f"Re-audit of {view.source}"
    body: list[CardElement] = [heading(title), paragraph(view.explanation)]
    pairs = [("Service", view.service), ("Below Good in that cycle", str(view.below_good))]
    if view.cycle:
        pairs.append(("Allocated in", view.cycle))
    body.append(facts(pairs))
    if view.problem:
        body.append(
            paragraph(
                f"These cases could not be allocated, so nothing was opened: {view.problem} "
                "Fix the staff list, then open a cycle for them."
            )
        )
    elif view.cycle:
        body.append(
            paragraph(
                "Auditors, moderators, practitioners and team managers have been told, as for "
                "any allocation."
            )
        )
    shown = list(view.case_refs[:MAX_CASES])
    body.append(paragraph("Cases: " + ", ".join(shown) + "."))
    if len(view.case_refs) > MAX_CASES:
        body.append(paragraph(f"And {len(view.case_refs) - MAX_CASES} more.", subtle=True))
    return card(body, fallback=f"{title}: {counted(len(view.case_refs), 'case')}")


def reaudit_result_card(view: ReauditResultView) -> dict:
    """For the Audit Team: whether the re-audited work reached Good and, where the programme
    says the exercise may be repeated on all of it, the button that does so."""
    title = f"Re-audit result: {view.source}"
    now_good = view.reaudited - len(view.still_below)
    body: list[CardElement] = [
        heading(title),
        paragraph(
            f"{now_good} of the {counted(view.reaudited, 're-audited case')} now reach Good."
            if view.still_below
            else f"All {counted(view.reaudited, 're-audited case')} now reach Good."
        ),
    ]
    if view.still_below:
        body.append(paragraph("Still below Good: " + ", ".join(view.still_below[:MAX_CASES]) + "."))
    if view.report_to:
        body.append(paragraph(f"The result is reported to the {view.report_to}.", subtle=True))
    if view.notice:
        body.append(attention(view.notice))
    actions = []
    if view.allocated:
        body.append(paragraph(f"The other below-Good work was allocated in {view.allocated}."))
    elif view.offer_all and view.still_below and view.rest:
        more = counted(len(view.rest), "more case")
        body.append(
            paragraph(
                "The sample has not consistently improved, so the programme lets you repeat the "
                f"exercise on all the work that fell below Good: {more}."
            )
        )
        actions.append(
            execute(
                f"Re-audit the other {len(view.rest)}",
                REAUDIT_ALL,
                {"result_id": view.result_id},
            )
        )
    return card(body, fallback=title, actions=actions)


def escalation_card(view: EscalationView) -> dict:
    """For the Divisional Director: work still below Good after the escalation period."""
    body: list[CardElement] = [
        heading(f"Not improved after {view.months} months: case {view.case_ref}"),
        paragraph(
            f"The work on case {view.case_ref} was graded {view.grade} {view.months} months ago "
            "and no later audit has found it Good. It is escalated to you and the improvement "
            "board."
        ),
        facts(
            [
                ("Service", view.service),
                ("Team", view.team),
                ("Final grade", view.grade),
                ("Moderated", view.moderated_on),
            ]
        ),
    ]
    return card(body, fallback=f"Escalated: case {view.case_ref} not improved")
