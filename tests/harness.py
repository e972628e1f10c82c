"""Run the whole bot over real HTTP on loopback, as Teams would drive it, authenticated.

The bot runs as deployed, on both databases: every request Teams posts carries
a Bot Framework token signed with keys it fetches from the identity stand-in,
and every message it sends carries a token from the stand-in's managed
identity endpoint (App Service's), which the Bot Connector stand-in checks.
Demo mode (authentication off) is only for a person's own machine on SQLite,
so `demo_bot` runs there alone.

Registered as a plugin by the root conftest, so every test package has these
fixtures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.config import Settings, load_settings
from bot.service import build_service
from tests.conftest import SQLITE_ONLY, Database
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import Clock

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01"
# The credentials of a deployed bot, as settings: a managed identity needs no secret.
TAB_DOMAIN = "auditbot.council.test"
DEPLOYED = {"app_id": APP_ID, "app_type": "UserAssignedMSI", "tenant_id": TENANT_ID}


@dataclass
class RunningBot:
    url: str
    http: aiohttp.ClientSession
    connector: ConnectorStandIn
    identity: IdentityStandIn | None = None  # None: demo mode, requests go unsigned

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None, *, signed=True
    ):
        """Post the activity as Teams does: with a channel token for its serviceUrl, unless
        `signed` is False or `headers` bring their own Authorization."""
        headers = dict(headers or {})
        if signed and "Authorization" not in headers:
            headers.update(self.auth_headers(str(activity.get("serviceUrl") or "")))
        return await self.http.post(f"{self.url}/api/messages", json=activity, headers=headers)

    async def say(self, aad_object_id: str, text: str, name: str = "Test Person") -> Any:
        """Type `text` in the bot's chat as this person; the reply the connector got (not
        any proactive message the outbox sent meanwhile)."""
        activity = teams_activity(self.connector, aad_object_id=aad_object_id, name=name, text=text)
        response = await self.post(activity)
        assert response.status in (200, 201), await response.text()

        def replies() -> list[Any]:
            return [s for s in self.connector.sent if s.reply_to == activity["id"]]

        await self.connector.wait_until(lambda: bool(replies()))
        return replies()[0]

    def auth_headers(self, service_url: str) -> dict[str, str]:
        """The Authorization header Teams would send for an activity from `service_url`."""
        if self.identity is None:
            return {}
        token = self.identity.issue_token(audience=APP_ID, service_url=service_url)
        return {"Authorization": f"Bearer {token}"}


def teams_activity(
    connector: ConnectorStandIn, *, aad_object_id: str, name: str = "Test Person", **fields: Any
) -> dict[str, Any]:
    """A personal-chat activity shaped as Teams sends it."""
    activity: dict[str, Any] = {
        "type": "message",
        "id": str(uuid.uuid4()),
        "timestamp": "2026-11-22T10:00:00.000Z",
        "channelId": "msteams",
        "serviceUrl": connector.url,
        "from": {"id": f"29:{aad_object_id}", "name": name, "aadObjectId": aad_object_id},
        "conversation": {
            "id": f"a:personal-{aad_object_id}",
            "conversationType": "personal",
            "tenantId": TENANT_ID,
        },
        "recipient": {"id": "28:auditbot", "name": "auditbot"},
        "channelData": {"tenant": {"id": TENANT_ID}},
        "locale": "en-GB",
    }
    activity.update(fields)
    return activity


def bot_settings(db: Database | str, identity: IdentityStandIn, **overrides: Any) -> Settings:
    """The settings of a deployed bot on `db`: a managed identity (the stand-in's), the
    council's tenant, and Bot Framework's keys from the stand-in."""
    values: dict[str, Any] = {
        **DEPLOYED,
        "database_url": db if isinstance(db, str) else db.url,
        "botframework_openid_url": identity.metadata_url,
        "tab_openid_authority": identity.base_url,
        "tab_domain": TAB_DOMAIN,
        # One service per test: no earlier sender's requests to let pass before sending.
        "outbox_handover_seconds": 0,
    }
    return load_settings(**{**values, **overrides})


def deployed_environment(
    database_url: str, identity: IdentityStandIn | None = None
) -> dict[str, str]:
    """The environment of an `auditbot` process deployed on `database_url`, without the
    AUDITBOT_* variables of the test run itself; with `identity`, reaching Teams through it
    as `bot_settings` does."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}
    environment.update({f"AUDITBOT_{name.upper()}": value for name, value in DEPLOYED.items()})
    environment["AUDITBOT_DATABASE_URL"] = database_url
    if identity is not None:
        environment["AUDITBOT_BOTFRAMEWORK_OPENID_URL"] = identity.metadata_url
        environment.update(identity.managed_identity_environment())
    return environment


async def start_bot(
    settings: Settings,
    connector: ConnectorStandIn,
    identity: IdentityStandIn | None,
    clock: Clock | None = None,
) -> tuple[TestServer, RunningBot]:
    """The service on a loopback port (on `clock`, when the test stands time still); its
    requests are signed by `identity`, or unsigned (demo mode) when that is None."""
    server = TestServer(build_service(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    return server, RunningBot(str(server.make_url("")).rstrip("/"), http, connector, identity)


@pytest.fixture(scope="session")
def identity() -> Iterator[IdentityStandIn]:
    """Bot Framework's signing keys and the managed identity endpoint, one for the whole run.
    The endpoint's variables are set for the run, as App Service sets them for the bot."""
    with IdentityStandIn() as stand_in:
        variables = stand_in.managed_identity_environment()
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield stand_in
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
async def connector(identity: IdentityStandIn) -> AsyncIterator[ConnectorStandIn]:
    """The Bot Connector, accepting only tokens the managed identity endpoint issued."""
    async with ConnectorStandIn(tokens=identity.issued) as stand_in:
        yield stand_in


@pytest.fixture
async def teams_bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    """The bot as deployed, on the test database, reached as Teams reaches it."""
    server, running = await start_bot(bot_settings(db, identity), connector, identity)
    yield running
    await running.http.close()
    await server.close()


@pytest.fixture
async def demo_bot(db: Database) -> AsyncIterator[RunningBot]:
    """The bot in demo mode (authentication off), as `auditbot demo` runs it: SQLite only.
    Use with `SQLITE_ONLY`."""
    assert db.dialect == "sqlite", "demo mode runs on SQLite only: mark the test SQLITE_ONLY"
    async with ConnectorStandIn() as connector:
        settings = load_settings(demo=True, database_url=db.url)
        server, running = await start_bot(settings, connector, None)
        yield running
        await running.http.close()
        await server.close()


__all__ = [
    "APP_ID",
    "DEPLOYED",
    "SQLITE_ONLY",
    "TAB_DOMAIN",
    "TENANT_ID",
    "RunningBot",
    "deployed_environment",
    "bot_settings",
    "start_bot",
    "teams_activity",
]
