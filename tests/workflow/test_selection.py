import random

import pytest

from workflow.errors import SelectionError
from workflow.selection import (
    OpenCase,
    Shortfall,
    reaudit_sample,
    select_by_criteria,
    select_random,
)


def make_case(ref: str, team: str = "A", practitioner: str = "p1", **attributes: str) -> OpenCase:
    return OpenCase(ref, team, practitioner, attributes)


def make_cases(team: str, count: int, prefix: str | None = None) -> list[OpenCase]:
    prefix = prefix or team
    return [make_case(f"{prefix}-{i:03}", team, f"{team}-p{i % 4}") for i in range(count)]


def shuffled(items, seed):
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


ALL_CASES = make_cases("A", 12) + make_cases("B", 5) + make_cases("C", 30)


def test_same_seed_and_cases_in_any_order_give_the_same_sample():
    first = select_random(ALL_CASES, seed=42, total=10)
    for order_seed in range(5):
        again = select_random(shuffled(ALL_CASES, order_seed), seed=42, total=10)
        assert again.case_refs == first.case_refs


def test_different_seeds_give_different_samples():
    assert (
        select_random(ALL_CASES, seed=1, total=10).case_refs
        != select_random(ALL_CASES, seed=2, total=10).case_refs
    )


def test_string_seed_is_reproducible():
    first = select_random(ALL_CASES, seed="2026-03 cycle", total=7)
    assert select_random(reversed(ALL_CASES), seed="2026-03 cycle", total=7) == first


def test_random_total_explains_itself():
    selection = select_random(make_cases("A", 12), seed=42, total=3)
    assert len(selection.cases) == 3
    assert selection.method == "random"
    assert selection.seed == 42
    assert selection.explanation == "3 of 12 open cases at random, seed 42."
    assert selection.shortfalls == ()


def test_quota_explanation_names_the_team():
    selection = select_random(ALL_CASES, seed=42, quotas={"A": 3}, team_names={"A": "Team A"})
    assert selection.explanation == "3 of 12 open cases in Team A at random, seed 42."
    assert {case.team_id for case in selection.cases} == {"A"}


def test_quotas_pick_from_each_team():
    selection = select_random(ALL_CASES, seed=7, quotas={"A": 2, "C": 4})
    teams = [case.team_id for case in selection.cases]
    assert teams.count("A") == 2
    assert teams.count("C") == 4
    assert "B" not in teams


def test_team_with_fewer_cases_than_its_quota_gives_all_and_says_so():
    selection = select_random(ALL_CASES, seed=7, quotas={"A": 2, "B": 8})
    assert [c.case_ref for c in selection.cases if c.team_id == "B"] == [
        f"B-{i:03}" for i in range(5)
    ]
    assert selection.shortfalls == (Shortfall("B", 8, 5),)
    assert "asked for 8; the team has only 5" in selection.explanation


def test_team_with_no_open_cases_is_a_shortfall():
    selection = select_random(ALL_CASES, seed=7, quotas={"Z": 2})
    assert selection.cases == ()
    assert selection.shortfalls == (Shortfall("Z", 2, 0),)


def test_changing_one_teams_quota_leaves_other_teams_samples_alone():
    before = select_random(ALL_CASES, seed=9, quotas={"A": 3, "C": 5})
    after = select_random(ALL_CASES, seed=9, quotas={"A": 3, "C": 8})
    team_a = [c.case_ref for c in before.cases if c.team_id == "A"]
    assert team_a == [c.case_ref for c in after.cases if c.team_id == "A"]


def test_quotas_with_total_top_up_from_the_cases_left():
    selection = select_random(ALL_CASES, seed=3, total=10, quotas={"B": 8})
    assert len(selection.cases) == 10
    assert sum(1 for c in selection.cases if c.team_id == "B") >= 5
    assert len(set(selection.case_refs)) == 10
    assert "5 more of the 42 open cases left, at random" in selection.explanation


def test_total_smaller_than_quotas_is_refused():
    with pytest.raises(SelectionError):
        select_random(ALL_CASES, seed=3, total=2, quotas={"A": 2, "B": 2})


def test_total_larger_than_open_cases_gives_all_and_says_so():
    selection = select_random(make_cases("A", 4), seed=1, total=6)
    assert len(selection.cases) == 4
    assert selection.shortfalls == (Shortfall(None, 6, 4),)
    assert "only 4 could be picked" in selection.explanation


