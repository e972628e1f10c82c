"""Microsoft Entra ID as Graph v1.0 shows it: users, groups, and their delta queries.

Part of the Graph stand-in (`tests/standins/graph.py` serves these routes behind
its token check, throttling and failure controls). Answers follow the Graph
reference for `user: delta`, `group: delta` and `Get user`:

- `GET /v1.0/users/delta()` pages through users (`$select`ed properties, and
  `manager@delta` when `manager` is selected); a round ends with an
  `@odata.deltaLink`, and that link later returns only users changed since,
  a deleted user as `{"id": ..., "@removed": {"reason": "changed"}}`;
- `GET /v1.0/groups/delta()?$filter=id eq '...' or ...&$select=members,...`
  pages through the named groups with `members@delta`: every member in a first
  round, then only those added or removed (`@removed`) since. A large group
  spans several pages, each with part of its members, as Graph splits them.
  Deleting a user takes them out of their groups *without* a members@delta
  entry, as Entra does: only the users delta tells of it;
- `GET /v1.0/users/{id}` (`$select`, `$expand=manager`), 404 for a deleted user;
- a delta link older than `expire_delta_links()` is refused `400
  syncStateNotFound`, as Graph refuses one older than seven days.

Tokens are opaque to the client: skip tokens name a round held here, delta
tokens the change number the round ended at, with the query it was for.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

USER_PROPERTIES = ("userPrincipalName", "displayName", "mail", "accountEnabled")
USER_TYPE = "#microsoft.graph.user"
REMOVED = {"reason": "deleted"}
FILTER_ID = re.compile(r"id\s+eq\s+'([0-9a-fA-F-]{36})'")
Errors = Callable[[int, str, str], web.Response]


@dataclass
class DirectoryUser:
    id: str
    userPrincipalName: str  # noqa: N815 (Graph's names, so answers are these fields as they are)
    displayName: str  # noqa: N815
    mail: str | None
    accountEnabled: bool = True  # noqa: N815
    manager: str | None = None
    deleted: bool = False
    changed: int = 0  # the change number of the last change to the user
    manager_changed: int = 0
    previous_manager: str | None = None


@dataclass
class Round:
    """A delta round being paged through: what is left to send, and the link it ends with."""

    pages: list[list[dict[str, Any]]]
    delta_link: str


@dataclass
class Directory:
    base_url: Callable[[], str]
    error: Errors
    page_size: int = 100
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # id -> displayName
    members: dict[str, set[str]] = field(default_factory=dict)
    # (change number, group, user, added): what a group delta reports
    membership_log: list[tuple[int, str, str, bool]] = field(default_factory=list)
    delta_links_issued: list[str] = field(default_factory=list)
    delta_links_used: list[str] = field(default_factory=list)  # delta links asked with
    _changes: itertools.count = field(default_factory=lambda: itertools.count(1))
    _now: int = 0
    _expired_below: int = 0
    _rounds: dict[str, Round] = field(default_factory=dict)

    # -- test controls ------------------------------------------------------

    def _tick(self) -> int:
        self._now = next(self._changes)
        return self._now

    def add_user(
        self,
        upn: str,
        display_name: str,
        *,
        mail: str | None = "",
        enabled: bool = True,
        manager: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """A new account; mail defaults to the UPN ("" means the same), None for no mailbox."""
        user = DirectoryUser(
            id=user_id or str(uuid.uuid4()),
            userPrincipalName=upn,
            displayName=display_name,
            mail=upn if mail == "" else mail,
            accountEnabled=enabled,
            manager=manager,
        )
        user.changed = user.manager_changed = self._tick()
        self.users[user.id] = user
        return user.id

    def update_user(self, user_id: str, **changes: Any) -> None:
        """Change properties (displayName=..., accountEnabled=False, manager=id or None)."""
        user = self.users[user_id]
        now = self._tick()
        if "manager" in changes:
            user.previous_manager = user.manager
            user.manager_changed = now
        for name, value in changes.items():
            setattr(user, name, value)
        user.changed = now

    def delete_user(self, user_id: str) -> None:
        """Delete the account: gone from every group, and only the users delta says so."""
        user = self.users[user_id]
        user.deleted = True
        user.changed = self._tick()
        for group in self.members.values():
            group.discard(user_id)

    def add_group(self, display_name: str) -> str:
        group_id = str(uuid.uuid4())
        self.groups[group_id] = display_name
        self.members[group_id] = set()
        return group_id

    def add_member(self, group_id: str, user_id: str) -> None:
        self.members[group_id].add(user_id)
        self.membership_log.append((self._tick(), group_id, user_id, True))

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.members[group_id].discard(user_id)
        self.membership_log.append((self._tick(), group_id, user_id, False))

    def expire_delta_links(self) -> None:
        """Every delta link issued so far is refused from now on (Graph's seven days)."""
        self._expired_below = self._tick()

    # -- routes -------------------------------------------------------------

    async def users_delta(self, request: web.Request) -> web.Response:
        since = self._opening(request)
        if isinstance(since, web.Response):
            return since
        query = request.query
        select = _names(query.get("$select")) or ["id", *USER_PROPERTIES]
        if since is None:  # a first round: everyone there now
            items = [self._user(u, select, None) for u in self._live_users()]
        else:
            since_number, select = since["n"], since["select"]
            changed = sorted(
                (u for u in self.users.values() if u.changed > since_number),
                key=lambda u: u.changed,
            )
            items = [self._user(u, select, since_number) for u in changed]
        pages = _pages(items, self.page_size)
        link = self._delta_link("users", {"n": self._now, "select": select})
        return self._start(pages, link, "users")

    async def groups_delta(self, request: web.Request) -> web.Response:
        since = self._opening(request)
        if isinstance(since, web.Response):
            return since
        query = request.query
        if since is None:
            wanted = FILTER_ID.findall(query.get("$filter", ""))
            select = _names(query.get("$select"))
            entries = [
                (group_id, {"@odata.type": USER_TYPE, "id": user_id})
                for group_id in wanted
                if group_id in self.groups
                for user_id in sorted(self.members[group_id])
            ]
            listed = [g for g in wanted if g in self.groups]
        else:
            wanted, select = since["groups"], since["select"]
            last: dict[tuple[str, str], bool] = {}
            for number, group_id, user_id, added in self.membership_log:
                if number > since["n"] and group_id in wanted:
                    last[(group_id, user_id)] = added
            entries = [
                (
                    group_id,
                    {"@odata.type": USER_TYPE, "id": user_id}
                    if added
                    else {"@odata.type": USER_TYPE, "id": user_id, "@removed": REMOVED},
                )
                for (group_id, user_id), added in last.items()
            ]
            listed = sorted({group_id for group_id, _ in entries})
        with_members = "members" in select
        pages = self._group_pages(listed, entries if with_members else [])
        link = self._delta_link("groups", {"n": self._now, "groups": wanted, "select": select})
        return self._start(pages, link, "groups")

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"].lower())
        if user is None or user.deleted:
            return self.error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{request.match_info['user']}' does not exist or one of its queried "
                "reference-property objects are not present.",
            )
        select = _names(request.query.get("$select")) or ["id", *USER_PROPERTIES]
        answer = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity"}
        answer |= {name: getattr(user, name) for name in select if name in USER_PROPERTIES}
        answer["id"] = user.id
        if "manager" in request.query.get("$expand", "") and user.manager:
            answer["manager"] = {"@odata.type": USER_TYPE, "id": user.manager}
        return web.json_response(answer)

    # -- paging -------------------------------------------------------------

    def _live_users(self) -> list[DirectoryUser]:
        return sorted((u for u in self.users.values() if not u.deleted), key=lambda u: u.changed)

    def _user(self, user: DirectoryUser, select: list[str], since: int | None) -> dict[str, Any]:
        if user.deleted:
            return {"@odata.type": USER_TYPE, "id": user.id, "@removed": {"reason": "changed"}}
        item: dict[str, Any] = {
            name: getattr(user, name) for name in select if name in USER_PROPERTIES
        }
        item["id"] = user.id
        if "manager" in select and (since is None or user.manager_changed > since):
            if user.manager:
                item["manager@delta"] = [{"@odata.type": USER_TYPE, "id": user.manager}]
            elif since is not None and user.previous_manager:
                item["manager@delta"] = [
                    {
                        "@odata.type": USER_TYPE,
                        "id": user.previous_manager,
                        "@removed": REMOVED,
                    }
                ]
        return item

    def _group_pages(
        self, listed: list[str], entries: list[tuple[str, dict[str, Any]]]
    ) -> list[list[dict[str, Any]]]:
        """Groups with their members@delta, page_size members a page: a big group spans
        pages, each page carrying the group again with the next part of its members."""
        pages: list[list[dict[str, Any]]] = []
        page: list[dict[str, Any]] = []
        room = self.page_size
        for group_id in listed:
            mine = [entry for g, entry in entries if g == group_id]
            while True:
                part, mine = mine[:room], mine[room:]
                page.append(
                    {"id": group_id, "displayName": self.groups[group_id], "members@delta": part}
                )
                room -= max(len(part), 1)
                if room <= 0:
                    pages.append(page)
                    page, room = [], self.page_size
                if not mine:
                    break
        if page or not pages:
            pages.append(page)
        return pages

    def _opening(self, request: web.Request) -> dict[str, Any] | web.Response | None:
        """A page to answer at once (a round under way, or a refusal), or where a new round
        starts from: None for everything, else the delta token's state."""
        started = self._continue(request)
        if started is not None:
            return started
        return self._since(request.query.get("$deltatoken"))

    def _start(self, pages: list[list[dict[str, Any]]], delta_link: str, kind: str) -> web.Response:
        key = secrets.token_urlsafe(12)
        self._rounds[key] = Round(pages, delta_link)
        return self._page(key, kind)

    def _continue(self, request: web.Request) -> web.Response | None:
        key = request.query.get("$skiptoken")
        if key is None:
            return None
        if key not in self._rounds:
            return self.error(400, "BadRequest", "The skip token is not valid.")
        return self._page(key, "users" if "/users/" in request.path else "groups")

    def _page(self, key: str, kind: str) -> web.Response:
        current = self._rounds[key]
        value = current.pages.pop(0)
        answer: dict[str, Any] = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{kind}",
            "value": value,
        }
        if current.pages:
            answer["@odata.nextLink"] = f"{self.base_url()}/{kind}/delta()?$skiptoken={key}"
        else:
            del self._rounds[key]
            answer["@odata.deltaLink"] = current.delta_link
            self.delta_links_issued.append(current.delta_link)
        return web.json_response(answer)

    def _delta_link(self, kind: str, state: dict[str, Any]) -> str:
        token = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
        return f"{self.base_url()}/{kind}/delta()?$deltatoken={token}"

    def _since(self, token: str | None) -> dict[str, Any] | web.Response | None:
        if token is None:
            return None
        self.delta_links_used.extend(
            link for link in self.delta_links_issued if link.endswith(f"$deltatoken={token}")
        )
        try:
            state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            return self.error(400, "BadRequest", "The delta token is not valid.")
        if state["n"] < self._expired_below:
            return self.error(
                400,
                "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data "
                "must be synchronized again.",
            )
        return dict(state)


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _pages(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
