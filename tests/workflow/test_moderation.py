"""The moderation rules: judging the moderator's answers, the dispute's steps, decisions."""

from __future__ import annotations

import pytest

from workflow.grades import Grade
from workflow.moderation import (
    AGREE,
    DISAGREE,
    OVERALL,
    Answer,
    DisputeState,
    DisputeStep,
    ModerationIncomplete,
    Question,
    changed_keys,
    check_decision,
    field_id,
    judge,
    moderated_grade,
    next_dispute_state,
)

QUESTIONS = [
    Question("identity", graded=True, initial=Grade.GOOD),
    Question("feedback", graded=False, initial=None),
    Question(OVERALL, graded=True, initial=Grade.GOOD),
]


def agreeing(**overrides: Answer) -> dict[str, Answer]:
    answers = {q.key: Answer(agree=AGREE) for q in QUESTIONS}
    answers.update(overrides)
    return answers


def test_agreeing_keeps_the_auditor_s_grades():
    judged = judge(QUESTIONS, agreeing())

    assert judged["identity"].agreed and judged["identity"].grade is Grade.GOOD
    assert judged["feedback"].agreed and judged["feedback"].grade is None
    assert moderated_grade(judged) is Grade.GOOD


def test_a_disagreement_takes_the_moderator_s_grade_and_rationale():
    judged = judge(
        QUESTIONS,
        agreeing(
            **{OVERALL: Answer(DISAGREE, Grade.REQUIRES_IMPROVEMENT.value, "Drift in planning")}
        ),
    )

    assert judged[OVERALL].agreed is False
    assert judged[OVERALL].rationale == "Drift in planning"
    assert moderated_grade(judged) is Grade.REQUIRES_IMPROVEMENT


def test_every_problem_is_named_by_its_field():
    with pytest.raises(ModerationIncomplete) as refused:
        judge(
            QUESTIONS,
            {
                "identity": Answer(DISAGREE, "", ""),
                "feedback": Answer(DISAGREE, "", ""),
                OVERALL: Answer("", "", ""),
            },
        )

    assert set(refused.value.errors) == {
        field_id("grade", "identity"),
        field_id("why", "identity"),
        field_id("why", "feedback"),
        field_id("agree", OVERALL),
    }


def test_disagreeing_with_the_same_grade_is_refused():
    with pytest.raises(ModerationIncomplete) as refused:
        judge(QUESTIONS, agreeing(identity=Answer(DISAGREE, Grade.GOOD.value, "Hmm")))

    assert "That is the auditor's grade" in refused.value.errors[field_id("grade", "identity")]


@pytest.mark.parametrize("value", ["excellent", "GOOD ", "1", ""])
def test_a_grade_that_is_not_one_of_the_four_is_refused(value: str):
    with pytest.raises(ModerationIncomplete):
        judge(QUESTIONS, agreeing(**{OVERALL: Answer(DISAGREE, value, "Why")}))


def test_good_overall_is_refused_when_the_outcomes_are_not_met():
    questions = [Question(OVERALL, graded=True, initial=Grade.REQUIRES_IMPROVEMENT)]
    answers = {OVERALL: Answer(DISAGREE, Grade.GOOD.value, "Better")}

    with pytest.raises(ModerationIncomplete) as refused:
        judge(questions, answers, outcomes_met=False)
    assert field_id("grade", OVERALL) in refused.value.errors
    assert judge(questions, answers, outcomes_met=None)[OVERALL].grade is Grade.GOOD


def test_the_dispute_moves_raised_then_answered_then_escalated_then_decided():
    assert next_dispute_state(DisputeState.RAISED, DisputeStep.REVISE) is DisputeState.REVISED
    assert next_dispute_state(DisputeState.RAISED, DisputeStep.STAND_BY) is DisputeState.STOOD_BY
    for answered in (DisputeState.REVISED, DisputeState.STOOD_BY):
        assert next_dispute_state(answered, DisputeStep.ESCALATE) is DisputeState.ESCALATED
    assert next_dispute_state(DisputeState.ESCALATED, DisputeStep.DECIDE) is DisputeState.DECIDED


@pytest.mark.parametrize(
    ("state", "step"),
    [
        (DisputeState.RAISED, DisputeStep.ESCALATE),
        (DisputeState.RAISED, DisputeStep.DECIDE),
        (DisputeState.STOOD_BY, DisputeStep.REVISE),
        (DisputeState.ESCALATED, DisputeStep.STAND_BY),
        (DisputeState.DECIDED, DisputeStep.DECIDE),
        (DisputeState.DECIDED, DisputeStep.ESCALATE),
    ],
)
def test_a_step_that_no_longer_applies_goes_nowhere(state: DisputeState, step: DisputeStep):
    assert next_dispute_state(state, step) is None


def test_a_decision_needs_every_grade_and_a_rationale():
    current = {"identity": Grade.GOOD, OVERALL: Grade.REQUIRES_IMPROVEMENT}

    with pytest.raises(ModerationIncomplete) as refused:
        check_decision(current, {"identity": "good"}, "")
    assert set(refused.value.errors) == {field_id("grade", OVERALL), field_id("why", OVERALL)}

    final = check_decision(current, {"identity": "good", OVERALL: "good"}, "The plan works")
    assert final == {"identity": Grade.GOOD, OVERALL: Grade.GOOD}
    assert changed_keys(current, final) == {OVERALL}


def test_a_decision_of_good_is_refused_when_the_outcomes_are_not_met():
    with pytest.raises(ModerationIncomplete):
        check_decision({OVERALL: Grade.INADEQUATE}, {OVERALL: "outstanding"}, "x",
                       outcomes_met=False)  # fmt: skip
