"""Giving each case an auditor and a moderator.

The rules (DOMAIN.md, "Allocation"): an auditor has completed auditor
training, is independent of the team that holds the work (not a member of
it), and has no direct involvement in the case (the practitioner is the
most involved of all). A moderator can moderate, is likewise independent
and uninvolved, and never moderates their own audit.

Work is spread fairly: each case goes to the least loaded eligible person,
counting the load they already carry and what this run has given them;
ties go to the lowest staff id, and cases are taken in case reference order,
so the same input always gives the same allocation. Auditing and moderating
loads are counted separately (each candidate's `load` is for the list it is
in), because the two jobs take very different time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from workflow.errors import AllocationImpossible, AllocationProblem


@dataclass(frozen=True)
class AuditorCandidate:
    staff_id: str
    team_ids: frozenset[str]
    trained: bool
    can_moderate: bool
    load: int = 0


@dataclass(frozen=True)
class CaseToAllocate:
    case_ref: str
    team_id: str
    practitioner_id: str
    involved_staff_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Allocation:
    case_ref: str
    auditor_id: str
    # None where the programme names no moderator at allocation (a sample drawn later, or
    # no moderation at all).
    moderator_id: str | None


_Check = Callable[[CaseToAllocate, AuditorCandidate], bool]


def _independent(case: CaseToAllocate, person: AuditorCandidate) -> bool:
    return case.team_id not in person.team_ids


def _not_involved(case: CaseToAllocate, person: AuditorCandidate) -> bool:
    return (
        person.staff_id != case.practitioner_id and person.staff_id not in case.involved_staff_ids
    )


# Each list is applied in order; the first check that leaves nobody is the
# most specific rule that could not be met.
_AUDITOR_CHECKS: tuple[tuple[str, _Check], ...] = (
    ("auditor_trained", lambda case, person: person.trained),
    ("auditor_independent", _independent),
    ("auditor_not_involved", _not_involved),
)
_MODERATOR_CHECKS: tuple[tuple[str, _Check], ...] = (
    ("no_moderator", lambda case, person: person.can_moderate),
    ("moderator_independent", _independent),
    ("moderator_not_involved", _not_involved),
)

_MESSAGES: dict[str, str] = {
    "no_auditor": "Case {ref}: there are no auditors to choose from.",
    "auditor_trained": "Case {ref}: none of the available auditors has completed auditor training.",
    "auditor_independent": (
        "Case {ref}: every trained auditor works in team {team}, which holds the case, "
        "and an auditor must be independent of that team."
    ),
    "auditor_not_involved": (
        "Case {ref}: every trained auditor from outside team {team} is the practitioner "
        "or is directly involved in the case."
    ),
    "no_moderator": "Case {ref}: nobody available can moderate.",
    "moderator_independent": (
        "Case {ref}: everyone who can moderate works in team {team}, which holds the case, "
        "and a moderator must be independent of that team."
    ),
    "moderator_not_involved": (
        "Case {ref}: everyone who can moderate from outside team {team} is the practitioner "
        "or is directly involved in the case."
    ),
    "moderator_not_auditor": (
        "Case {ref}: the only person who could moderate it is also the only person who "
        "could audit it, and nobody may moderate their own audit."
    ),
}


def _problem(rule: str, case: CaseToAllocate) -> AllocationProblem:
    return AllocationProblem(
        rule, case.case_ref, _MESSAGES[rule].format(ref=case.case_ref, team=case.team_id)
    )


def _eligible(
    case: CaseToAllocate,
    people: Iterable[AuditorCandidate],
    checks: Sequence[tuple[str, _Check]],
    empty_rule: str,
) -> tuple[list[AuditorCandidate], str | None]:
    """The people who pass every check, or ([], the rule that left nobody)."""
    remaining = list(people)
    if not remaining:
        return [], empty_rule
    for rule, check in checks:
        remaining = [person for person in remaining if check(case, person)]
        if not remaining:
            return [], rule
    return remaining, None


def _least_loaded(people: Iterable[AuditorCandidate], loads: dict[str, int]) -> AuditorCandidate:
    return min(people, key=lambda person: (loads[person.staff_id], person.staff_id))


def _check_unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} {item} appears more than once.")
        seen.add(item)


def _allocate_case(
    case: CaseToAllocate,
    auditors: Sequence[AuditorCandidate],
    moderators: Sequence[AuditorCandidate],
    auditor_loads: dict[str, int],
    moderator_loads: dict[str, int],
) -> Allocation | list[AllocationProblem]:
    possible_auditors, auditor_rule = _eligible(case, auditors, _AUDITOR_CHECKS, "no_auditor")
    possible_moderators, moderator_rule = _eligible(
        case, moderators, _MODERATOR_CHECKS, "no_moderator"
    )
    problems = [_problem(rule, case) for rule in (auditor_rule, moderator_rule) if rule]
    if problems:
        return problems
    if len(possible_moderators) == 1 and len(possible_auditors) > 1:
        # Keep the only possible moderator free to moderate.
        sole = possible_moderators[0].staff_id
        possible_auditors = [p for p in possible_auditors if p.staff_id != sole]
    auditor = _least_loaded(possible_auditors, auditor_loads)
    possible_moderators = [p for p in possible_moderators if p.staff_id != auditor.staff_id]
    if not possible_moderators:
        return [_problem("moderator_not_auditor", case)]
    moderator = _least_loaded(possible_moderators, moderator_loads)
    return Allocation(case.case_ref, auditor.staff_id, moderator.staff_id)


def _auditor_only(
    case: CaseToAllocate, auditors: Sequence[AuditorCandidate], loads: dict[str, int]
) -> Allocation | list[AllocationProblem]:
    possible, rule = _eligible(case, auditors, _AUDITOR_CHECKS, "no_auditor")
    if rule:
        return [_problem(rule, case)]
    return Allocation(case.case_ref, _least_loaded(possible, loads).staff_id, None)


def choose_moderator(
    case: CaseToAllocate, moderators: Sequence[AuditorCandidate], *, auditor_id: str
) -> str:
    """A moderator for one audit chosen after allocation (drawn for a sample): independent
    of the case's team, not involved, not its auditor, the least loaded. Raises
    AllocationImpossible naming the rule that left nobody."""
    possible, rule = _eligible(case, moderators, _MODERATOR_CHECKS, "no_moderator")
    possible = [person for person in possible if person.staff_id != auditor_id]
    if rule is None and not possible:
        rule = "moderator_not_auditor"
    if rule is not None:
        raise AllocationImpossible([_problem(rule, case)])
    return _least_loaded(possible, {p.staff_id: p.load for p in possible}).staff_id


def allocate(
    cases: Iterable[CaseToAllocate],
    auditors: Sequence[AuditorCandidate],
    moderators: Sequence[AuditorCandidate] | None,
) -> list[Allocation]:
    """An auditor and a moderator for every case, in case reference order; with
    `moderators=None`, an auditor only (the programme names moderators later, or never).

    All or nothing: if any case cannot be allocated, raises
    AllocationImpossible listing every such case with the most specific rule
    that could not be met (e.g. "auditor_independent" when every trained
    auditor is in the case's team). Duplicate case references or staff ids
    within a list are a ValueError.
    """
    ordered = sorted(cases, key=lambda case: case.case_ref)
    _check_unique("Case", [case.case_ref for case in ordered])
    _check_unique("Auditor", [person.staff_id for person in auditors])
    _check_unique("Moderator", [person.staff_id for person in moderators or ()])
    auditor_loads = {person.staff_id: person.load for person in auditors}
    moderator_loads = {person.staff_id: person.load for person in moderators or ()}

    allocations: list[Allocation] = []
    problems: list[AllocationProblem] = []
    for case in ordered:
        if moderators is None:
            result = _auditor_only(case, auditors, auditor_loads)
        else:
            result = _allocate_case(case, auditors, moderators, auditor_loads, moderator_loads)
        if isinstance(result, Allocation):
            allocations.append(result)
            auditor_loads[result.auditor_id] += 1
            if result.moderator_id is not None:
                moderator_loads[result.moderator_id] += 1
        else:
            problems.extend(result)
    if problems:
        raise AllocationImpossible(problems)
    return allocations


def reallocate(
    case: CaseToAllocate,
    auditors: Sequence[AuditorCandidate],
    moderators: Sequence[AuditorCandidate],
    *,
    excluding: str,
    current: Allocation,
    unavailable: Collection[str] = (),
) -> Allocation:
    """A new allocation after `excluding` (the auditor or the moderator of
    `current`) has been granted an exemption by the Head of Service.

    The person who stays keeps the case where the rules allow it; if the
    exempt auditor can only be replaced by the current moderator, both are
    chosen afresh. `unavailable` lists anyone else not to choose (e.g. people
    exempted from this case before). Raises AllocationImpossible when no
    one eligible is left, and ValueError if `excluding` is not on `current`.
    """
    if case.case_ref != current.case_ref:
        raise ValueError(f"The allocation is for case {current.case_ref}, not {case.case_ref}.")
    barred = {excluding, *unavailable}
    free_auditors = [p for p in auditors if p.staff_id not in barred]
    free_moderators = [p for p in moderators if p.staff_id not in barred]
    auditor_loads = {p.staff_id: p.load for p in free_auditors}
    moderator_loads = {p.staff_id: p.load for p in free_moderators}

    if excluding == current.auditor_id:
        keep = [p for p in free_auditors if p.staff_id != current.moderator_id]
        if any(p.staff_id == current.moderator_id for p in free_moderators):
            possible, _ = _eligible(case, keep, _AUDITOR_CHECKS, "no_auditor")
            if possible:
                auditor = _least_loaded(possible, auditor_loads)
                return Allocation(case.case_ref, auditor.staff_id, current.moderator_id)
    elif excluding == current.moderator_id:
        possible, rule = _eligible(case, free_moderators, _MODERATOR_CHECKS, "no_moderator")
        possible = [p for p in possible if p.staff_id != current.auditor_id]
        if rule is None and not possible:
            rule = "moderator_not_auditor"
        if rule is not None:
            raise AllocationImpossible([_problem(rule, case)])
        moderator = _least_loaded(possible, moderator_loads)
        return Allocation(case.case_ref, current.auditor_id, moderator.staff_id)
    else:
        raise ValueError(
            f"{excluding} is neither the auditor nor the moderator of case {case.case_ref}."
        )

    if current.moderator_id is None:
        result = _auditor_only(case, free_auditors, auditor_loads)
    else:
        result = _allocate_case(
            case, free_auditors, free_moderators, auditor_loads, moderator_loads
        )
    if isinstance(result, Allocation):
        return result
    raise AllocationImpossible(result)
