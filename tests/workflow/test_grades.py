import pytest

from workflow.errors import GradeRuleBroken, WorkflowError
from workflow.grades import Grade, check_grade, parse_grade


@pytest.mark.parametrize("grade", [Grade.GOOD, Grade.OUTSTANDING])
def test_good_or_outstanding_without_outcomes_met_breaks_the_rule(grade):
    with pytest.raises(GradeRuleBroken) as raised:
        check_grade(grade, outcomes_met=False, case_ref="CSC-2231")
    assert raised.value.case_ref == "CSC-2231"
    assert "CSC-2231" in str(raised.value)
    assert grade.label in str(raised.value)


def test_grade_rule_broken_is_a_workflow_error():
    assert issubclass(GradeRuleBroken, WorkflowError)


def test_section_grade_is_checked_the_same_way_and_named():
    with pytest.raises(GradeRuleBroken, match="management oversight"):
        check_grade(Grade.GOOD, False, case_ref="CSC-1", section="management oversight")


@pytest.mark.parametrize("grade", list(Grade))
def test_any_grade_is_fine_when_outcomes_are_met(grade):
    assert check_grade(grade, outcomes_met=True) is None


@pytest.mark.parametrize("grade", [Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE])
def test_below_good_is_fine_when_outcomes_are_not_met(grade):
    assert check_grade(grade, outcomes_met=False) is None


def test_rank_orders_grades_and_below_good():
    assert [g.rank for g in Grade] == [4, 3, 2, 1]
    assert [g.is_below_good for g in Grade] == [False, False, True, True]


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("good", Grade.GOOD),
        ("Outstanding", Grade.OUTSTANDING),
        ("requires_improvement", Grade.REQUIRES_IMPROVEMENT),
        ("Requires Improvement to be Good", Grade.REQUIRES_IMPROVEMENT),
        ("RI", Grade.REQUIRES_IMPROVEMENT),
        ("  inadequate ", Grade.INADEQUATE),
    ],
)
def test_parse_grade_accepts_values_labels_and_ri(text, grade):
    assert parse_grade(text) is grade


def test_parse_grade_refuses_anything_else():
    with pytest.raises(ValueError):
        parse_grade("satisfactory")
