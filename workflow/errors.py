"""Typed errors raised by the audit programme's rules.

Each error keeps its facts as attributes (for code that decides what to do)
and carries a message written for a council Audit Team member (for people).
Messages name the case reference when one is known; they never carry case
content.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflow.roles import ROLE_LABELS, Role


class WorkflowError(Exception):
    """Base of every error the audit programme's rules raise."""


def _audit_name(case_ref: str | None) -> str:
    return f"the audit of case {case_ref}" if case_ref else "this audit"


def _action_phrase(action: object, case_ref: str | None) -> str:
    """An action as a verb phrase about the audit: "moderate the audit of case X".

    Actions that carry a `label` template (see workflow.states.Action) use it;
    a plain string is made readable.
    """
    template = getattr(action, "label", None)
    if not isinstance(template, str):
        template = str(action).replace("_", " ") + " {audit}"
    return template.format(audit=_audit_name(case_ref))


def _state_phrase(state: object) -> str:
    label = getattr(state, "label", None)
    return label if isinstance(label, str) else str(state).replace("_", " ")


def _party_label(party: object) -> str:
    if str(party) == "system":
        return "system"
    try:
        return ROLE_LABELS[Role(str(party))]
    except ValueError:
        return str(party).replace("_", " ")


class IllegalTransition(WorkflowError):
    """The action does not apply to an audit in this state (e.g. moderating an
    audit that has not been submitted). Nothing was changed."""

    def __init__(self, action: str, state: object, case_ref: str | None = None) -> None:
        self.action = action
        self.state = state
        self.case_ref = case_ref
        super().__init__(
            f"You cannot {_action_phrase(action, case_ref)} because it is {_state_phrase(state)}."
        )


class NotAllowed(WorkflowError):
    """The action applies to the audit now, but not from this party (e.g. a
    practitioner trying to moderate). Nothing was changed."""

    def __init__(
        self,
        action: str,
        party: object,
        case_ref: str | None = None,
        allowed: Iterable[object] = (),
    ) -> None:
        self.action = action
        self.party = party
        self.case_ref = case_ref
        self.allowed = tuple(allowed)
        message = f"The {_party_label(party)} cannot {_action_phrase(action, case_ref)}."
        if self.allowed:
            names = sorted(_party_label(p) for p in self.allowed)
            who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
            message += f" Only the {who} can."
        super().__init__(message)


@dataclass(frozen=True)
class AllocationProblem:
    """Why one case could not be given an auditor or a moderator.

    `rule` is a short stable code for code and reports: "no_auditor",
    "auditor_trained", "auditor_independent", "auditor_not_involved",
    "no_moderator", "moderator_independent", "moderator_not_involved",
    "moderator_not_auditor". `message` is for people.
    """

    rule: str
    case_ref: str
    message: str


class AllocationImpossible(WorkflowError):
    """One or more cases could not be allocated; `problems` lists every case and
    every rule that could not be met, so the Audit Team can fix them all at once.
    Nothing was allocated."""

    def __init__(self, problems: list[AllocationProblem]) -> None:
        self.problems = list(problems)
        cases = sorted({p.case_ref for p in self.problems})
        noun = "case" if len(cases) == 1 else "cases"
        details = " ".join(p.message for p in self.problems)
        super().__init__(f"{len(cases)} {noun} could not be allocated. {details}")

    @property
    def case_refs(self) -> list[str]:
        return sorted({p.case_ref for p in self.problems})


class GradeRuleBroken(WorkflowError):
    """A grade breaks a grading rule (e.g. Good although the child's outcomes
    are not met)."""

    def __init__(self, message: str, case_ref: str | None = None) -> None:
        self.case_ref = case_ref
        super().__init__(message)


class SelectionError(WorkflowError):
    """Cases cannot be selected as asked (e.g. a negative quota, or duplicate
    case references in the list of open cases)."""
