"""The Teams app manifest: what Teams shows about auditbot and how it reaches the bot.

The manifest is built in code from an `AppListing` (the bot's app id and the
council's developer name and web pages), so nothing in it is a placeholder:
a missing value stops the build instead of shipping an app that points at
example.com. `build_manifest` returns the manifest; `manifest.package`
checks it against the vendored schema and zips it with the icons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from manifest.icons import ACCENT

SCHEMA_VERSION = "1.30"  # the newest in @microsoft/app-manifest 1.1.2; see schema/README.md
SCHEMA_HOME = "https://developer.microsoft.com/json-schemas/teams"
SCHEMA_URL = f"{SCHEMA_HOME}/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json"
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

SHORT_NAME = "auditbot"
FULL_NAME = "auditbot: children's services audit programme"
SHORT_DESCRIPTION = "Runs your children's services case audit programme in Teams"
FULL_DESCRIPTION = (
    "auditbot runs a council's children's services audit programme in Teams. When the Audit Team "
    "opens an audit cycle, it tells each auditor and moderator what they have been allocated, "
    "tells practitioners their work was picked for audit (with their team manager copied), and "
    "collects approvals of the key lines of enquiry from the Head of Service, coordinator and "
    "Divisional Director. Auditors grade and moderators moderate in Adaptive Cards inside the "
    "chat; auditbot books the follow-up (UoPP) meeting and chases what is late, counting "
    "working days and bank holidays. Ask it 'my audits' or 'my actions' to see what is yours "
    "to do. It uses case references only: no child's name is ever shown in chat, cards or logs."
)


class ManifestError(Exception):
    """The app would be refused by Teams, or cannot be built; the message says what and where."""


@dataclass(frozen=True)
class ChatCommand:
    title: str  # what Teams puts in the compose box when chosen from the menu
    description: str


# The personal chat's command menu. Teams inserts the title as typed text, so
# `status` is listed bare and its description says to add the case reference.
CHAT_COMMANDS: tuple[ChatCommand, ...] = (
    ChatCommand("help", "Show what you can ask me."),
    ChatCommand("my audits", "Your audits and moderations to do, soonest due first."),
    ChatCommand("my actions", "Actions from audits that you own and have not finished."),
    ChatCommand("status", "Where one audit stands: type status and the case reference."),
    ChatCommand("cycle status", "Audit Team: how the open audit cycles are going."),
    ChatCommand("open cycle", "Audit Team: propose a new audit cycle for approval."),
)


@dataclass(frozen=True)
class AppListing:
    """What a council fills in for its own copy of the app; every field is required."""

    app_id: str  # the bot's Microsoft Entra app id (a GUID)
    developer_name: str
    website_url: str
    privacy_url: str
    terms_url: str
    version: str  # MAJOR.MINOR.PATCH; Teams refuses an update whose version has not gone up
    # Where auditbot is served (its host name): the Audit Team's workspace tabs and their
    # single sign-on. Without it the app has no tabs.
    tab_domain: str = ""


def package_version() -> str:
    """auditbot's own version, which the app's version follows."""
    try:
        return version("auditbot")
    except PackageNotFoundError:
        raise ManifestError(
            "auditbot is not installed, so the app's version is unknown: pip install -e ."
        ) from None


def listing_problems(listing: AppListing) -> list[str]:
    """What Teams would refuse that its schema does not catch."""
    if not SEMVER.match(listing.version):
        return [f"version: {listing.version!r} is not MAJOR.MINOR.PATCH, which Teams requires"]
    return []


def build_manifest(listing: AppListing) -> dict[str, Any]:
    """The manifest for `listing`, at schema `SCHEMA_VERSION`; validate it before use.

    The bot is installed in the personal scope only: allocation notices, cards
    and commands are one person's work, and keeping case references out of
    team channels and group chats keeps them in front of the people involved.
    With `tab_domain`, the Audit Team's workspace is a personal tab and a channel tab a
    team can pin, both served by auditbot at that domain, with single sign-on
    (`webApplicationInfo`: the app id and its Application ID URI, api://<domain>/<app id>).
    """
    manifest = {
        "$schema": SCHEMA_URL,
        "manifestVersion": SCHEMA_VERSION,
        "version": listing.version,
        "id": listing.app_id,
        "localizationInfo": {"defaultLanguageTag": "en-gb"},
        "developer": {
            "name": listing.developer_name,
            "websiteUrl": listing.website_url,
            "privacyUrl": listing.privacy_url,
            "termsOfUseUrl": listing.terms_url,
        },
        "name": {"short": SHORT_NAME, "full": FULL_NAME},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": listing.app_id,
                "scopes": ["personal"],
                "isNotificationOnly": False,
                "supportsFiles": False,
                "supportsCalling": False,
                "supportsVideo": False,
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": [
                            {"title": c.title, "description": c.description} for c in CHAT_COMMANDS
                        ],
                    }
                ],
            }
        ],
        "defaultInstallScope": "personal",
        "validDomains": [],
    }
    domain = listing.tab_domain
    if domain:
        tab = f"https://{domain}/tab"
        manifest["staticTabs"] = [
            {
                "entityId": "audit-tracker",  # workspace/links.py links to it by this
                "name": "Audit tracker",
                "contentUrl": tab,
                "websiteUrl": tab,
                "scopes": ["personal"],
            }
        ]
        manifest["configurableTabs"] = [
            {
                "configurationUrl": f"{tab}/configure",
                "canUpdateConfiguration": False,
                "scopes": ["team"],
                "context": ["channelTab"],
            }
        ]
        manifest["webApplicationInfo"] = {
            "id": listing.app_id,
            "resource": f"api://{domain}/{listing.app_id}",
        }
        manifest["validDomains"] = [domain]
    return manifest
