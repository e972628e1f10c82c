from collections import Counter

import pytest

from workflow.allocation import (
    Allocation,
    AuditorCandidate,
    CaseToAllocate,
    allocate,
    reallocate,
)
from workflow.errors import AllocationImpossible


def make_auditor(
    staff_id: str,
    *teams: str,
    trained: bool = True,
    can_moderate: bool = False,
    load: int = 0,
) -> AuditorCandidate:
    return AuditorCandidate(staff_id, frozenset(teams), trained, can_moderate, load)


def make_moderator(staff_id: str, *teams: str, load: int = 0) -> AuditorCandidate:
    return make_auditor(staff_id, *teams, can_moderate=True, load=load)


def make_case(
    ref: str, team: str = "T1", practitioner: str = "pr", involved: tuple[str, ...] = ()
) -> CaseToAllocate:
    return CaseToAllocate(ref, team, practitioner, frozenset(involved))


def rules_broken(raised: pytest.ExceptionInfo[AllocationImpossible]) -> set[tuple[str, str]]:
    return {(p.case_ref, p.rule) for p in raised.value.problems}


def test_allocates_an_independent_trained_auditor_and_a_different_moderator():
    result = allocate(
        [make_case("C1", team="T1")],
        [make_auditor("a1", "T1"), make_auditor("a2", "T2")],
        [make_moderator("m1", "T1"), make_moderator("m2", "T3")],
    )
    assert result == [Allocation("C1", "a2", "m2")]


def test_untrained_auditor_is_never_chosen():
    result = allocate(
        [make_case("C1")],
        [make_auditor("a1", "T2", trained=False), make_auditor("a2", "T2")],
        [make_moderator("m1", "T3")],
    )
    assert result[0].auditor_id == "a2"


def test_practitioner_and_involved_staff_are_never_chosen():
    case = make_case("C1", team="T1", practitioner="a1", involved=("a2", "m1"))
    result = allocate(
        [case],
        [make_auditor("a1", "T2"), make_auditor("a2", "T2"), make_auditor("a3", "T2")],
        [make_moderator("m1", "T3"), make_moderator("m2", "T3")],
    )
    assert result == [Allocation("C1", "a3", "m2")]


def test_moderator_is_never_the_auditor():
    # x is least loaded in both lists; they may audit or moderate, not both.
    people_auditing = [make_auditor("x", "T2"), make_auditor("y", "T2", load=3)]
    people_moderating = [make_moderator("x", "T2"), make_moderator("z", "T2", load=3)]
    result = allocate([make_case("C1")], people_auditing, people_moderating)
    assert result == [Allocation("C1", "x", "z")]


def test_sole_possible_moderator_is_kept_free_to_moderate():
    result = allocate(
        [make_case("C1")],
        [make_auditor("m1", "T2"), make_auditor("a2", "T2", load=9)],
        [make_moderator("m1", "T2")],
    )
    assert result == [Allocation("C1", "a2", "m1")]


def test_load_is_spread_evenly_counting_existing_load():
    cases = [make_case(f"C{i:02}") for i in range(9)]
    auditors = [
        make_auditor("a1", "T2", load=3),
        make_auditor("a2", "T2"),
        make_auditor("a3", "T2"),
    ]
    moderators = [make_moderator("m1", "T3"), make_moderator("m2", "T3")]
    result = allocate(cases, auditors, moderators)
    # 3 + 9 audits over three people is 4 each once the new work is counted.
    assert Counter(a.auditor_id for a in result) == {"a1": 1, "a2": 4, "a3": 4}
    assert Counter(a.moderator_id for a in result) == {"m1": 5, "m2": 4}


def test_ties_go_to_the_lowest_staff_id():
    result = allocate(
        [make_case("C1")],
        [make_auditor("b", "T2"), make_auditor("a", "T2")],
        [make_moderator("n", "T3"), make_moderator("m", "T3")],
    )
    assert result == [Allocation("C1", "a", "m")]


