"""Card presses as Teams posts them, with the answers a person might give: for the tests and
benches that drive the audit wizard over HTTP (tests/cluster.py, bench/wizard_step.py, the
JSON logs and telemetry tests)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

# What an auditor types into the wizard's text boxes: content, which no log may carry.
ANSWER = "Discussed with the practitioner on the home visit."
WIZARD_VERBS = ("wizard.next", "audit.start")


def invoke(
    aad: str, verb: str, data: dict[str, Any], *, service_url: str, tenant: str, app_id: str
) -> dict[str, Any]:
    """An `adaptiveCard/action` invoke: `aad` pressing a button with this verb and data."""
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": str(uuid.uuid4()),
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{aad}", "aadObjectId": aad, "name": "Auditor"},
        "conversation": {"id": f"a:{aad}", "conversationType": "personal", "tenantId": tenant},
        "recipient": {"id": f"28:{app_id}"},
        "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}},
    }


def inputs(node: Any) -> list[dict[str, Any]]:
    """Every input element in a card, however deeply nested (not those inside actions)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Input."):
            found.append(node)
        for key, value in node.items():
            if key != "actions":
                found += inputs(value)
    elif isinstance(node, list):
        for item in node:
            found += inputs(item)
    return found


def answers(card: dict[str, Any], today: date) -> dict[str, Any]:
    """Answers a person might give: the second choice, today, yes, one, a sentence."""
    given: dict[str, Any] = {}
    for element in inputs(card.get("body", [])):
        kind, choices = element["type"], element.get("choices")
        if kind == "Input.ChoiceSet" and choices:
            given[element["id"]] = choices[min(1, len(choices) - 1)]["value"]
        elif kind == "Input.Date":
            given[element["id"]] = today.isoformat()
        elif kind == "Input.Toggle":
            given[element["id"]] = "true"
        elif kind == "Input.Number":
            given[element["id"]] = "1"
        else:
            given[element["id"]] = element.get("value") or ANSWER
    return given


def next_press(card: dict[str, Any], today: date) -> tuple[str, dict[str, Any]] | None:
    """The wizard button to press on this card, with the card's inputs filled; None at the end."""
    for action in card.get("actions", []):
        if action.get("type") == "Action.Execute" and action.get("verb") in WIZARD_VERBS:
            return action["verb"], {**action.get("data", {}), **answers(card, today)}
    return None


async def start_audits(
    url: str,
    token: str,
    audits: list[tuple[str, int, int]],
    *,
    service_url: str,
    tenant: str,
    app_id: str,
    today: date,
    steps: int = 3,
) -> None:
    """Each (aad, audit id, version) auditor starts their audit and answers `steps` wizard
    steps, posting to a served bot at `url`; each request carries X-Request-ID req-AAD."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for aad, audit_id, version in audits:
            press: tuple[str, dict[str, Any]] | None = (
                "audit.start",
                {"audit_id": audit_id, "version": version},
            )
            for _ in range(steps):
                assert press is not None
                activity = invoke(
                    aad, *press, service_url=service_url, tenant=tenant, app_id=app_id
                )
                headers = {"Authorization": f"Bearer {token}", "X-Request-ID": f"req-{aad}"}
                async with http.post(url, json=activity, headers=headers) as answer:
                    assert answer.status == 200
                    press = next_press((await answer.json())["value"], today)
