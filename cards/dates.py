"""Dates as people read them on a card, and the due line every list shares.

Cards get local dates (the caller turns UTC instants into the council's
time zone); whether something is overdue is decided by the caller too and
is always said in words, never by colour alone.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from microsoft_teams.cards import DateInput, TextBlock

OVERDUE = "Overdue"


def day(at: datetime | date | None, timezone: str = "Europe/London") -> str:
    """A date in full, in the council's time zone, e.g. "Mon 30 Nov 2026" (for messages that
    are read later, where "this year" is ambiguous)."""
    if at is None:
        return "not set"
    if isinstance(at, datetime):
        at = at.astimezone(ZoneInfo(timezone)).date()
    return f"{at:%a} {at.day} {at:%b %Y}"


def day_label(day: date, today: date) -> str:
    """ "Mon 30 Nov", with the year when it is not this year ("Mon 4 Jan 2027")."""
    label = f"{day:%a} {day.day} {day:%b}"
    return label if day.year == today.year else f"{label} {day.year}"


def due_text(due_on: date | None, overdue: bool, today: date) -> str:
    """ "Due Mon 30 Nov", "Overdue: was due Mon 30 Nov" or "No due date"."""
    if due_on is None:
        return "No due date"
    when = day_label(due_on, today)
    return f"{OVERDUE}: was due {when}" if overdue else f"Due {when}"


def day_fact(due_on: date | None, overdue: bool, today: date) -> str:
    """A date in a fact list: "Mon 30 Nov", "Mon 30 Nov (Overdue)" or "Not set"."""
    if due_on is None:
        return "Not set"
    when = day_label(due_on, today)
    return f"{when} ({OVERDUE})" if overdue else when


def due_block(due_on: date | None, overdue: bool, today: date) -> TextBlock:
    """The due line of a list item: bold and in the attention colour when overdue, and
    always saying "Overdue" in words."""
    text = due_text(due_on, overdue, today)
    if overdue:
        return TextBlock(text=text, wrap=True, weight="Bolder", color="Attention")
    return TextBlock(text=text, wrap=True, is_subtle=due_on is None or None)


def date_input(
    input_id: str,
    label: str,
    *,
    value: str | None = None,
    earliest: str | None = None,
    latest: str | None = None,
    required: bool = False,
    message: str | None = None,
) -> DateInput:
    """A date box whose bounds are also said in words: Teams refuses to send a card with a
    date outside them and shows only this message, so without it the button seems dead.

    `earliest` and `latest` are ISO dates (as the card's min and max); `message` replaces the
    worded bounds where the card knows better (e.g. "a working day after the deadline").
    """
    if message is None and (earliest or latest or required):
        message = _bounds_in_words(earliest, latest)
    return DateInput(
        id=input_id,
        label=label,
        value=value or None,
        min=earliest,
        max=latest,
        is_required=required or None,
        error_message=message,
    )


def _bounds_in_words(earliest: str | None, latest: str | None) -> str:
    first = day(date.fromisoformat(earliest)) if earliest else None
    last = day(date.fromisoformat(latest)) if latest else None
    if first and last:
        return f"Choose a date from {first} to {last}."
    if first:
        return f"Choose a date on or after {first}."
    if last:
        return f"Choose a date no later than {last}."
    return "Choose a date."