def test_same_input_in_any_order_gives_the_same_allocation():
    cases = [make_case(f"C{i:02}", team=f"T{i % 3}") for i in range(20)]
    auditors = [make_auditor(f"a{i}", f"T{i % 3}") for i in range(7)]
    moderators = [make_moderator(f"m{i}", f"T{(i + 1) % 3}") for i in range(4)]
    first = allocate(cases, auditors, moderators)
    again = allocate(list(reversed(cases)), list(reversed(auditors)), list(reversed(moderators)))
    assert first == again
    assert [a.case_ref for a in first] == sorted(a.case_ref for a in first)


def test_no_trained_auditor_is_reported_as_auditor_trained():
    with pytest.raises(AllocationImpossible) as raised:
        allocate(
            [make_case("C1")],
            [make_auditor("a1", "T2", trained=False)],
            [make_moderator("m1", "T3")],
        )
    assert rules_broken(raised) == {("C1", "auditor_trained")}


def test_all_trained_auditors_in_the_team_is_reported_as_auditor_independent():
    with pytest.raises(AllocationImpossible) as raised:
        allocate(
            [make_case("C1", team="T1")],
            [
                make_auditor("a1", "T1"),
                make_auditor("a2", "T1", "T2"),
                make_auditor("a3", trained=False),
            ],
            [make_moderator("m1", "T3")],
        )
    assert rules_broken(raised) == {("C1", "auditor_independent")}
    assert "C1" in str(raised.value)
    assert "independent" in str(raised.value)


def test_all_independent_auditors_involved_is_reported_as_auditor_not_involved():
    with pytest.raises(AllocationImpossible) as raised:
        allocate(
            [make_case("C1", practitioner="a1", involved=("a2",))],
            [make_auditor("a1", "T2"), make_auditor("a2", "T2")],
            [make_moderator("m1", "T3")],
        )
    assert rules_broken(raised) == {("C1", "auditor_not_involved")}


def test_no_auditors_at_all_is_reported():
    with pytest.raises(AllocationImpossible) as raised:
        allocate([make_case("C1")], [], [make_moderator("m1", "T3")])
    assert rules_broken(raised) == {("C1", "no_auditor")}


def test_nobody_who_can_moderate_is_reported_as_no_moderator():
    with pytest.raises(AllocationImpossible) as raised:
        allocate([make_case("C1")], [make_auditor("a1", "T2")], [make_auditor("x", "T3")])
    assert rules_broken(raised) == {("C1", "no_moderator")}


def test_moderators_only_in_the_team_is_reported_as_moderator_independent():
    with pytest.raises(AllocationImpossible) as raised:
        allocate(
            [make_case("C1", team="T1")], [make_auditor("a1", "T2")], [make_moderator("m1", "T1")]
        )
    assert rules_broken(raised) == {("C1", "moderator_independent")}


def test_involved_moderator_is_reported_as_moderator_not_involved():
    with pytest.raises(AllocationImpossible) as raised:
        allocate(
            [make_case("C1", involved=("m1",))],
            [make_auditor("a1", "T2")],
            [make_moderator("m1", "T3")],
        )
    assert rules_broken(raised) == {("C1", "moderator_not_involved")}


def test_only_one_person_for_both_jobs_is_reported_as_moderator_not_auditor():
    with pytest.raises(AllocationImpossible) as raised:
        allocate([make_case("C1")], [make_auditor("x", "T2")], [make_moderator("x", "T2")])
    assert rules_broken(raised) == {("C1", "moderator_not_auditor")}
    assert "moderate their own audit" in str(raised.value)


def test_every_failing_case_and_rule_is_listed_and_nothing_is_allocated():
    cases = [
        make_case("C1", team="T1"),
        make_case("C2", team="T2"),
        make_case("C3", team="T3", practitioner="a2"),
    ]
    with pytest.raises(AllocationImpossible) as raised:
        allocate(cases, [make_auditor("a2", "T1")], [make_moderator("m1", "T2")])
    assert rules_broken(raised) == {
        ("C1", "auditor_independent"),
        ("C2", "moderator_independent"),
        ("C3", "auditor_not_involved"),
    }
    assert raised.value.case_refs == ["C1", "C2", "C3"]
    assert str(raised.value).startswith("3 cases could not be allocated.")