def test_select_random_needs_a_total_or_quotas():
    with pytest.raises(SelectionError):
        select_random(ALL_CASES, seed=1)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_counts_are_refused(bad):
    with pytest.raises(SelectionError):
        select_random(ALL_CASES, seed=1, total=bad)
    with pytest.raises(SelectionError):
        select_random(ALL_CASES, seed=1, quotas={"A": bad})


def test_duplicate_case_references_are_refused():
    with pytest.raises(SelectionError, match="A-001"):
        select_random([*make_cases("A", 3), make_case("A-001", "B")], seed=1, total=2)


def test_selected_cases_are_sorted_by_case_reference():
    refs = select_random(ALL_CASES, seed=11, total=15).case_refs
    assert refs == sorted(refs)


THEMATIC = [
    make_case("T-1", disability="yes", plan="CP"),
    make_case("T-2", disability="yes", plan="CIN"),
    make_case("T-3", disability="no", plan="CP"),
    make_case("T-4", disability="yes", plan="EH"),
    make_case("T-5", plan="CP"),
]


def test_select_by_criteria_matches_equal_value():
    selection = select_by_criteria(THEMATIC, {"disability": "yes"})
    assert selection.case_refs == ["T-1", "T-2", "T-4"]
    assert selection.method == "criteria"
    assert selection.seed is None
    assert selection.explanation == "3 of 5 open cases where disability is yes."


def test_select_by_criteria_matches_value_in_a_set_and_combines_with_and():
    selection = select_by_criteria(THEMATIC, {"disability": "yes", "plan": {"CP", "CIN"}})
    assert selection.case_refs == ["T-1", "T-2"]
    assert "plan is one of CIN, CP" in selection.explanation


def test_select_by_criteria_missing_attribute_does_not_match():
    assert "T-5" not in select_by_criteria(THEMATIC, {"disability": {"yes", "no"}}).case_refs


def test_select_by_criteria_with_total_samples_the_matches_reproducibly():
    first = select_by_criteria(THEMATIC, {"plan": "CP"}, total=2, seed=5)
    again = select_by_criteria(list(reversed(THEMATIC)), {"plan": "CP"}, total=2, seed=5)
    assert first == again
    assert len(first.cases) == 2
    assert set(first.case_refs) <= {"T-1", "T-3", "T-5"}
    assert first.explanation.endswith("at random, seed 5.")


def test_select_by_criteria_total_needs_a_seed():
    with pytest.raises(SelectionError):
        select_by_criteria(THEMATIC, {"plan": "CP"}, total=2)


def test_select_by_criteria_needs_a_criterion():
    with pytest.raises(SelectionError):
        select_by_criteria(THEMATIC, {})


def test_select_by_criteria_refuses_an_empty_value_set():
    with pytest.raises(SelectionError, match="plan"):
        select_by_criteria(THEMATIC, {"plan": set()})


def test_reaudit_sample_is_ten_percent_rounded_up():
    refs = [f"R-{i:02}" for i in range(30)]
    assert len(reaudit_sample(refs, 0.10, seed=1).case_refs) == 3
    assert len(reaudit_sample(refs[:21], 0.10, seed=1).case_refs) == 3


def test_reaudit_sample_is_at_least_one_when_any_work_was_below_good():
    sample = reaudit_sample(["R-1", "R-2"], 0.10, seed=1)
    assert len(sample.case_refs) == 1
    assert "at least one" in sample.explanation


def test_reaudit_sample_of_nothing_is_empty():
    assert reaudit_sample([], 0.10, seed=1).case_refs == ()


def test_reaudit_sample_is_reproducible_in_any_order():
    refs = [f"R-{i:02}" for i in range(40)]
    first = reaudit_sample(refs, 0.10, seed="cycle-2")
    assert reaudit_sample(shuffled(refs, 3), 0.10, seed="cycle-2") == first
    assert list(first.case_refs) == sorted(first.case_refs)


def test_reaudit_sample_of_everything():
    refs = ["R-1", "R-2", "R-3"]
    assert reaudit_sample(refs, 1.0, seed=1).case_refs == ("R-1", "R-2", "R-3")


@pytest.mark.parametrize("bad", [0, -0.1, 1.5])
def test_reaudit_sample_refuses_a_bad_fraction(bad):
    with pytest.raises(SelectionError):
        reaudit_sample(["R-1"], bad, seed=1)
