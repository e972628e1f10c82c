"""Approving a cycle's key lines of enquiry (KLOEs): the approver's card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microsoft_teams.cards import CardElement

from cards.base import ask, card, execute, facts, heading, paragraph, text_input

DECIDE = "kloe.decide"


@dataclass(frozen=True)
class KloeProposal:
    cycle_id: int
    title: str
    service: str
    month: str  # e.g. "December 2026"
    kloes: Sequence[str]
    plan: str  # how cases will be picked, in words
    proposed_by: str
    decisions: Sequence[tuple[str, str]]  # (role, "Approved by X" / "Waiting")


def kloe_approval_card(
    proposal: KloeProposal, *, role: str, role_label: str, outcome: str | None = None
) -> dict:
    """The card an approver sees. With `outcome` (already decided, or the cycle moved on)
    it has no buttons and says what happened instead."""
    body: list[CardElement] = [
        heading(f"Approve the key lines of enquiry: {proposal.service}"),
        paragraph(
            f"{proposal.proposed_by} proposes these for {proposal.title}. Cases are picked "
            "only once the Head of Service, the coordinator and the Divisional Director "
            "have all approved."
        ),
        paragraph("\n".join(f"{n}. {text}" for n, text in enumerate(proposal.kloes, 1))),
        facts([("Audit month", proposal.month), ("Cases", proposal.plan), *proposal.decisions]),
    ]
    fallback = f"Approve the KLOEs for {proposal.title}"
    if outcome:
        body.append(paragraph(outcome))
        return card(body, fallback=f"{fallback}: {outcome}")
    data = {"cycle_id": proposal.cycle_id, "role": role}
    return card(
        body,
        fallback=fallback,
        actions=[
            execute(
                f"Approve as {role_label}", DECIDE, {**data, "decision": "approved"}, positive=True
            ),
            ask(
                "Send back",
                [
                    text_input(
                        "comment",
                        "What should change before you approve?",
                        error="Say what should change, so the Audit Team can revise them.",
                    )
                ],
                submit="Send back to the Audit Team",
                verb=DECIDE,
                data={**data, "decision": "sent_back"},
            ),
        ],
    )
