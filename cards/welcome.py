"""The greeting a person gets when they install auditbot."""

from __future__ import annotations

from collections.abc import Sequence

from microsoft_teams.cards import CardElement

from cards.base import card, heading, paragraph


def welcome_card(display_name: str, roles: Sequence[tuple[str, str]]) -> dict:
    """Greet someone by name and tell them the roles they hold, as (role, where) pairs.

    Someone not in the staff list yet is told who can add them, rather than
    being shown an empty list.
    """
    first_name = display_name.split(" ")[0] if display_name else "there"
    body: list[CardElement] = [heading(f"Hello {first_name}, I'm auditbot")]
    body.append(
        paragraph(
            "I run the practice audit programme in Teams: I tell you what you've been "
            "allocated, walk you through audits and moderation, book follow-up meetings "
            "and remind you when something is due."
        )
    )
    if roles:
        body.append(paragraph("In the audit programme you are:"))
        lines = "\n".join(f"- {role} ({where})" for role, where in roles)
        body.append(paragraph(lines))
        summary = "; ".join(f"{role} ({where})" for role, where in roles)
    else:
        body.append(
            paragraph(
                "I can't find you in the staff list yet, so you have no roles in the audit "
                "programme. If you think you should, ask your Audit Team to add you."
            )
        )
        summary = "no roles yet"
    body.append(paragraph("Type **help** to see what you can ask me.", subtle=True))
    return card(body, fallback=f"Hello {first_name}, I'm auditbot. Your roles: {summary}.")
