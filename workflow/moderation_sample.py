"""Which audits a sampling programme moderates: drawn reproducibly, and explained.

Hillingdon's QA service "will moderate a sample of completed audits". Each audit's
draw is a number from 0 to 1 made from the cycle's selection seed and the audit's
id, so the same audit always draws the same number, on any machine, whenever it
is submitted; the sample is the audits whose draw falls under the programme's
share (`percent`), or the `per_cycle` lowest draws of the cycle. Work graded
below `always_below` is always moderated. Every decision says why, in words
the Audit Team can repeat to an auditor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from workflow.grades import Grade
from workflow.words import ordinal


def draw(seed: int, audit_id: int) -> float:
    """The audit's draw in [0, 1): the same for the same seed and audit, everywhere."""
    digest = hashlib.sha256(f"moderation-sample:{seed}:{audit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class SampleDecision:
    in_sample: bool
    draw: float
    why: str


def decide(
    *,
    seed: int,
    audit_id: int,
    initial_grade: Grade | None,
    percent: int | None = None,
    per_cycle: int | None = None,
    cycle_audit_ids: Iterable[int] = (),
    always_below: Grade | None = None,
) -> SampleDecision:
    """Whether the audit is in the moderation sample, and why (see the module's words)."""
    mine = draw(seed, audit_id)
    if (
        always_below is not None
        and initial_grade is not None
        and initial_grade.rank < always_below.rank
    ):
        return SampleDecision(
            True,
            mine,
            f"In the moderation sample: graded {initial_grade.label}, and work below "
            f"{always_below.label} is always moderated.",
        )
    if percent is not None:
        share = percent / 100
        inside = mine < share
        return SampleDecision(
            inside,
            mine,
            f"{'In' if inside else 'Not in'} the {percent}% moderation sample: this audit's "
            f"draw from the cycle's seed {seed} is {mine:.3f}, and draws under {share:.2f} "
            "are moderated.",
        )
    if per_cycle is None:
        raise ValueError("a sample needs percent or per_cycle")
    ranked = sorted({*cycle_audit_ids, audit_id}, key=lambda other: (draw(seed, other), other))
    place = ranked.index(audit_id) + 1
    inside = place <= per_cycle
    return SampleDecision(
        inside,
        mine,
        f"{'In' if inside else 'Not in'} the moderation sample of {per_cycle} a cycle: this "
        f"audit's draw from the cycle's seed {seed} is the {ordinal(place)} lowest of "
        f"{len(ranked)}, and the {per_cycle} lowest are moderated.",
    )
