"""Moderation, disputes and the Inadequate fast path, as rules with no I/O.

The moderator answers, for each section the tool's moderation template asks
about and for the overall grade, agree or disagree; a disagreement needs the
moderator's own grade (for a graded section) and a rationale. `judge` turns
what a card sent into judgements, or refuses with a message per field, so
the card can show each message next to its field and keep what was typed.

A dispute about a moderated grade moves through `DisputeState`: the
practitioner or team manager raises it, the moderator revises or stands by
the grade, the disputer may then ask the Head of Service and Audit Team to
decide, and their decision is final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from workflow.errors import GradeRuleBroken
from workflow.grades import Grade, check_grade
from workflow.roles import Party, Role
from workflow.words import agreeing, counted

OVERALL = "overall"  # the key of the overall grade among section keys
AGREE = "agree"
DISAGREE = "disagree"
# For a graded question the card offers "agree" or "disagree:<grade>", so the grade
# follows the choice and nothing picked can be dropped (disagree_with, answer_of).
DISAGREE_WITH = "disagree:"

# Who is told at once when an auditor submits work graded Inadequate, beside
# the practitioner and team manager of the audit (DOMAIN.md, the fast path).
FAST_PATH_ROLES: tuple[Role, ...] = (Role.COORDINATOR, Role.AUDIT_MANAGER, Role.HEAD_OF_SERVICE)

# Who may dispute a moderated grade: the practitioner, the team manager and the
# coordinator (DOMAIN.md step 8).
DISPUTING_PARTIES = frozenset({Party.PRACTITIONER, Party.TEAM_MANAGER, Party.COORDINATOR})
# Who settles a dispute the moderator could not resolve.
DECIDING_ROLES: tuple[Role, ...] = (Role.HEAD_OF_SERVICE, Role.AUDIT_TEAM, Role.AUDIT_MANAGER)


def field_id(kind: str, key: str) -> str:
    """The card input id of one answer: kind is "agree", "grade" or "why"."""
    return f"{kind}__{key}"


@dataclass(frozen=True)
class Question:
    """One thing the moderator is asked: a section's grade (graded) or its content."""

    key: str  # a section id, or OVERALL
    graded: bool
    initial: Grade | None  # the auditor's grade, for a graded question


@dataclass(frozen=True)
class Answer:
    """What the card sent for one question, as text (already length-checked)."""

    agree: str = ""
    grade: str = ""
    rationale: str = ""


def disagree_with(grade: Grade) -> str:
    """The card's choice value for disagreeing with a section's grade in favour of `grade`."""
    return f"{DISAGREE_WITH}{grade.value}"


def answer_of(agree: str, grade: str, rationale: str) -> Answer:
    """What a card sent for one question: "disagree:<grade>" carries its grade; a separate
    grade field (cards sent before the choice carried it) is kept as it came."""
    if agree.startswith(DISAGREE_WITH):
        return Answer(DISAGREE, agree.removeprefix(DISAGREE_WITH), rationale)
    return Answer(agree, grade, rationale)


@dataclass(frozen=True)
class Judgement:
    key: str
    agreed: bool
    grade: Grade | None  # the moderated grade (the auditor's when agreed); None for content
    rationale: str | None


class ModerationIncomplete(ValueError):
    """Some answers are missing or wrong; `errors` maps a card input id to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        needs = agreeing(len(errors), "needs", "need")
        super().__init__(f"{counted(len(errors), 'answer')} {needs} attention")
        self.errors = dict(errors)


def parse_grade_value(value: str) -> Grade | None:
    """A grade from a card's choice value; None for anything else."""
    try:
        return Grade(value)
    except ValueError:
        return None


def judge(
    questions: Sequence[Question],
    answers: Mapping[str, Answer],
    *,
    outcomes_met: bool | None = None,
) -> dict[str, Judgement]:
    """Every question's judgement, or ModerationIncomplete naming each field at fault.

    The overall question must be among `questions`. A disagreement about a
    grade must pick a different grade; Good or Outstanding overall is refused
    when the audit recorded the child's outcomes as not met (Hillingdon).
    """
    errors: dict[str, str] = {}
    judged: dict[str, Judgement] = {}
    for question in questions:
        answer = answers.get(question.key, Answer())
        judgement = _judge_one(question, answer, errors)
        if judgement is not None:
            judged[question.key] = judgement
    overall = judged.get(OVERALL)
    if overall is not None and overall.grade is not None and outcomes_met is False:
        try:
            check_grade(overall.grade, outcomes_met)
        except GradeRuleBroken:
            key = field_id("grade" if not overall.agreed else "agree", OVERALL)
            errors[key] = (
                f"The auditor recorded the child's outcomes as not met, so the work cannot be "
                f"{overall.grade.label}. Choose Requires Improvement to be Good or Inadequate."
            )
    if errors:
        raise ModerationIncomplete(errors)
    return judged


