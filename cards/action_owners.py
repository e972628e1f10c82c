"""The card on which a Head of Service (or the Audit Team) gives service-level actions owners.

A service-level recommendation belongs to the service, not to the practitioner
whose work was audited; whoever leads the service decides who carries it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, Container, TextBlock

from cards.base import card, execute, heading, paragraph
from cards.escalations import escalation_actions
from cards.wizard_steps import error_block

ASSIGN_OWNERS = "actions.assign_owners"


@dataclass(frozen=True)
class ServiceAction:
    action_id: int
    action: str
    due: str  # in words
    owner: str | None = None  # a name, once given


@dataclass(frozen=True)
class OwnersView:
    audit_id: int
    case_ref: str
    service: str
    actions: Sequence[ServiceAction]
    candidates: Sequence[tuple[str, str]]  # (staff id, "Name (role)")
    errors: dict[int, str] = field(default_factory=dict)
    outcome: str | None = None


def owner_field(action_id: int) -> str:
    return f"owner_{action_id}"


def owners_card(view: OwnersView) -> dict:
    """Each service-level action of the audit, with an owner to choose while it has none."""
    waiting = [a for a in view.actions if a.owner is None]
    body: list[CardElement] = [
        heading(f"Service-level actions from case {view.case_ref}"),
        paragraph(
            f"The audit of case {view.case_ref} recommends these for {view.service}. They belong "
            "to the service, not to the practitioner: give each one an owner, who will find it "
            "in **my actions** and be reminded if it runs late."
            if waiting
            else f"Every service-level action from the audit of case {view.case_ref} has an owner."
        ),
    ]
    if view.outcome:
        body.append(TextBlock(text=view.outcome, wrap=True, weight="Bolder", color="Good"))
    for number, action in enumerate(view.actions, start=1):
        body.append(_action(number, action, view))
    actions: list[Any] = []
    if waiting:
        actions.append(
            execute(
                "Save owners",
                ASSIGN_OWNERS,
                {"audit_id": view.audit_id, "actions": [a.action_id for a in waiting]},
                positive=True,
            )
        )
    actions += escalation_actions(view.audit_id)
    fallback = f"Give owners to the service-level actions from case {view.case_ref}"
    return card(body, fallback=fallback, actions=actions)


def _action(number: int, action: ServiceAction, view: OwnersView) -> Container:
    items: list[CardElement] = [
        TextBlock(text=f"{number}. {action.action}", wrap=True, weight="Bolder"),
        paragraph(f"By {action.due}", subtle=True),
    ]
    if action.owner is not None:
        items.append(paragraph(f"Owner: {action.owner}"))
    else:
        items.append(
            ChoiceSetInput(
                id=owner_field(action.action_id),
                label=f"{number}. Owner",
                style="filtered",
                placeholder="Type a name",
                choices=[Choice(title=title, value=value) for value, title in view.candidates],
            )
        )
        if action.action_id in view.errors:
            items.append(error_block(view.errors[action.action_id]))
    return Container(items=items, separator=True)
