"""Staff and their roles from Microsoft Entra ID: what `auditbot sync entra` does.

The council writes a mapping (TOML): one `[[group]]` per Entra group, with the
roles its members hold in auditbot, in the staff CSV's `role@SCOPE` form:

    [[group]]
    id = "2b0f6c2e-5d0a-4a53-9a0e-6f1f1c3b8a10"   # the group's object id
    name = "Early Help North practitioners"      # for people; shown in messages
    roles = ["practitioner@EH-N"]

    [[group]]
    id = "9c1e..."
    name = "Early Help auditors"
    roles = ["auditor@EH"]

    [[group]]
    id = "4e7a..."
    name = "Trained auditors"
    auditor_trained = true                        # members are trained auditors

A person's roles are exactly those of the mapped groups they are directly in
(nested groups are not expanded), and, when some group says `auditor_trained`,
they are a trained auditor exactly when they are in one such group.
Someone in none of them, disabled, or deleted in Entra is retired (never
deleted: their history stays); someone back in a group with an enabled account
is reinstated. Names, UPN, mail and line manager follow Entra. Every change is
recorded in the audit trail as the CSV import records it (actor "entra"), and
nothing is written for a person who did not change.

Reading is the directory's (`Directory`, implemented over Graph by
bot/directory.py): the mapped groups' members and the tenant's users, each by
delta query. The delta links are saved in the same transaction as the
changes, so a sync that fails part way changes nothing and the next one reads
the same changes again.

Two guards stop a wrong mapping from retiring everyone: a group the directory
does not return refuses the sync, and so does a sync that would retire more
than `max_retired_share` of the active staff (unless the caller allows it).
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import ImportFileError
from storage.imports.common import GUID, ImportReport, RowError, count_and_record
from storage.imports.staff import (
    Grant,
    existing_grants,
    load_scopes,
    parse_grants,
    staff_snapshot,
    sync_grants,
)
from storage.models import EntraMembership, EntraSyncState, Staff
from storage.repositories.events import Actor

log = logging.getLogger(__name__)

T = TypeVar("T")
USERS_FEED = "users"
GROUPS_PER_QUERY = 50  # Graph's limit on ids in one group delta $filter
MAX_RETIRED_SHARE = 0.5


class MappingError(ImportFileError):
    """The mapping file cannot be used; the message says where and why. Nothing changed."""


@dataclass(frozen=True)
class DirectoryUser:
    """A user as the directory reports them. `removed`: deleted from the directory
    (nothing else is then known). `manager_known`: the answer said who the manager is
    (or that there is none); otherwise the manager did not change."""

    id: str
    removed: bool = False
    upn: str = ""
    display_name: str = ""
    mail: str | None = None
    enabled: bool = True
    manager_known: bool = False
    manager_id: str | None = None


@dataclass(frozen=True)
class MemberChange:
    group_id: str
    user_id: str
    removed: bool


@dataclass(frozen=True)
class DeltaRound(Generic[T]):
    items: list[T]
    delta_link: str
    full: bool  # a first (or restarted) round: items are everything, not changes
    groups_seen: frozenset[str] = frozenset()  # a groups round: the groups it returned


class Directory(Protocol):
    async def user_changes(self, delta_link: str | None) -> DeltaRound[DirectoryUser]: ...

    async def member_changes(
        self, group_ids: list[str], delta_link: str | None
    ) -> DeltaRound[MemberChange]: ...

    async def user(self, user_id: str) -> DirectoryUser: ...


@dataclass(frozen=True)
class GroupRule:
    group_id: str
    name: str
    roles: tuple[str, ...]
    auditor_trained: bool = False


@dataclass(frozen=True)
class EntraMapping:
    rules: tuple[GroupRule, ...]

    @property
    def group_ids(self) -> list[str]:
        return sorted(rule.group_id for rule in self.rules)

    def name_of(self, group_id: str) -> str:
        rule = next(r for r in self.rules if r.group_id == group_id)
        return f"{rule.name} ({group_id})" if rule.name else group_id


@dataclass
class SyncReport(ImportReport):
    reinstated: int = 0
    users_read: int = 0
    member_changes_read: int = 0
    full_round: bool = False  # some feed was read whole (a first sync, or an expired link)
    skipped: list[str] = field(default_factory=list)  # people not loaded, and why (ids only)

    def summary(self) -> str:
        joined = f", {self.reinstated} back" if self.reinstated else ""
        retired = f", {len(self.retired)} left" if self.retired else ""
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        read = "read in full" if self.full_round else "changes read"
        return (
            f"Entra sync ({read}: {self.users_read} users, {self.member_changes_read} group "
            f"memberships): {self.created} joined, {self.updated} updated, "
            f"{self.unchanged} unchanged{joined}{retired}{skipped}"
        )


def read_mapping(source: str | Path) -> EntraMapping:
    """The mapping in a TOML file (or TOML text); MappingError says what is wrong."""
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else str(source)
        document = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(f"cannot read the Entra mapping {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"the Entra mapping is not valid TOML: {error}") from None
    unknown = set(document) - {"group"}
    if unknown:
        raise MappingError(f"the Entra mapping has unknown keys: {', '.join(sorted(unknown))}")
    groups = document.get("group")
    if not isinstance(groups, list) or not groups:
        raise MappingError("the Entra mapping names no groups: add [[group]] tables")
    rules: list[GroupRule] = []
    for number, table in enumerate(groups, start=1):
        rules.append(_rule(number, table))
    ids = [rule.group_id for rule in rules]
    repeated = sorted({group_id for group_id in ids if ids.count(group_id) > 1})
    if repeated:
        raise MappingError(f"group {repeated[0]} is mapped twice; give it one [[group]]")
    return EntraMapping(tuple(rules))


def _rule(number: int, table: Any) -> GroupRule:
    where = f"group {number}"
    if not isinstance(table, dict):
        raise MappingError(f"{where}: must be a [[group]] table")
    unknown = set(table) - {"id", "name", "roles", "auditor_trained"}
    if unknown:
        raise MappingError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    group_id = str(table.get("id", "")).strip().lower()
    if not GUID.match(group_id):
        raise MappingError(f"{where}: id must be the group's object id (a GUID)")
    name = str(table.get("name", "")).strip()
    where = f"group {number} ({name or group_id})"
    roles = table.get("roles", [])
    trained = table.get("auditor_trained", False)
    if not isinstance(trained, bool):
        raise MappingError(f"{where}: auditor_trained must be true or false")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise MappingError(f'{where}: roles must be a list such as ["practitioner@EH-N"]')
    if not roles and not trained:
        raise MappingError(f"{where}: give it roles, or auditor_trained = true, or both")
    return GroupRule(group_id, name, tuple(r.strip() for r in roles), trained)


async def sync_entra(
    session: AsyncSession,
    directory: Directory,
    mapping: EntraMapping,
    *,
    actor: Actor = "entra",
    max_retired_share: float | None = MAX_RETIRED_SHARE,
) -> SyncReport:
    """Bring staff, roles and who has left in line with Entra; never commits.

    `report.retired` names who left, for the caller to hand their work on
    (dialogs/leavers.py). max_retired_share=None allows any number to leave.
    """
    report = SyncReport()
    scopes, scope_codes = await load_scopes(session)
    grants_of = _grants_by_group(mapping, scopes)
    links = {row.feed: row for row in await session.scalars(select(EntraSyncState))}
    touched = await _read_groups(session, directory, mapping, links, report)
    users_round = await directory.user_changes(_link(links, USERS_FEED))
    _save_link(session, links, USERS_FEED, users_round.delta_link)
    report.users_read = len(users_round.items)
    report.full_round = report.full_round or users_round.full

    members: dict[str, set[str]] = defaultdict(set)
    for group_id, aad in await session.execute(
        select(EntraMembership.group_id, EntraMembership.aad_object_id)
    ):
        members[aad].add(group_id)
    staff = {s.aad_object_id: s for s in await session.scalars(select(Staff))}
    users = {user.id: user for user in users_round.items}
    relevant = set(touched)
    relevant |= {aad for aad in users if aad in members or aad in staff}
    relevant |= {aad for aad, s in staff.items() if s.active and not members.get(aad)}
    if users_round.full:  # whoever is not in the whole list is not in the tenant
        for aad, person in staff.items():
            if person.active and aad not in users:
                users[aad] = DirectoryUser(aad, removed=True)
                relevant.add(aad)
    for aad in sorted(relevant):
        if aad not in users and members.get(aad) and (aad not in staff or aad in touched):
            users[aad] = await directory.user(aad)  # joined or moved: as they are now

    trained_groups = {r.group_id for r in mapping.rules if r.auditor_trained}
    changes = [
        _Change(aad, staff.get(aad), users.get(aad), members.get(aad, set()))
        for aad in sorted(relevant)
    ]
    await _apply(session, changes, grants_of, trained_groups, scope_codes, actor, report)
    _refuse_mass_retirement(staff, report, max_retired_share)
    log.info("entra sync: %s", report.summary())
    return report


@dataclass
class _Change:
    aad: str
    staff: Staff | None
    user: DirectoryUser | None  # None: not changed in the directory since the last sync
    groups: set[str]

    @property
    def active(self) -> bool:
        if not self.groups or (self.user is not None and self.user.removed):
            return False
        if self.user is not None:
            return self.user.enabled
        return self.staff is not None and self.staff.active


async def _read_groups(
    session: AsyncSession,
    directory: Directory,
    mapping: EntraMapping,
    links: dict[str, EntraSyncState],
    report: SyncReport,
) -> set[str]:
    """Bring entra_memberships up to date, GROUPS_PER_QUERY groups a query; who changed."""
    touched: set[str] = set()
    ids = mapping.group_ids
    feeds = []
    for start in range(0, len(ids), GROUPS_PER_QUERY):
        chunk = ids[start : start + GROUPS_PER_QUERY]
        feed = "groups:" + hashlib.sha256(",".join(chunk).encode()).hexdigest()[:16]
        feeds.append(feed)
        answer = await directory.member_changes(chunk, _link(links, feed))
        report.member_changes_read += len(answer.items)
        if answer.full:
            report.full_round = True
            missing = [g for g in chunk if g not in answer.groups_seen]
            if missing:
                raise MappingError(
                    f"group {mapping.name_of(missing[0])} is not in Entra ID, or auditbot may "
                    "not read it: check the id in the mapping, and that the app has "
                    "GroupMember.Read.All"
                )
            touched |= await _forget_members(session, chunk)
        latest: dict[tuple[str, str], bool] = {}
        for change in answer.items:
            latest[(change.group_id, change.user_id)] = not change.removed
        for (group_id, aad), present in latest.items():
            key = {"group_id": group_id, "aad_object_id": aad}
            row = None if answer.full else await session.get(EntraMembership, key)
            if present and row is None:
                session.add(EntraMembership(**key))
            elif not present and row is not None:
                await session.delete(row)
            touched.add(aad)
        _save_link(session, links, feed, answer.delta_link)
    for feed, state in links.items():
        if feed.startswith("groups:") and feed not in feeds:
            await session.delete(state)
    touched |= await _forget_members(session, None, keep=ids)
    await session.flush()
    return touched


async def _forget_members(
    session: AsyncSession, groups: list[str] | None, keep: list[str] | None = None
) -> set[str]:
    """Delete the memberships of these groups (or of every group not in keep); whose."""
    where = (
        EntraMembership.group_id.in_(groups)
        if groups is not None
        else EntraMembership.group_id.not_in(keep or [])
    )
    gone = set((await session.scalars(select(EntraMembership.aad_object_id).where(where))).all())
    if gone:
        await session.execute(delete(EntraMembership).where(where))
    return gone


def _grants_by_group(mapping: EntraMapping, scopes: dict[str, Any]) -> dict[str, frozenset[Grant]]:
    grants = {}
    for rule in mapping.rules:
        try:
            grants[rule.group_id] = parse_grants(";".join(rule.roles), scopes)
        except RowError as error:
            raise MappingError(f"group {mapping.name_of(rule.group_id)}: {error}") from None
    return grants


async def _apply(
    session: AsyncSession,
    changes: list[_Change],
    grants_of: dict[str, frozenset[Grant]],
    trained_groups: set[str],
    scope_codes: dict[Any, str],
    actor: Actor,
    report: SyncReport,
) -> None:
    held = await existing_grants(session, [c.staff.id for c in changes if c.staff is not None])
    befores: dict[str, dict[str, Any] | None] = {}
    loaded: list[_Change] = []
    for change in changes:
        person, user = change.staff, change.user
        if person is None and not change.active:
            continue  # never seen as staff and not one now
        if person is not None:
            befores[change.aad] = staff_snapshot(person, held.get(person.id, []), scope_codes)
        fields = _fields(user) if user is not None and not user.removed else {}
        if fields and await _upn_taken(session, str(fields["upn"]), change.aad):
            report.skipped.append(f"{change.aad}: its UPN belongs to another staff member")
            continue
        if person is None:
            if not fields:
                report.skipped.append(f"{change.aad}: the directory gave no details")
                continue
            person = Staff(aad_object_id=change.aad, active=True, **fields)
            session.add(person)
            change.staff = person
            befores[change.aad] = None
        else:
            for name, value in fields.items():
                setattr(person, name, value)
            if person.active and not change.active:
                report.retired.append(person.id)
            elif not person.active and change.active:
                report.reinstated += 1
            person.active = change.active
        if change.active and trained_groups:
            person.auditor_trained = bool(change.groups & trained_groups)
        loaded.append(change)
    await session.flush()
    await _set_managers(session, loaded)
    for change in loaded:
        person = change.staff
        assert person is not None
        current = held.get(person.id, [])
        if change.active:
            wanted = frozenset().union(*(grants_of[g] for g in change.groups if g in grants_of))
            current = await sync_grants(session, person.id, current, wanted)
        after = staff_snapshot(person, current, scope_codes)
        await count_and_record(
            session, "staff", person.id, befores[change.aad], after, actor, report
        )


async def _set_managers(session: AsyncSession, loaded: list[_Change]) -> None:
    """Line managers as the directory says, once everyone new has an id."""
    told = [c for c in loaded if c.user is not None and c.user.manager_known]
    wanted = {c.user.manager_id for c in told if c.user is not None and c.user.manager_id}
    ids = {
        aad: staff_id
        for aad, staff_id in await session.execute(
            select(Staff.aad_object_id, Staff.id).where(Staff.aad_object_id.in_(wanted))
        )
    }
    for change in told:
        assert change.staff is not None and change.user is not None
        manager = ids.get(change.user.manager_id or "")
        change.staff.line_manager_id = manager if manager != change.staff.id else None
    await session.flush()


def _fields(user: DirectoryUser) -> dict[str, Any]:
    """Staff fields from the directory; none if it did not say who the user is."""
    upn = user.upn.strip().lower()
    if not upn:
        return {}
    return {
        "upn": upn,
        "display_name": user.display_name.strip()[:200] or upn,
        "email": (user.mail or upn).strip().lower(),
    }


async def _upn_taken(session: AsyncSession, upn: str, aad: str) -> bool:
    owner = await session.scalar(select(Staff.aad_object_id).where(Staff.upn == upn))
    return owner is not None and owner != aad


def _link(links: dict[str, EntraSyncState], feed: str) -> str | None:
    row = links.get(feed)
    return row.delta_link if row is not None else None


def _save_link(
    session: AsyncSession, links: dict[str, EntraSyncState], feed: str, delta_link: str
) -> None:
    row = links.get(feed)
    if row is None:
        links[feed] = row = EntraSyncState(feed=feed, delta_link=delta_link)
        session.add(row)
    row.delta_link = delta_link


def _refuse_mass_retirement(
    staff: dict[str, Staff], report: SyncReport, share: float | None
) -> None:
    active_before = sum(1 for s in staff.values() if s.active) + len(report.retired)
    if share is None or len(report.retired) <= max(2, share * active_before):
        return
    raise MappingError(
        f"this sync would retire {len(report.retired)} of {active_before} active staff, more "
        f"than {share:.0%}: check the mapping's group ids and the app's permissions; if so "
        "many really have left, run it again with --allow-mass-retirement"
    )
