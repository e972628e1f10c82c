"""The four ILACS grades and the rule that ties a grade to the child's outcomes."""

from enum import StrEnum


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
