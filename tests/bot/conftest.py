"""Run the whole bot over real HTTP on loopback, as Teams would drive it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.config import Settings, load_settings
from bot.service import build_service
from tests.conftest import Database
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import Clock

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01"


@dataclass
class RunningBot:
    url: str
    http: aiohttp.ClientSession
    connector: ConnectorStandIn

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None):
        return await self.http.post(f"{self.url}/api/messages", json=activity, headers=headers)


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


async def start_bot(
    settings: Settings, connector: ConnectorStandIn, clock: Clock | None = None
) -> tuple[TestServer, RunningBot]:
    """The service on a loopback port (on `clock`, when the test stands time still)."""
    server = TestServer(build_service(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    return server, RunningBot(str(server.make_url("")).rstrip("/"), http, connector)


@pytest.fixture
async def connector() -> AsyncIterator[ConnectorStandIn]:
    async with ConnectorStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def demo_bot(db: Database, connector: ConnectorStandIn) -> AsyncIterator[RunningBot]:
    """The bot in demo mode (no authentication) on the test database."""
    server, running = await start_bot(load_settings(demo=True, database_url=db.url), connector)
    yield running
    await running.http.close()
    await server.close()


@pytest.fixture
def identity() -> Iterator[IdentityStandIn]:
    with IdentityStandIn() as stand_in:
        yield stand_in


@pytest.fixture
async def secured_bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    """The bot as deployed: Bot Framework authentication on, keys from the stand-in."""
    settings = load_settings(
        database_url=db.url,
        app_id=APP_ID,
        app_password="not-a-real-secret",
        tenant_id=TENANT_ID,
        botframework_openid_url=identity.metadata_url,
    )
    server, running = await start_bot(settings, connector)
    yield running
    await running.http.close()
    await server.close()
