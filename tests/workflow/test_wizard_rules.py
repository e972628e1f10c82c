"""The wizard's steps and what stops an auditor moving on, as pure rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from workflow.grades import Grade
from workflow.tools import RecommendationScope, available_tools, load_tool
from workflow.wizard_rules import (
    CARD_TEXT_BUDGET,
    CONVERSATION,
    MAX_ROWS,
    SUMMARY,
    RecommendationRow,
    outcomes_met,
    parse_day,
    practitioner_contacted,
    primary_recommendations_step,
    recommendations,
    row_count,
    share_of_card,
    step_fields,
    validate_audit,
    validate_step,
    wizard_steps,
)

TODAY = date(2026, 12, 8)
COL = load_tool("col_practice_impact_review")
TH = load_tool("th_understanding_our_practice")
OWNERS = frozenset({"11", "12"})


def step(tool, step_id):
    return next(s for s in wizard_steps(tool) if s.id == step_id)


def check(tool, step_id, answers):
    steps = wizard_steps(tool)
    return validate_step(steps, step(tool, step_id), answers, today=TODAY, owners=OWNERS)


@pytest.mark.parametrize("tool", available_tools(), ids=lambda t: t.id)
def test_every_tool_is_walked_conversation_first_then_its_sections_then_the_summary(tool):
    steps = wizard_steps(tool)

    sections = steps[:-1] if tool.desktop else steps[1:-1]
    assert steps[-1].id == SUMMARY
    assert (steps[0].id == CONVERSATION) is not tool.desktop
    assert [s.id for s in sections] == [section.id for section in tool.sections]
    assert {s.id for s in steps}.isdisjoint({""}) and len({s.id for s in steps}) == len(steps)


def test_a_step_reads_only_the_inputs_its_kind_has():
    fields = step_fields(step(COL, "practice_standards"), {}, kloe_count=0, owners=OWNERS)
    assert [f.id for f in fields][:2] == ["item_basic_details", "item_visits_in_timescale"]
    assert fields[0].choices == {"met", "partly_met", "not_met", "not_applicable"}
    graded = step_fields(step(COL, "identity"), {}, kloe_count=0, owners=OWNERS)
    assert [f.id for f in graded] == ["grade", "rationale"]
    overall = step_fields(step(COL, "summary"), {}, kloe_count=0, owners=OWNERS)
    assert [f.id for f in overall] == ["grade", "rationale", "outcomes_met"]
    assert step_fields(step(TH, "practitioner_section"), {}, kloe_count=2, owners=OWNERS) == ()


def test_recommendation_rows_start_at_one_and_are_capped():
    assert row_count({}) == 1
    assert row_count({"rows": "3"}) == 3
    assert row_count({"rows": "999"}) == MAX_ROWS
    assert row_count({"rows": "nonsense"}) == 1
    fields = step_fields(
        step(TH, "smart_recommendations"), {"rows": "2"}, kloe_count=0, owners=OWNERS
    )
    assert [f.id for f in fields] == [
        "r0_action",
        "r0_impact",
        "r0_owner",
        "r0_due",
        "r1_action",
        "r1_impact",
        "r1_owner",
        "r1_due",
    ]
    assert fields[2].choices == OWNERS


def test_many_kloes_share_one_card_s_room():
    few = step_fields(step(TH, "key_lines_of_enquiry"), {}, kloe_count=2, owners=OWNERS)
    many = step_fields(step(TH, "key_lines_of_enquiry"), {}, kloe_count=20, owners=OWNERS)
    assert few[0].limit == 1500
    assert sum(f.limit for f in many) <= CARD_TEXT_BUDGET
    assert share_of_card(1000, 1500) == 200


def test_a_graded_step_needs_a_grade_and_a_rationale():
    assert check(COL, "identity", {}) == {
        "grade": "Choose a grade.",
        "rationale": "Give your rationale for this grade: every grade needs one.",
    }
    assert check(COL, "identity", {"identity": {"grade": "good", "rationale": "Shown"}}) == {}


def test_good_overall_while_outcomes_are_not_met_breaks_the_grade_rule():
    answers = {"summary": {"grade": "good", "rationale": "Why", "outcomes_met": "false"}}
    errors = check(COL, "summary", answers)
    assert "only Good or Outstanding when the child's outcomes are met" in errors["grade"]
    answers["summary"]["outcomes_met"] = "true"
    assert check(COL, "summary", answers) == {}


def test_sections_graded_good_while_outcomes_are_not_met_are_named_on_the_overall_step():
    answers = {
        "identity": {"grade": "outstanding"},
        "multi_agency": {"grade": "requires_improvement"},
        "summary": {"grade": "requires_improvement", "rationale": "Why", "outcomes_met": "false"},
    }
    errors = check(COL, "summary", answers)
    assert list(errors) == ["outcomes_met"]
    assert "Understanding of Identity and impact on practice" in errors["outcomes_met"]
    assert "multi-agency" not in errors["outcomes_met"]


def test_below_good_work_needs_a_child_level_recommendation():
    answers = {"identity": {"grade": "inadequate"}}
    errors = check(COL, "child_recommendations", answers)
    assert "graded below Good" in errors["rows"]
    assert check(COL, "service_recommendations", answers) == {}
    assert check(COL, "child_recommendations", {"identity": {"grade": "good"}}) == {}
    assert primary_recommendations_step(wizard_steps(COL)).id == "child_recommendations"


@pytest.mark.parametrize("days", [-1, 0])
def test_a_recommendation_needs_every_part_and_a_due_date_after_today(days: int):
    due = (TODAY + timedelta(days=days)).isoformat()
    row = {"r0_action": "Review the plan", "r0_impact": "", "r0_owner": "99", "r0_due": due}
    errors = check(COL, "child_recommendations", {"child_recommendations": row})
    assert errors == {
        "r0_impact": "Say what difference it will make for the child.",
        "r0_owner": "Choose who will do this.",
        "r0_due": "Give a date after today: a recommendation is what happens next.",
    }
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    row = {"r0_action": "A", "r0_impact": "B", "r0_owner": "11", "r0_due": tomorrow}
    assert check(COL, "child_recommendations", {"child_recommendations": row}) == {}


def test_an_empty_row_is_skipped_not_refused():
    assert check(COL, "child_recommendations", {"child_recommendations": {"rows": "3"}}) == {}


def test_the_conversation_needs_an_answer_and_a_past_date_when_held():
    assert "held" in check(COL, CONVERSATION, {})
    assert check(COL, CONVERSATION, {CONVERSATION: {"held": "no"}}) == {}
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    errors = check(COL, CONVERSATION, {CONVERSATION: {"held": "yes", "held_on": tomorrow}})
    assert errors == {"held_on": "The date of the audit conversation can't be in the future."}
    errors = check(COL, CONVERSATION, {CONVERSATION: {"held": "yes", "held_on": "8/12/2026"}})
    assert "as a date" in errors["held_on"]


def test_feedback_is_optional_per_source_but_complete_once_started():
    assert check(COL, "feedback", {}) == {}
    errors = check(COL, "feedback", {"feedback": {"worker_said": "Helpful"}})
    assert set(errors) == {"worker_on", "worker_method"}


def test_every_checklist_item_needs_an_answer():
    answers = {"practice_standards": {"item_basic_details": "met"}}
    errors = check(COL, "practice_standards", answers)
    assert len(errors) == 6 and "item_basic_details" not in errors


def test_a_required_narrative_needs_words():
    assert "text" in check(TH, "strengths", {"strengths": {"text": "  "}})
    assert check(TH, "strengths", {"strengths": {"text": "Warm"}}) == {}


def test_validate_audit_lists_every_step_to_put_right_in_order():
    found = validate_audit(wizard_steps(COL), {}, today=TODAY, owners=OWNERS)
    assert [s.id for s, _ in found][:3] == [
        CONVERSATION,
        "practice_standards",
        "journey_of_the_child",
    ]


def test_complete_rows_become_recommendations_with_their_scope_and_service_ones_unowned():
    answers = {
        "child_recommendations": {
            "rows": "2",
            "r0_action": "A",
            "r0_impact": "B",
            "r0_owner": "11",
            "r0_due": "2027-01-04",
            "r1_action": "Half done",
        },
        "service_recommendations": {
            "r0_action": "C",
            "r0_impact": "D",
            "r0_owner": "12",  # from a tampered card: the service gives it an owner
            "r0_due": "2027-02-01",
        },
    }
    assert recommendations(wizard_steps(COL), answers) == [
        RecommendationRow(RecommendationScope.CHILD, "A", "B", 11, date(2027, 1, 4)),
        RecommendationRow(RecommendationScope.SERVICE, "C", "D", None, date(2027, 2, 1)),
    ]


def test_answers_read_back_as_facts():
    steps = wizard_steps(COL)
    assert outcomes_met(steps, {"summary": {"outcomes_met": "true"}})
    assert not outcomes_met(steps, {})
    assert practitioner_contacted({CONVERSATION: {"held": "yes", "held_on": "2026-12-01"}})
    assert not practitioner_contacted({CONVERSATION: {"held": "yes"}})
    assert parse_day("2026-02-30") is None and parse_day("2026-02-28") == date(2026, 2, 28)
    assert Grade("good")  # grades are stored by value