def test_duplicate_case_references_are_refused():
    with pytest.raises(ValueError, match="C1"):
        allocate(
            [make_case("C1"), make_case("C1")],
            [make_auditor("a1", "T2")],
            [make_moderator("m", "T3")],
        )


def test_500_cases_and_60_auditors_are_allocated_evenly():
    """How fast is bench/allocate_500.py's to say; here only what is allocated."""
    teams = [f"T{i}" for i in range(12)]
    cases = [
        make_case(
            f"C{i:04}", team=teams[i % 12], practitioner=f"p{i % 90}", involved=(f"a{i % 60}",)
        )
        for i in range(500)
    ]
    auditors = [make_auditor(f"a{i:02}", teams[i % 12], load=i % 3) for i in range(60)]
    moderators = [make_moderator(f"a{i:02}", teams[(i + 5) % 12]) for i in range(0, 60, 4)]
    result = allocate(cases, auditors, moderators)
    assert len(result) == 500
    loads = Counter(a.auditor_id for a in result)
    final = [loads[f"a{i:02}"] + i % 3 for i in range(60)]
    assert max(final) - min(final) <= 2


# Reallocation after an exemption


AUDITORS = [
    make_auditor("a1", "T2"),
    make_auditor("a2", "T2", load=1),
    make_auditor("a3", "T3", load=2),
]
MODERATORS = [make_moderator("m1", "T3"), make_moderator("m2", "T3", load=5)]


def test_reallocate_replaces_exempt_auditor_and_keeps_the_moderator():
    current = Allocation("C1", "a1", "m1")
    result = reallocate(make_case("C1"), AUDITORS, MODERATORS, excluding="a1", current=current)
    assert result == Allocation("C1", "a2", "m1")


def test_reallocate_skips_others_already_exempted():
    current = Allocation("C1", "a1", "m1")
    result = reallocate(
        make_case("C1"), AUDITORS, MODERATORS, excluding="a1", current=current, unavailable={"a2"}
    )
    assert result == Allocation("C1", "a3", "m1")


def test_reallocate_replaces_exempt_moderator_and_keeps_the_auditor():
    current = Allocation("C1", "a1", "m1")
    result = reallocate(make_case("C1"), AUDITORS, MODERATORS, excluding="m1", current=current)
    assert result == Allocation("C1", "a1", "m2")


def test_reallocate_chooses_both_afresh_when_only_the_moderator_could_audit():
    auditors = [make_auditor("a1", "T2"), make_auditor("m1", "T2")]
    moderators = [make_moderator("m1", "T3"), make_moderator("m2", "T3")]
    current = Allocation("C1", "a1", "m1")
    result = reallocate(make_case("C1"), auditors, moderators, excluding="a1", current=current)
    assert result == Allocation("C1", "m1", "m2")


def test_reallocate_with_nobody_left_raises_allocation_impossible():
    current = Allocation("C1", "a1", "m1")
    with pytest.raises(AllocationImpossible) as raised:
        reallocate(
            make_case("C1", team="T2"), AUDITORS[:2], MODERATORS, excluding="a1", current=current
        )
    assert rules_broken(raised) == {("C1", "auditor_independent")}


def test_reallocate_moderator_with_nobody_left_raises():
    current = Allocation("C1", "a1", "m1")
    with pytest.raises(AllocationImpossible) as raised:
        reallocate(make_case("C1"), AUDITORS, MODERATORS[:1], excluding="m1", current=current)
    assert rules_broken(raised) == {("C1", "no_moderator")}


def test_reallocate_someone_not_on_the_case_is_a_value_error():
    with pytest.raises(ValueError):
        reallocate(
            make_case("C1"),
            AUDITORS,
            MODERATORS,
            excluding="a3",
            current=Allocation("C1", "a1", "m1"),
        )
