"""Counts in words that agree in number: "1 answer needs", "2 answers need".

Every count a person reads (cards, chat replies, the CLI) goes through
these, so none says "1 answers" or hides behind "answer(s)"; and what
someone typed, quoted inside our sentence, ends with one full stop.
"""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun: "1 audit", "3 audits", "2 cases" ("case" + "s" unless `plural`)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def agreeing(n: int, singular: str, plural: str) -> str:
    """The verb (or any word) that agrees with `n`: agreeing(1, "needs", "need") is "needs"."""
    return singular if n == 1 else plural


def as_sentence(typed: str) -> str:
    """Typed text to quote as a sentence: stripped, with a full stop unless it already ends
    with one (or ! or ?), so "missing." does not become "missing.."."""
    text = typed.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st ..."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def as_list(items: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
