"""The four ILACS grades and the rule that ties a grade to the child's outcomes."""

from enum import StrEnum

from workflow.errors import GradeRuleBroken


class Grade(StrEnum):
    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"

    @property
    def label(self) -> str:
        return GRADE_LABELS[self]

    @property
    def rank(self) -> int:
        """Higher is better: Inadequate 1 .. Outstanding 4."""
        return GRADE_RANKS[self]

    @property
    def is_below_good(self) -> bool:
        return self.rank < GRADE_RANKS[Grade.GOOD]


GRADE_LABELS: dict[Grade, str] = {
    Grade.OUTSTANDING: "Outstanding",
    Grade.GOOD: "Good",
    Grade.REQUIRES_IMPROVEMENT: "Requires Improvement to be Good",
    Grade.INADEQUATE: "Inadequate",
}

GRADE_RANKS: dict[Grade, int] = {
    Grade.INADEQUATE: 1,
    Grade.REQUIRES_IMPROVEMENT: 2,
    Grade.GOOD: 3,
    Grade.OUTSTANDING: 4,
}


def check_grade(
    grade: Grade,
    outcomes_met: bool,
    *,
    case_ref: str | None = None,
    section: str | None = None,
) -> None:
    """Refuse Good or Outstanding when the child's outcomes are not met and
    not on the way to being met (Hillingdon's rule). Applies to the overall
    grade and to each section's grade alike; `outcomes_met` means "met or on
    the way to being met". Raises GradeRuleBroken; returns None when fine."""
    if outcomes_met or grade.is_below_good:
        return
    where = f" for {section}" if section else ""
    audit = f"The audit of case {case_ref}" if case_ref else "This audit"
    raise GradeRuleBroken(
        f"{audit} cannot be graded {grade.label}{where}: work is only Good or "
        "Outstanding when the child's outcomes are met or on the way to being met. "
        "Choose Requires Improvement to be Good or Inadequate, or record how the "
        "outcomes are being met.",
        case_ref=case_ref,
    )


_GRADE_ALIASES: dict[str, Grade] = {
    "ri": Grade.REQUIRES_IMPROVEMENT,
    "requires improvement": Grade.REQUIRES_IMPROVEMENT,
}


def parse_grade(text: str) -> Grade:
    """A grade from its value ("requires_improvement"), its label ("Requires
    Improvement to be Good") or a common short form ("RI"), ignoring case.
    Raises ValueError for anything else."""
    key = " ".join(text.strip().lower().replace("_", " ").split())
    for grade in Grade:
        if key in (grade.value.replace("_", " "), grade.label.lower()):
            return grade
    if key in _GRADE_ALIASES:
        return _GRADE_ALIASES[key]
    raise ValueError(f"{text!r} is not a grade: use Outstanding, Good, RI or Inadequate.")
