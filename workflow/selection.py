"""Picking the cases to audit, reproducibly and explainably.

Random samples are drawn from the open cases sorted by case reference with
`random.Random(seed)`, so the same seed and the same open cases give the
same sample whatever order the cases arrive in, and anyone can re-run it.
Each team draws with its own generator derived from the seed and the team,
so changing one team's quota never reshuffles another team's sample.
Every selection carries a plain-English explanation for the Audit Team's
records and the board report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from workflow.errors import SelectionError
from workflow.words import counted

Seed = int | str


@dataclass(frozen=True)
class OpenCase:
    case_ref: str
    team_id: str
    practitioner_id: str
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Shortfall:
    """A team (or the whole service, team_id None) had fewer open cases than asked."""

    team_id: str | None
    asked: int
    available: int


@dataclass(frozen=True)
class Selection:
    cases: tuple[OpenCase, ...]  # sorted by case reference
    seed: Seed | None  # None for a selection that used no randomness
    method: str  # "random" or "criteria"
    explanation: str
    shortfalls: tuple[Shortfall, ...] = ()

    @property
    def case_refs(self) -> list[str]:
        return [case.case_ref for case in self.cases]


@dataclass(frozen=True)
class ReauditSample:
    case_refs: tuple[str, ...]  # sorted
    seed: Seed
    explanation: str


def _sorted_unique(cases: Iterable[OpenCase]) -> list[OpenCase]:
    ordered = sorted(cases, key=lambda case: case.case_ref)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.case_ref == after.case_ref:
            raise SelectionError(
                f"Case {after.case_ref} appears more than once in the open cases; "
                "each case can be picked only once."
            )
    return ordered


def _check_count(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SelectionError(f"{what} must be a whole number of 0 or more, not {value!r}.")


def _draw(pool: Sequence[OpenCase], count: int, rng: random.Random) -> list[OpenCase]:
    if count >= len(pool):
        return list(pool)
    return rng.sample(list(pool), count)


def _cases(n: int) -> str:
    return "1 open case" if n == 1 else f"{n} open cases"


def select_random(
    cases: Iterable[OpenCase],
    seed: Seed,
    total: int | None = None,
    quotas: Mapping[str, int] | None = None,
    *,
    team_names: Mapping[str, str] | None = None,
) -> Selection:
    """A random sample of open cases.

    - `total` alone: that many from all the open cases.
    - `quotas` alone: that many from each named team (other teams give none).
    - both: the quotas first, then the places left up to `total` drawn from
      all the cases not yet picked (total must be at least the quotas' sum).
    A team (or the service) with fewer open cases than asked gives all it has;
    the result's `shortfalls` and explanation say so. `team_names` only
    makes the explanation read "Team A" instead of a team id.
    """
    if total is None and quotas is None:
        raise SelectionError("Say how many cases to pick: a total, quotas per team, or both.")
    pool = _sorted_unique(cases)
    quotas = dict(quotas or {})
    for team_id, quota in quotas.items():
        _check_count(f"The quota for team {team_id}", quota)
    if total is not None:
        _check_count("The total", total)
        if total < sum(quotas.values()):
            raise SelectionError(
                f"The total ({total}) is smaller than the team quotas added up "
                f"({sum(quotas.values())})."
            )

    picked: list[OpenCase] = []
    shortfalls: list[Shortfall] = []
    sentences: list[str] = []
    for team_id in sorted(quotas):
        team_pool = [case for case in pool if case.team_id == team_id]
        quota = quotas[team_id]
        name = (team_names or {}).get(team_id, f"team {team_id}")
        drawn = _draw(team_pool, quota, random.Random(f"{seed}/{team_id}"))
        picked.extend(drawn)
        sentence = f"{len(drawn)} of {_cases(len(team_pool))} in {name} at random"
        if len(team_pool) < quota:
            shortfalls.append(Shortfall(team_id, quota, len(team_pool)))
            sentence += f" (asked for {quota}; the team has only {len(team_pool)})"
        sentences.append(sentence)

    if total is not None:
        chosen = {case.case_ref for case in picked}
        rest = [case for case in pool if case.case_ref not in chosen]
        wanted = total - len(picked)
        drawn = _draw(rest, wanted, random.Random(seed))
        picked.extend(drawn)
        if quotas:
            sentence = f"{len(drawn)} more of the {_cases(len(rest))} left, at random"
        else:
            sentence = f"{len(drawn)} of {_cases(len(rest))} at random"
        if len(rest) < wanted:
            shortfalls.append(Shortfall(None, total, len(picked)))
            sentence += f" (asked for {total} in all; only {len(picked)} could be picked)"
        sentences.append(sentence)

    explanation = "; ".join(sentences) + f", seed {seed}."
    return Selection(
        cases=tuple(sorted(picked, key=lambda case: case.case_ref)),
        seed=seed,
        method="random",
        explanation=explanation[0].upper() + explanation[1:],
        shortfalls=tuple(shortfalls),
    )


def _matches(case: OpenCase, criteria: Mapping[str, str | Collection[str]]) -> bool:
    for name, wanted in criteria.items():
        value = case.attributes.get(name)
        if value is None:
            return False
        if isinstance(wanted, str):
            if value != wanted:
                return False
        elif value not in wanted:
            return False
    return True


def _describe_criteria(criteria: Mapping[str, str | Collection[str]]) -> str:
    parts = []
    for name in sorted(criteria):
        wanted = criteria[name]
        if isinstance(wanted, str):
            parts.append(f"{name} is {wanted}")
        else:
            parts.append(f"{name} is one of {', '.join(sorted(wanted))}")
    return " and ".join(parts)


def select_by_criteria(
    cases: Iterable[OpenCase],
    criteria: Mapping[str, str | Collection[str]],
    *,
    total: int | None = None,
    seed: Seed | None = None,
) -> Selection:
    """The open cases that meet every criterion, for a thematic audit.

    A criterion is an attribute name with a value (attribute equals it) or a
    collection of values (attribute is one of them). With `total`, at most
    that many of the matches are picked at random with `seed` (required then).
    """
    if not criteria:
        raise SelectionError("A thematic audit needs at least one criterion.")
    for name, wanted in criteria.items():
        if not isinstance(wanted, str) and len(wanted) == 0:
            raise SelectionError(f"The criterion {name} lists no values, so nothing can match.")
    pool = _sorted_unique(cases)
    matching = [case for case in pool if _matches(case, criteria)]
    described = _describe_criteria(criteria)
    if total is None:
        picked = matching
        explanation = f"{len(matching)} of {_cases(len(pool))} where {described}."
        used_seed: Seed | None = None
    else:
        _check_count("The total", total)
        if seed is None:
            raise SelectionError("A seed is needed to pick some of the matching cases at random.")
        picked = _draw(matching, total, random.Random(seed))
        explanation = (
            f"{len(picked)} of the {len(matching)} of {_cases(len(pool))} where "
            f"{described}, at random, seed {seed}."
        )
        used_seed = seed
    shortfalls: tuple[Shortfall, ...] = ()
    if total is not None and len(matching) < total:
        shortfalls = (Shortfall(None, total, len(matching)),)
        explanation = explanation[:-1] + f" (asked for {total}; only {len(matching)} match)."
    return Selection(
        cases=tuple(sorted(picked, key=lambda case: case.case_ref)),
        seed=used_seed,
        method="criteria",
        explanation=explanation,
        shortfalls=shortfalls,
    )


def reaudit_sample(
    below_good_case_refs: Iterable[str], fraction: float, seed: Seed
) -> ReauditSample:
    """The cases to re-audit next cycle: at least `fraction` (rounded up) of
    the work that fell below Good, and at least one when there is any."""
    if isinstance(fraction, bool) or not 0 < fraction <= 1:
        raise SelectionError(
            f"The re-audit fraction must be above 0 and at most 1, not {fraction!r}."
        )
    refs = sorted(below_good_case_refs)
    if len(set(refs)) != len(refs):
        raise SelectionError("A case appears more than once in the work below Good.")
    if not refs:
        return ReauditSample((), seed, "No work fell below Good, so there is nothing to re-audit.")
    # Round away float noise first: 0.1 * 30 is 3.0000000000000004, not 4.
    count = max(1, math.ceil(round(len(refs) * fraction, 9)))
    chosen = tuple(sorted(random.Random(seed).sample(refs, count)))
    percent = f"{fraction * 100:g}%"
    explanation = (
        f"{count} of {counted(len(refs), 'audit')} below Good picked at random for re-audit "
        f"(at least {percent}, at least one), seed {seed}."
    )
    return ReauditSample(chosen, seed, explanation)
