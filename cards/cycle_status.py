"""`cycle status`: for the Audit Team, where each open cycle of their services stands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from microsoft_teams.cards import CardElement, Container, Fact, FactSet, TextBlock

from cards.base import card, heading, open_url, paragraph
from cards.dates import OVERDUE, day_label
from workflow.words import counted

# Bounds that keep the card far under Teams' ~100 KB message limit (DESIGN.md:
# cards under 80 KB) however large a cycle is; the counts always cover everything.
MAX_CYCLES = 10
MAX_LISTED = 25


@dataclass(frozen=True)
class OverdueAudit:
    case_ref: str
    what: str  # "audit", "moderation", "UoPP meeting"
    due_on: date
    who: str  # the person it waits for, e.g. "auditor Megan Bowen"


@dataclass(frozen=True)
class Unreachable:
    name: str
    reason: str  # in words, e.g. "has not installed auditbot"


@dataclass(frozen=True)
class CycleSummary:
    title: str
    service: str
    total: int
    counts: Sequence[tuple[str, int]]  # (state in words, how many), non-zero only
    moderation_due_on: date | None
    overdue: Sequence[OverdueAudit] = field(default_factory=tuple)
    unreachable: Sequence[Unreachable] = field(default_factory=tuple)


def cycle_status_card(
    cycles: Sequence[CycleSummary], *, today: date, tracker_url: str | None = None
) -> dict:
    """Each open cycle's counts and what is overdue; with `tracker_url`, a button to the
    workspace's tracker, where each audit is listed."""
    if not cycles:
        return card(
            [
                heading("No open cycles"),
                paragraph("None of the services you are in the Audit Team for has an open cycle."),
            ],
            fallback="No open cycles.",
        )
    body: list[CardElement] = [heading("Cycle status")]
    body.extend(_cycle(cycle, today) for cycle in cycles[:MAX_CYCLES])
    if len(cycles) > MAX_CYCLES:
        body.append(paragraph(f"And {len(cycles) - MAX_CYCLES} more open cycles.", subtle=True))
    fallback = "; ".join(
        f"{cycle.title}: {counted(cycle.total, 'audit')}, {len(cycle.overdue)} overdue"
        for cycle in cycles[:MAX_CYCLES]
    )
    actions = [open_url("Open the audit tracker", tracker_url)] if tracker_url else None
    return card(body, fallback=fallback, actions=actions)


def _cycle(cycle: CycleSummary, today: date) -> Container:
    items: list[CardElement] = [
        TextBlock(text=f"{cycle.title} ({cycle.service})", weight="Bolder", wrap=True),
    ]
    moderation = (
        f"Moderation due {day_label(cycle.moderation_due_on, today)}."
        if cycle.moderation_due_on
        else "No moderation date set."
    )
    items.append(paragraph(f"{counted(cycle.total, 'audit')}. {moderation}"))
    if cycle.counts:
        items.append(
            FactSet(
                facts=[
                    Fact(title=state[:1].upper() + state[1:], value=str(count))
                    for state, count in cycle.counts
                ]
            )
        )
    if cycle.overdue:
        items.append(
            TextBlock(
                text=f"{OVERDUE}: {counted(len(cycle.overdue), 'audit')}",
                weight="Bolder",
                color="Attention",
                wrap=True,
            )
        )
        lines = [
            f"- {late.case_ref}: {late.what} was due {day_label(late.due_on, today)} ({late.who})"
            for late in cycle.overdue[:MAX_LISTED]
        ]
        items.append(paragraph("\n".join(lines)))
        if len(cycle.overdue) > MAX_LISTED:
            items.append(paragraph(f"And {len(cycle.overdue) - MAX_LISTED} more.", subtle=True))
    else:
        items.append(paragraph("Nothing overdue."))
    if cycle.unreachable:
        items.append(
            TextBlock(
                text=f"Could not reach {counted(len(cycle.unreachable), 'person', 'people')}",
                weight="Bolder",
                wrap=True,
            )
        )
        lines = [f"- {person.name}: {person.reason}" for person in cycle.unreachable[:MAX_LISTED]]
        items.append(paragraph("\n".join(lines)))
        if len(cycle.unreachable) > MAX_LISTED:
            more = len(cycle.unreachable) - MAX_LISTED
            items.append(paragraph(f"And {more} more.", subtle=True))
    return Container(separator=True, spacing="Medium", items=items)