def _judge_one(question: Question, answer: Answer, errors: dict[str, str]) -> Judgement | None:
    key = question.key
    if answer.agree not in (AGREE, DISAGREE):
        errors[field_id("agree", key)] = "Choose agree or disagree."
        return None
    if answer.agree == AGREE:
        picked = parse_grade_value(answer.grade) if question.graded else None
        if picked is not None and picked is not question.initial:
            initial = question.initial.label if question.initial else "the auditor's grade"
            errors[field_id("agree", key)] = (
                f"You agreed, so the grade stays {initial}, but you also chose {picked.label}: "
                f"to give {picked.label}, choose to disagree and say why."
            )
            return None
        return Judgement(key, True, question.initial, answer.rationale or None)
    grade: Grade | None = None
    if question.graded:
        grade = parse_grade_value(answer.grade)
        if grade is None:
            errors[field_id("grade", key)] = "You disagree, so choose the grade you would give."
        elif grade is question.initial:
            errors[field_id("grade", key)] = (
                f"That is the auditor's grade. Choose a different one, or agree with {grade.label}."
            )
    if not answer.rationale:
        errors[field_id("why", key)] = "Give your rationale: every disagreement needs one."
    if field_id("grade", key) in errors or field_id("why", key) in errors:
        return None
    return Judgement(key, False, grade, answer.rationale)


def moderated_grade(judgements: Mapping[str, Judgement]) -> Grade:
    """The moderated grade of the whole work: the overall judgement's grade."""
    grade = judgements[OVERALL].grade
    if grade is None:
        raise ValueError("the overall judgement has no grade")
    return grade


def changed_keys(before: Mapping[str, Grade | None], after: Mapping[str, Grade | None]) -> set[str]:
    """The sections (and OVERALL) whose grade differs between two stages."""
    return {key for key, grade in after.items() if grade is not None and before.get(key) != grade}


class DisputeState(StrEnum):
    RAISED = "raised"  # waiting for the moderator
    REVISED = "revised"  # the moderator changed the grades
    STOOD_BY = "stood_by"  # the moderator kept them, with a note
    ESCALATED = "escalated"  # waiting for the Head of Service or Audit Team
    DECIDED = "decided"  # final

    @property
    def label(self) -> str:
        return DISPUTE_LABELS[self]


DISPUTE_LABELS: dict[DisputeState, str] = {
    DisputeState.RAISED: "waiting for the moderator",
    DisputeState.REVISED: "the moderator revised the grades",
    DisputeState.STOOD_BY: "the moderator stood by the grades",
    DisputeState.ESCALATED: "waiting for the Head of Service or Audit Team to decide",
    DisputeState.DECIDED: "decided; the decision is final",
}


class DisputeStep(StrEnum):
    REVISE = "revise"
    STAND_BY = "stand_by"
    ESCALATE = "escalate"
    DECIDE = "decide"


_DISPUTE_STEPS: dict[DisputeStep, tuple[frozenset[DisputeState], DisputeState]] = {
    DisputeStep.REVISE: (frozenset({DisputeState.RAISED}), DisputeState.REVISED),
    DisputeStep.STAND_BY: (frozenset({DisputeState.RAISED}), DisputeState.STOOD_BY),
    DisputeStep.ESCALATE: (
        frozenset({DisputeState.REVISED, DisputeState.STOOD_BY}),
        DisputeState.ESCALATED,
    ),
    DisputeStep.DECIDE: (frozenset({DisputeState.ESCALATED}), DisputeState.DECIDED),
}


def next_dispute_state(state: DisputeState, step: DisputeStep) -> DisputeState | None:
    """Where a dispute goes when `step` is taken, or None when the step no longer applies
    (it was already taken, or the dispute moved on): the caller then shows how things are."""
    sources, target = _DISPUTE_STEPS[step]
    return target if state in sources else None


def check_decision(
    current: Mapping[str, Grade | None],
    chosen: Mapping[str, str],
    rationale: str,
    *,
    outcomes_met: bool | None = None,
) -> dict[str, Grade]:
    """The final grade of each key (sections and OVERALL) a dispute decision fixes.

    `current` holds the grades as moderated; `chosen` the card's choice per key
    (field "grade" of each key). Every key needs a grade, the decision needs a
    rationale, and Good or better overall is refused when the child's outcomes
    were recorded as not met. Raises ModerationIncomplete naming each field.
    """
    errors: dict[str, str] = {}
    final: dict[str, Grade] = {}
    for key in current:
        grade = parse_grade_value(chosen.get(key, ""))
        if grade is None:
            errors[field_id("grade", key)] = "Choose the final grade."
        else:
            final[key] = grade
    if not rationale:
        errors[field_id("why", OVERALL)] = "Give the rationale for the decision: it is final."
    overall = final.get(OVERALL)
    if overall is not None and outcomes_met is False and not overall.is_below_good:
        errors[field_id("grade", OVERALL)] = (
            f"The auditor recorded the child's outcomes as not met, so the work cannot be "
            f"{overall.label}."
        )
    if errors:
        raise ModerationIncomplete(errors)
    return final
