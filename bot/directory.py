"""Microsoft Entra ID through Graph: who works here, and in which groups, by delta query.

`EntraDirectory` reads two change feeds with msgraph-sdk, each a round of
pages ending in a delta link that the next round starts from, so a nightly
sync reads only what changed:

- users (`GET /users/delta`): identity, name, mail, whether the account is
  enabled, and the manager; a deleted user comes back `@removed`. Deleting a
  user takes them out of their groups without the groups' feed saying so,
  which is why leavers are read here.
- the mapped groups' members (`GET /groups/delta?$filter=id eq ...`, 50 ids a
  query, Graph's limit): everyone in a first round, additions and removals
  after. Members that are not users (nested groups, devices) are skipped.

Application permissions, least privilege: User.Read.All and GroupMember.Read.All.
Throttling and transient failures are retried as for the calendar
(`bot.graph.GraphClient`). A delta link Graph no longer knows (older than its
seven days, or Graph's own resync) starts a full round again: `DeltaRound.full`
says so, and a full round's answer is the whole truth, not changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.groups.delta.delta_request_builder import (
    DeltaRequestBuilder as GroupsDelta,
)
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder as UsersDelta
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from bot.graph import Gone, GraphClient, build_credential, client_options
from storage.imports.entra import DeltaRound, DirectoryUser, MemberChange

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

USER_FIELDS = ["id", "userPrincipalName", "displayName", "mail", "accountEnabled"]
GROUPS_PER_QUERY = 50  # Graph's limit on ids in one group delta $filter
USER_TYPE = "#microsoft.graph.user"
# How Graph says a delta link is no longer any good: start a full round.
EXPIRED = frozenset(
    {(400, "syncStateNotFound"), (410, ""), (410, "syncStateNotFound"), (410, "resyncRequired")}
)
NOT_THERE = frozenset({(404, "Request_ResourceNotFound"), (404, "ResourceNotFound")})


class DirectoryUnavailable(Exception):
    """Graph could not be read after retries; the message says why, never whose data."""


class EntraDirectory(GraphClient):
    unavailable = DirectoryUnavailable
    forbidden = (
        "the app lacks the application permissions User.Read.All and GroupMember.Read.All, "
        "or an administrator has not consented to them"
    )

    async def user_changes(self, delta_link: str | None) -> DeltaRound[DirectoryUser]:
        """Users changed since delta_link (everyone, when None or expired)."""

        def first() -> Awaitable[Any]:
            config = RequestConfiguration(
                query_parameters=UsersDelta.DeltaRequestBuilderGetQueryParameters(
                    select=[*USER_FIELDS, "manager"]
                )
            )
            return self._client.users.delta.get(request_configuration=config)

        def more(link: str) -> Awaitable[Any]:
            return self._client.users.delta.with_url(link).get()

        pages, link, full = await self._round("usersDelta", delta_link, first, more)
        return DeltaRound([_user(item, full) for page in pages for item in page], link, full)

    async def member_changes(
        self, group_ids: list[str], delta_link: str | None
    ) -> DeltaRound[MemberChange]:
        """Members added to or removed from these groups since delta_link (every member,
        when None or expired). At most GROUPS_PER_QUERY groups a call."""
        if not 0 < len(group_ids) <= GROUPS_PER_QUERY:
            raise ValueError(f"between 1 and {GROUPS_PER_QUERY} groups a query")

        def first() -> Awaitable[Any]:
            config = RequestConfiguration(
                query_parameters=GroupsDelta.DeltaRequestBuilderGetQueryParameters(
                    select=["id", "displayName", "members"],
                    filter=" or ".join(f"id eq '{group_id}'" for group_id in group_ids),
                )
            )
            return self._client.groups.delta.get(request_configuration=config)

        def more(link: str) -> Awaitable[Any]:
            return self._client.groups.delta.with_url(link).get()

        pages, link, full = await self._round("groupsDelta", delta_link, first, more)
        seen = frozenset(str(group.id).lower() for page in pages for group in page)
        changes = [
            MemberChange(str(group.id).lower(), str(entry["id"]).lower(), "@removed" in entry)
            for page in pages
            for group in page
            for entry in (group.additional_data or {}).get("members@delta", [])
            if entry.get("@odata.type", USER_TYPE) == USER_TYPE and entry.get("id")
        ]
        return DeltaRound(changes, link, full, groups_seen=seen)

    async def user(self, user_id: str) -> DirectoryUser:
        """One user as they are now; `removed` if the directory no longer has them."""
        config = RequestConfiguration(
            query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=USER_FIELDS, expand=["manager($select=id)"]
            )
        )
        item = self._client.users.by_user_id(user_id)
        try:
            found = await self._call(
                "getUser", lambda: item.get(request_configuration=config), gone=NOT_THERE
            )
        except Gone:
            return DirectoryUser(user_id, removed=True)
        if found is None:
            return DirectoryUser(user_id, removed=True)
        manager = found.manager.id if found.manager else None
        return DirectoryUser(
            id=str(found.id or user_id).lower(),
            upn=found.user_principal_name or "",
            display_name=found.display_name or "",
            mail=found.mail,
            enabled=found.account_enabled is not False,
            manager_known=True,
            manager_id=manager.lower() if manager else None,
        )

    async def _round(
        self,
        what: str,
        delta_link: str | None,
        first: Callable[[], Awaitable[Any]],
        more: Callable[[str], Awaitable[Any]],
    ) -> tuple[list[list[Any]], str, bool]:
        """Every page of one round, and the delta link it ends with; restarts a round whose
        link expired. A throttled page is asked again (the retries in `_call`)."""
        full = delta_link is None
        try:
            answer = await self._call(
                what, first if delta_link is None else lambda: more(delta_link), gone=EXPIRED
            )
        except Gone:
            log.warning("graph %s: the delta link has expired; reading everything again", what)
            full = True
            answer = await self._call(what, first)
        pages = []
        while True:
            if answer is None:
                raise DirectoryUnavailable(f"Graph answered {what} with nothing")
            pages.append(list(answer.value or []))
            if answer.odata_delta_link:
                return pages, answer.odata_delta_link, full
            next_link = answer.odata_next_link
            if not next_link:
                raise DirectoryUnavailable(f"Graph ended a {what} page with neither link")
            answer = await self._call(what, _bound(more, next_link))


def _bound(more: Callable[[str], Awaitable[Any]], link: str) -> Callable[[], Awaitable[Any]]:
    return lambda: more(link)


def _user(item: Any, full: bool) -> DirectoryUser:
    """A feed entry; in a full round, no manager@delta means no manager."""
    extra = item.additional_data or {}
    user_id = str(item.id).lower()
    if "@removed" in extra:
        return DirectoryUser(user_id, removed=True)
    manager_known, manager_id = full, None
    if "manager@delta" in extra:
        manager_known = True
        current = [m for m in extra["manager@delta"] if "@removed" not in m and m.get("id")]
        manager_id = str(current[0]["id"]).lower() if current else None
    return DirectoryUser(
        id=user_id,
        upn=item.user_principal_name or "",
        display_name=item.display_name or "",
        mail=item.mail,
        enabled=item.account_enabled is not False,
        manager_known=manager_known,
        manager_id=manager_id,
    )


def build_directory(
    settings: Settings, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> EntraDirectory:
    """The directory the Graph settings describe; the caller must `await directory.close()`."""
    if not settings.graph_configured:
        raise DirectoryUnavailable(
            "Microsoft Graph is not configured: set AUDITBOT_GRAPH_MANAGED_IDENTITY=true, or "
            "AUDITBOT_GRAPH_TENANT_ID, AUDITBOT_GRAPH_CLIENT_ID and a secret or certificate"
        )
    return EntraDirectory(build_credential(settings), **client_options(settings), sleep=sleep)


__all__ = ["DirectoryUnavailable", "EntraDirectory", "build_directory"]
