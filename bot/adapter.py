"""The Bot Framework adapter: inbound JWT checks and outbound credentials.

Authentication is always on, except in the explicit demo mode, where the
adapter accepts unsigned requests (as the Agents Playground sends) and
replies without a token. `build_adapter` logs a loud warning when that is so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import CertificateServiceClientCredentialsFactory

from bot.config import Settings

log = logging.getLogger(__name__)

DEMO_WARNING = (
    "DEMO MODE: Bot Framework authentication is OFF. Anyone who can reach this port "
    "can talk to the bot as anyone. Never run demo mode where Teams or the internet can reach it."
)


def build_adapter(settings: Settings) -> CloudAdapter:
    """A CloudAdapter checking Bot Framework JWTs with the app's credentials."""
    if settings.demo:
        log.warning(DEMO_WARNING)
        auth = ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
        )
    else:
        configuration = SimpleNamespace(
            APP_ID=settings.app_id,
            APP_PASSWORD=settings.app_password,
            APP_TYPE=settings.app_type,
            APP_TENANTID=settings.tenant_id,
        )
        factory = None
        if settings.uses_certificate:
            factory = CertificateServiceClientCredentialsFactory(
                settings.app_cert_thumbprint,
                Path(settings.app_cert_key_file).read_text(),
                settings.app_id,
                settings.tenant_id,
            )
        auth = ConfigurationBotFrameworkAuthentication(configuration, credentials_factory=factory)
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = _on_turn_error
    return adapter


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    """Log the failure by ids only, and tell the user something went wrong."""
    activity = context.activity
    log.exception(
        "turn failed: activity=%s type=%s conversation=%s",
        activity.id,
        activity.type,
        activity.conversation.id if activity.conversation else None,
        exc_info=error,
    )
    if activity.type == "message":
        await context.send_activity(
            "Sorry, something went wrong on my side and nothing was changed. "
            "Please try again in a minute; if it keeps happening, tell the Audit Team."
        )
