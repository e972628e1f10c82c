"""Where the workspace is, for the cards that link to it (the weekly digest, cycle status)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

TAB_ENTITY = "audit-tracker"  # the personal tab's entityId in the manifest


def tracker_link(settings: Any) -> str | None:
    """A link that opens the tracker: the Teams deep link to the app's personal tab when the
    tab is deployed (AUDITBOT_TAB_DOMAIN), the local page in the demo, else None."""
    if settings.demo:
        return f"http://{settings.host}:{settings.port}/tab"
    if settings.tab_domain and settings.app_id:
        return f"https://teams.microsoft.com/l/entity/{settings.app_id}/{TAB_ENTITY}"
    return None


def page_link(tracker: str, page: str) -> str:
    """The link to one page of the workspace: in Teams the tab's deep link with the page as
    its sub-entity (the tab opens it, `tab.html`), in the demo the local page's fragment."""
    if tracker.startswith("https://teams.microsoft.com/"):
        context = json.dumps({"subEntityId": page}, separators=(",", ":"))
        return f"{tracker}?context={quote(context)}"
    return f"{tracker}#{page}"
