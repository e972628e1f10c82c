"""Where the workspace is, for the cards that link to it (the weekly digest, cycle status)."""

from __future__ import annotations

from typing import Any

TAB_ENTITY = "audit-tracker"  # the personal tab's entityId in the manifest


def tracker_link(settings: Any) -> str | None:
    """A link that opens the tracker: the Teams deep link to the app's personal tab when the
    tab is deployed (AUDITBOT_TAB_DOMAIN), the local page in the demo, else None."""
    if settings.demo:
        return f"http://{settings.host}:{settings.port}/tab"
    if settings.tab_domain and settings.app_id:
        return f"https://teams.microsoft.com/l/entity/{settings.app_id}/{TAB_ENTITY}"
    return None
