"""The moderation sample: the same audit always draws the same number, the sample is the
share the programme says, and every decision says why in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.allocation import (
    AllocationImpossible,
    AuditorCandidate,
    CaseToAllocate,
    allocate,
    choose_moderator,
)
from workflow.grades import Grade
from workflow.moderation_sample import decide, draw
from workflow.words import ordinal


@given(st.integers(min_value=0, max_value=2**31), st.integers(min_value=1, max_value=10**9))
def test_a_draw_is_the_same_every_time_and_between_0_and_1(seed: int, audit_id: int) -> None:
    assert draw(seed, audit_id) == draw(seed, audit_id)
    assert 0 <= draw(seed, audit_id) < 1


def test_a_percentage_sample_takes_about_that_share() -> None:
    inside = [decide(seed=7, audit_id=i, initial_grade=Grade.GOOD, percent=20).in_sample
              for i in range(1, 2001)]  # fmt: skip
    assert 340 <= sum(inside) <= 460  # 20% of 2000 is 400


def test_a_percentage_decision_says_its_draw_and_the_line() -> None:
    decision = decide(seed=3, audit_id=3, initial_grade=Grade.GOOD, percent=30)
    assert decision.in_sample
    assert decision.why == (
        "In the 30% moderation sample: this audit's draw from the cycle's seed 3 is 0.191, "
        "and draws under 0.30 are moderated."
    )
    assert not decide(seed=3, audit_id=1, initial_grade=Grade.GOOD, percent=30).in_sample


def test_a_sample_per_cycle_takes_the_lowest_draws_whatever_the_order_of_submission() -> None:
    ids = [1, 2, 3, 4, 5, 6, 7, 8]
    chosen = {i for i in ids
              if decide(seed=3, audit_id=i, initial_grade=Grade.GOOD, per_cycle=2,
                        cycle_audit_ids=reversed(ids)).in_sample}  # fmt: skip
    assert chosen == {6, 3}  # draws 0.047 and 0.191
    words = decide(seed=3, audit_id=3, initial_grade=Grade.GOOD, per_cycle=2, cycle_audit_ids=ids)
    assert "is the 2nd lowest of 8, and the 2 lowest are moderated" in words.why


def test_work_below_the_line_is_always_moderated() -> None:
    decision = decide(seed=3, audit_id=1, initial_grade=Grade.INADEQUATE, percent=1,
                      always_below=Grade.GOOD)  # fmt: skip
    assert decision.in_sample
    assert "graded Inadequate, and work below Good is always moderated" in decision.why


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip


CASE = CaseToAllocate(case_ref="C1", team_id="t1", practitioner_id="p1")


def person(staff_id: str, *, teams: frozenset[str] = frozenset(), load: int = 0):
    return AuditorCandidate(staff_id, teams, trained=True, can_moderate=True, load=load)


def test_allocation_without_moderators_names_an_auditor_only() -> None:
    [allocation] = allocate([CASE], [person("a1")], None)
    assert (allocation.auditor_id, allocation.moderator_id) == ("a1", None)


def test_a_moderator_chosen_later_is_independent_not_the_auditor_and_least_loaded() -> None:
    people = [person("a1"), person("m1", load=3), person("m2", load=1),
              person("m3", teams=frozenset({"t1"}))]  # fmt: skip
    assert choose_moderator(CASE, people, auditor_id="a1") == "m2"
    with pytest.raises(AllocationImpossible) as refused:
        choose_moderator(CASE, [person("a1")], auditor_id="a1")
    assert refused.value.problems[0].rule == "moderator_not_auditor"
