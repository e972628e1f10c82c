"""The automatic completeness check (DOMAIN.md step 6), as pure rules."""

from __future__ import annotations

from workflow.completeness import Gap, check_completeness, first_gap_step
from workflow.tools import load_tool
from workflow.wizard_rules import CONVERSATION, wizard_steps

COL = wizard_steps(load_tool("col_practice_impact_review"))
TH = wizard_steps(load_tool("th_understanding_our_practice"))
DOMAINS = (
    "journey_of_the_child",
    "needs_support_outcomes",
    "management_oversight",
    "identity",
    "multi_agency",
    "summary",
)
ROW = {"r0_action": "A", "r0_impact": "B", "r0_owner": "11", "r0_due": "2027-01-04"}


def complete(grade: str = "good") -> dict[str, dict[str, str]]:
    answers: dict[str, dict[str, str]] = {
        CONVERSATION: {"held": "yes", "held_on": "2026-12-01"},
        "review_focus": {"kloe_1": "Seen", "kloe_2": "Seen"},
        "child_recommendations": dict(ROW),
    }
    for section in DOMAINS:
        answers[section] = {"grade": grade, "rationale": "Because"}
    return answers


def test_a_complete_audit_has_no_gaps():
    assert check_completeness(COL, complete(), kloe_count=2) == []
    assert check_completeness(COL, complete("inadequate"), kloe_count=2) == []


def test_each_missing_grade_and_rationale_is_a_gap_at_its_step():
    answers = complete()
    answers["identity"] = {"grade": "", "rationale": ""}
    answers["summary"] = {"grade": "good", "rationale": " "}

    gaps = check_completeness(COL, answers, kloe_count=2)

    assert gaps == [
        Gap("identity", "Understanding of Identity and impact on practice: not graded."),
        Gap(
            "identity",
            "Understanding of Identity and impact on practice: no rationale for the grade.",
        ),
        Gap("summary", "Summary of findings and grading: no rationale for the grade."),
    ]


def test_kloes_not_commented_on_are_named():
    answers = complete()
    answers["review_focus"] = {"kloe_1": "Seen"}
    assert check_completeness(COL, answers, kloe_count=3) == [
        Gap("review_focus", "KLOEs 2, 3 not addressed.")
    ]
    assert check_completeness(COL, complete(), kloe_count=0) == []


def test_below_good_work_without_recommendations_is_a_gap():
    answers = complete("requires_improvement")
    del answers["child_recommendations"]
    assert check_completeness(COL, answers, kloe_count=2) == [
        Gap("child_recommendations", "Graded below Good, but there are no recommendations.")
    ]
    answers["service_recommendations"] = dict(ROW)  # any recommendation will do here
    assert check_completeness(COL, answers, kloe_count=2) == []


def test_no_recorded_conversation_with_the_practitioner_is_a_gap_first():
    answers = complete()
    answers[CONVERSATION] = {"held": "no"}
    answers["identity"] = {}

    gaps = check_completeness(COL, answers, kloe_count=2)

    assert gaps[0] == Gap(CONVERSATION, "No audit conversation with the practitioner is recorded.")
    assert first_gap_step(COL, gaps) == CONVERSATION


def test_a_returned_audit_with_no_gaps_reopens_at_the_first_step():
    assert first_gap_step(TH, []) == CONVERSATION


def test_gaps_never_quote_what_was_written():
    answers = complete()
    answers["identity"] = {"grade": "", "rationale": "Child's name is here"}
    assert all("name" not in gap.what for gap in check_completeness(COL, answers, kloe_count=2))


def test_a_desktop_audit_needs_no_conversation_with_the_practitioner():
    desktop = wizard_steps(load_tool("hillingdon_ad_hoc_desktop"))
    answers: dict[str, dict[str, str]] = {"key_lines_of_enquiry": {"kloe_1": "Seen"}}
    for step in desktop:
        if step.section is not None and step.section.graded:
            answers[step.id] = {"grade": "good", "rationale": "Because"}
    answers["smart_recommendations"] = {
        "r0_action": "A", "r0_impact": "B", "r0_by_whom": "TM", "r0_by_when": "2027-01-04"
    }  # fmt: skip

    gaps = check_completeness(desktop, answers, kloe_count=1)

    assert not any(gap.step_id == CONVERSATION for gap in gaps)
    # The same answers on the monthly tool, done with the practitioner, miss the conversation.
    monthly = wizard_steps(load_tool("hillingdon_monthly_audit"))
    assert any(
        gap.step_id == CONVERSATION for gap in check_completeness(monthly, answers, kloe_count=1)
    )
