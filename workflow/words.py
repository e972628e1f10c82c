"""Counts in words that agree in number: "1 answer needs", "2 answers need".

Every count a person reads (cards, chat replies, the CLI) goes through
these, so none says "1 answers" or hides behind "answer(s)".
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun: "1 audit", "3 audits", "2 cases" ("case" + "s" unless `plural`)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def agreeing(n: int, singular: str, plural: str) -> str:
    """The verb (or any word) that agrees with `n`: agreeing(1, "needs", "need") is "needs"."""
    return singular if n == 1 else plural
