"""Latency of one audit wizard step (invoke in, updated card out) at 50 concurrent users.

Fifty auditors each start their audit and press "Save and continue" through
the wizard, filling the card's inputs as a person would, all at once, over
real HTTP on loopback, against SQLite and PostgreSQL. Beside it, in the same
run, a minimal botbuilder echo bot answers the same invokes with a fixed card:
the floor set by the SDK and HTTP alone. It runs on auditbot's own adapter, so
it gains what the adapter saves on every turn (msrest's retry policy, which
was 90% of the echo bot's time before bot/adapter.py made it cheap). Both run
as deployed: every invoke carries a Bot Framework token, checked against keys
from the identity stand-in (tests/standins/identity.py). Run:

    python bench/wizard_step.py

PostgreSQL comes from AUDITBOT_TEST_POSTGRES_URL, or is started with
.ci/postgres. Prints a table, then `BENCH wizard_step_p95_sqlite <ms> ms`,
`BENCH wizard_step_p95_postgres <ms> ms` and `BENCH wizard_vs_echo_p95 <ratio> x`
(the slower database against the echo bot).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext  # noqa: E402
from botbuilder.schema import AdaptiveCardInvokeResponse  # noqa: E402

from bench.allocate_500 import (  # noqa: E402
    NOW,
    build_service,
    fresh_postgres_database,
    postgres_server_url,
)
from bot.adapter import build_adapter  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service import build_service as build_bot  # noqa: E402
from cards.notice import notice_card  # noqa: E402
from dialogs.cycles import CycleRequest, open_cycle  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from tests.standins.identity import IdentityStandIn  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402

USERS, STEPS = 50, 8
TENANT = "4d1f7e2a-6c3b-4f0e-9a51-2b8c7d6e5f40"
APP_ID = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
SERVICE_URL = "http://127.0.0.1:9/"


def deployed(identity: IdentityStandIn, **values: Any):
    """The settings of a deployed bot whose requests are signed by `identity`."""
    return load_settings(
        app_id=APP_ID,
        app_type="UserAssignedMSI",
        tenant_id=TENANT,
        botframework_openid_url=identity.metadata_url,
        outbox_sender=False,
        scheduler_enabled=False,
        **values,
    )


def invoke(aad_object_id: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": str(uuid.uuid4()),
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": f"29:{aad_object_id}", "aadObjectId": aad_object_id, "name": "Auditor"},
        "conversation": {
            "id": f"a:{aad_object_id}",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "recipient": {"id": "28:auditbot"},
        "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}},
    }


def inputs(node: Any) -> list[dict[str, Any]]:
    """Every input element in a card, however deeply nested."""
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


def filled(card: dict[str, Any]) -> dict[str, Any]:
    """Answers a person might give: the first choice, a sentence, today, yes."""
    answers: dict[str, Any] = {}
    for element in inputs(card.get("body", [])):
        kind = element["type"]
        if kind == "Input.ChoiceSet" and element.get("choices"):
            answers[element["id"]] = element["choices"][min(1, len(element["choices"]) - 1)][
                "value"
            ]
        elif kind == "Input.Date":
            answers[element["id"]] = NOW.date().isoformat()
        elif kind == "Input.Toggle":
            answers[element["id"]] = "true"
        elif kind == "Input.Number":
            answers[element["id"]] = "1"
        else:
            answers[element["id"]] = element.get("value") or "Discussed with the practitioner."
    return answers


def next_press(card: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for action in card.get("actions", []):
        if action.get("type") == "Action.Execute" and action.get("verb") in (
            "wizard.next",
            "audit.start",
        ):
            return action["verb"], {**action.get("data", {}), **filled(card)}
    return None


async def one_user(
    http: aiohttp.ClientSession, url: str, token: str, aad_id: str, first: tuple[str, dict]
) -> list[float]:
    timings, press = [], first
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(STEPS):
        started = time.perf_counter()
        async with http.post(url, json=invoke(aad_id, *press), headers=headers) as response:
            body = await response.json()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body
        following = next_press(body["value"])
        if following is None:
            break
        press = following
    return timings


async def measure_wizard(db_url: str, identity: IdentityStandIn) -> list[float]:
    engine = make_engine(db_url)
    await async_upgrade(engine)
    sessions = session_factory(engine)
    await build_service(sessions)
    async with sessions.begin() as session:
        opened = await open_cycle(
            session,
            CycleRequest(service_code="BIG", month=date(2026, 12, 1), seed=1, total=USERS),
            rules=ProgrammeRules(),
            now=NOW,
            actor="bench",
        )
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        people = await repo.staff_by_ids(session, {a.auditor_id for a in audits})
        starts = [
            (
                people[a.auditor_id].aad_object_id,
                ("audit.start", {"audit_id": a.id, "version": a.version}),
            )
            for a in audits
        ]
    await engine.dispose()
    return await drive(build_bot(deployed(identity, database_url=db_url)), starts, identity)


class EchoBot(ActivityHandler):
    """The least a botbuilder bot can do for a card press: answer with a fixed card."""

    card = {
        **notice_card("Saved", "Your answers are saved."),
        "actions": [{"type": "Action.Execute", "title": "Next", "verb": "wizard.next", "data": {}}],
    }

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        body = AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=self.card
        )
        return InvokeResponse(status=200, body=body)


async def measure_echo(identity: IdentityStandIn) -> list[float]:
    settings = deployed(identity, database_url="sqlite:///:memory:")

    async def always_reachable() -> bool:
        return True

    app = create_app(build_adapter(settings), EchoBot(), always_reachable, require_token=True)
    starts = [(str(uuid.uuid4()), ("audit.start", {"audit_id": n})) for n in range(1, USERS + 1)]
    return await drive(app, starts, identity)


async def drive(app, starts, identity: IdentityStandIn) -> list[float]:
    """Each user's presses, with the token Teams would send (one an hour, so made once)."""
    token = identity.issue_token(audience=APP_ID, service_url=SERVICE_URL)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/api/messages"))
    try:
        connector = aiohttp.TCPConnector(limit=USERS)
        async with aiohttp.ClientSession(connector=connector) as http:
            results = await asyncio.gather(
                *(one_user(http, url, token, aad, first) for aad, first in starts)
            )
    finally:
        await server.close()
    return [t for timings in results for t in timings]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    with IdentityStandIn() as identity:
        results = {"echo bot": asyncio.run(measure_echo(identity))}
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite:///{folder}/bench.sqlite3"
            results["sqlite"] = asyncio.run(measure_wizard(sqlite, identity))
        pg_url = asyncio.run(fresh_postgres_database(postgres_server_url()))
        results["postgres"] = asyncio.run(measure_wizard(pg_url, identity))

    print(f"Wizard steps at {USERS} concurrent users, up to {STEPS} presses each (milliseconds)")
    print(f"{'bot':<10} {'presses':>8} {'median':>8} {'p95':>8}")
    for name, timings in results.items():
        print(
            f"{name:<10} {len(timings):>8} {statistics.median(timings):>8.1f} {p95(timings):>8.1f}"
        )
    slower = max(p95(results["sqlite"]), p95(results["postgres"]))
    print(f"BENCH wizard_step_p95_sqlite {p95(results['sqlite']):.1f} ms")
    print(f"BENCH wizard_step_p95_postgres {p95(results['postgres']):.1f} ms")
    print(f"BENCH wizard_vs_echo_p95 {slower / p95(results['echo bot']):.2f} x")


if __name__ == "__main__":
    main()
