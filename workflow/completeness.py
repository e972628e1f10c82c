"""The automatic completeness check of a submitted audit (DOMAIN.md step 6), as pure rules.

The Audit Team checks that every section is graded, that every grade has a
rationale, that the KLOEs are addressed, that there are recommendations
where the work is below Good, and that the practitioner was contacted. This
finds what a person would, so the Audit Team's card can list it; they still
decide whether to accept the audit or return it. Each gap names the wizard
step where it can be fixed, so a returned audit reopens there.

A gap is said in words about the audit, never quoting what was written in
it, so it can travel in a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workflow.tools import SectionKind
from workflow.wizard_rules import (
    CONVERSATION,
    Answers,
    WizardStep,
    below_good,
    grade_of,
    is_desktop,
    kloe_field,
    practitioner_contacted,
    primary_recommendations_step,
    recommendations,
)


@dataclass(frozen=True)
class Gap:
    step_id: str  # the wizard step where it is put right
    what: str


def check_completeness(
    steps: Sequence[WizardStep],
    answers: Answers,
    *,
    kloe_count: int,
    practitioner_written: bool | None = None,
) -> list[Gap]:
    """What is missing from the audit, in wizard order; empty when it is complete.

    `practitioner_written` says whether the practitioner wrote their own section (None
    when the tool has none)."""
    gaps: list[Gap] = []
    if not is_desktop(steps) and not practitioner_contacted(answers):
        gaps.append(Gap(CONVERSATION, "No audit conversation with the practitioner is recorded."))
    for step in steps:
        section = step.section
        if section is None:
            continue
        mine = answers.get(step.id, {})
        if section.kind is SectionKind.PRACTITIONER_REFLECTION and practitioner_written is False:
            gaps.append(Gap(step.id, "The practitioner's own section is not written."))
        if section.graded:
            if grade_of(mine.get("grade")) is None:
                gaps.append(Gap(step.id, f"{section.title}: not graded."))
            if not mine.get("rationale", "").strip():
                gaps.append(Gap(step.id, f"{section.title}: no rationale for the grade."))
        if section.kind is SectionKind.KLOE_COMMENTS and kloe_count:
            missing = [
                str(n) for n in range(1, kloe_count + 1) if not mine.get(kloe_field(n), "").strip()
            ]
            if missing:
                which = ", ".join(missing)
                noun = "KLOE" if len(missing) == 1 else "KLOEs"
                gaps.append(Gap(step.id, f"{noun} {which} not addressed."))
    primary = primary_recommendations_step(steps)
    if below_good(steps, answers) and not recommendations(steps, answers):
        gaps.append(
            Gap(
                primary.id if primary else steps[-1].id,
                "Graded below Good, but there are no recommendations.",
            )
        )
    return sorted(gaps, key=lambda gap: _position(steps, gap.step_id))


def first_gap_step(steps: Sequence[WizardStep], gaps: Sequence[Gap]) -> str:
    """Where a returned audit reopens: the first step with a gap, else the first step."""
    return gaps[0].step_id if gaps else steps[0].id


def _position(steps: Sequence[WizardStep], step_id: str) -> int:
    return next((n for n, step in enumerate(steps) if step.id == step_id), len(steps))
