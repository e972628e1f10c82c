"""Putting a programme file in force, and reading the programme a cycle runs under.

`load_programme` checks the file, refuses it whole if anything is wrong, and
otherwise, in the caller's one transaction: stores it as the programme's next
version (the previous one retires, and the cycles that started under it keep
it), creates or updates its services, and writes an audit-trail row. A
service belongs to one programme in force at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.enums import ServiceKind
from storage.models import Audit, Cycle, ProgrammeVersion, Service, Staff
from storage.repositories import programmes as versions
from workflow.grades import Grade
from workflow.programme import Programme, check_programme
from workflow.programme.model import (
    EARLY_HELP_REAUDIT,
    EVERY_AUDIT_MEETS,
    FAST_PATH,
    AnyModeration,
    FollowUp,
    GroupModeration,
    Inadequate,
    Reaudit,
)
from workflow.programme.steps import AuditPath
from workflow.roles import Role
from workflow.rules import ProgrammeRules


class ProgrammeConflict(Exception):
    """The programme cannot be put in force beside the others; the message says why."""


@dataclass(frozen=True)
class Loaded:
    programme: Programme
    version: ProgrammeVersion
    added: list[str]
    updated: list[str]
    cycles_keeping_earlier: int

    def summary(self) -> str:
        about = self.programme.programme
        lines = [f"Loaded {about.name} ({about.id}), version {self.version.version}: in force now."]
        if self.added:
            lines.append(f"Services added: {', '.join(self.added)}.")
        if self.updated:
            lines.append(f"Services updated: {', '.join(self.updated)}.")
        cycles = self.cycles_keeping_earlier
        if cycles == 1:
            lines.append("1 running cycle keeps the earlier version until it closes.")
        elif cycles:
            lines.append(f"{cycles} running cycles keep the earlier version until they close.")
        lines.append("The load is on the audit trail.")
        return "\n".join(lines)


async def load_programme(
    session: AsyncSession,
    text: str,
    *,
    actor: str,
    now: datetime,
    services_as: Mapping[str, str | None] | None = None,
) -> Loaded:
    """Put the programme `text` describes in force; ProgrammeInvalid or ProgrammeConflict
    (having changed nothing) when it cannot be.

    `services_as` runs the programme on other services (the demo's): each of its service
    codes to the code it runs as, or None to leave that service out. The stored text then
    begins with a comment saying so."""
    programme = check_programme(text)
    if services_as is not None:
        programme, text = _on_services(programme, text, services_as)
    key = programme.programme.id
    codes = [service.code for service in programme.services]
    in_force = await versions.programmes_in_force(session)
    for other in in_force:
        if other.programme_key == key:
            continue
        theirs = {service["code"] for service in other.document["services"]}
        shared = [code for code in codes if code in theirs]
        if shared:
            raise ProgrammeConflict(
                f"{', '.join(shared)} {'is' if len(shared) == 1 else 'are'} already run by "
                f"the programme {other.programme_key!r} ({other.name}); a service belongs to "
                "one programme at a time. Load that programme again without "
                f"{'it' if len(shared) == 1 else 'them'} first, or use other service codes."
            )
    earlier = [version.id for version in in_force if version.programme_key == key]
    keeping = await versions.cycles_running_under(session, earlier)
    version = await versions.add_programme_version(
        session,
        key=key,
        name=programme.programme.name,
        text=text,
        document=programme.model_dump(mode="json"),
        loaded_by_id=None,
        loaded_by_label=actor,
        now=now,
    )
    added, updated = [], []
    for service in programme.services:
        overrides = {**programme.rules, **service.rules}
        existing = await repo.get_service_by_code(session, service.code)
        if existing is None:
            await repo.add_service(
                session, service.code, service.name, ServiceKind(service.kind.value), overrides
            )
            added.append(service.code)
        else:
            existing.name = service.name
            existing.kind = ServiceKind(service.kind.value)
            existing.rules_overrides = overrides
            updated.append(service.code)
    await repo.record_event(
        session,
        actor,
        "programme",
        version.id,
        "loaded",
        {"version": version.version - 1} if earlier else None,
        {"programme": key, "version": version.version, "services": codes},
    )
    return Loaded(programme, version, added, updated, keeping)


def _on_services(
    programme: Programme, text: str, services_as: Mapping[str, str | None]
) -> tuple[Programme, str]:
    data = programme.model_dump(mode="json")

    def moved(codes: list[str]) -> list[str]:
        return [new for code in codes if (new := services_as.get(code)) is not None]

    data["services"] = [
        {**service, "code": services_as[service["code"]]}
        for service in data["services"]
        if services_as.get(service["code"]) is not None
    ]
    cycles = []
    for cycle in data["timetable"]["cycles"]:
        cycle["services"] = moved(cycle["services"])
        if cycle["services"]:
            cycles.append(cycle)
    data["timetable"]["cycles"] = cycles
    for table in ("moderation_by_service", "follow_up_by_service"):
        data[table] = {
            new: value
            for code, value in data[table].items()
            if (new := services_as.get(code)) is not None
        }
    pairs = ", ".join(f"{code} as {new or '(left out)'}" for code, new in services_as.items())
    return Programme.model_validate(data), f"# Run on other services: {pairs}.\n{text}"


_PROGRAMMES: dict[tuple[int, str, int, datetime], Programme] = {}


async def programme_of_version(session: AsyncSession, version_id: int) -> Programme:
    """A stored version's programme. Versions never change, so each is checked once per
    process; the cache key names the row whole (id, programme, version, when loaded), so
    another database's version 1 is never taken for this one's."""
    version = await versions.get_programme_version(session, version_id)
    if version is None:
        raise LookupError(f"no programme version {version_id}")
    key = (version.id, version.programme_key, version.version, version.loaded_at)
    if key not in _PROGRAMMES:
        _PROGRAMMES[key] = Programme.model_validate(version.document)
    return _PROGRAMMES[key]


async def programme_for_service(
    session: AsyncSession, service: Service
) -> tuple[ProgrammeVersion, Programme] | None:
    """The programme in force that runs `service`, or None (no programme names it)."""
    for version in await versions.programmes_in_force(session):
        if any(entry["code"] == service.code for entry in version.document["services"]):
            return version, await programme_of_version(session, version.id)
    return None


async def cycle_rules(session: AsyncSession, cycle: Cycle, rules: ProgrammeRules) -> ProgrammeRules:
    """The numbers `cycle` runs by: its programme version's (the programme's, then its
    service's own), or, for a cycle from before programme files, its service's settings."""
    service = await repo.get_service(session, cycle.service_id)
    if cycle.programme_version_id is not None and service is not None:
        programme = await programme_of_version(session, cycle.programme_version_id)
        overrides: dict[str, Any] = dict(programme.rules)
        for entry in programme.services:
            if entry.code == service.code:
                overrides.update(entry.rules)
        return rules.with_overrides(overrides)
    return rules.with_overrides(service.rules_overrides or {}) if service else rules


async def audit_rules(session: AsyncSession, audit: Audit, rules: ProgrammeRules) -> ProgrammeRules:
    """The numbers the audit's cycle runs by (see cycle_rules)."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    if cycle is None:
        raise LookupError(f"audit {audit.id} has no cycle {audit.cycle_id}")
    return await cycle_rules(session, cycle, rules)


async def audit_follow_up(session: AsyncSession, audit: Audit) -> FollowUp:
    """What follows moderation for the audit, by its cycle's programme version."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    if cycle is None:
        return EVERY_AUDIT_MEETS
    return (await cycle_path(session, cycle)).follow_up


async def meeting_needed(session: AsyncSession, audit: Audit, grade: Grade) -> bool:
    """Whether the audit's programme holds a follow-up (UoPP) meeting after this grade."""
    return (await audit_follow_up(session, audit)).needs_meeting(grade)


async def audit_inadequate(session: AsyncSession, audit: Audit) -> Inadequate:
    """What the audit's programme does with Inadequate work: the fast path, or not, and
    who is told at once."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    if cycle is None or cycle.programme_version_id is None:
        return FAST_PATH
    return (await programme_of_version(session, cycle.programme_version_id)).inadequate


async def cycle_reaudit(session: AsyncSession, cycle_id: int) -> Reaudit:
    """How work below Good in this cycle is followed up (dip audits, the re-audit sample,
    escalation), by the programme version it runs under."""
    cycle = await repo.get_cycle(session, cycle_id)
    if cycle is None or cycle.programme_version_id is None:
        return EARLY_HELP_REAUDIT
    return (await programme_of_version(session, cycle.programme_version_id)).reaudit


LATE_WORK_ROUTE = (Role.TEAM_MANAGER, Role.HEAD_OF_SERVICE)


async def audit_escalation_route(session: AsyncSession, audit_id: int) -> tuple[Role, ...]:
    """Who late work on this audit is taken to, in order (the reminder ladder's second and
    third rungs), by its programme: the owner's team manager then the Head of Service, or,
    in Haringey, the service's lead auditor then the Head of Service."""
    audit = await repo.get_audit(session, audit_id)
    cycle = await repo.get_cycle(session, audit.cycle_id) if audit else None
    if cycle is None or cycle.programme_version_id is None:
        return LATE_WORK_ROUTE
    programme = await programme_of_version(session, cycle.programme_version_id)
    return tuple(programme.escalation.route)


async def audit_dispute_route(session: AsyncSession, audit: Audit) -> str:
    """Who hears a disagreement with the audit's moderated grade, by its programme."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    if cycle is None or cycle.programme_version_id is None:
        return "moderator_then_hos_and_audit_team"
    return (await programme_of_version(session, cycle.programme_version_id)).disputes.route


async def cycle_moderation(session: AsyncSession, cycle: Cycle) -> AnyModeration:
    """How the cycle's audits are moderated, by its programme version and service."""
    return (await cycle_path(session, cycle)).moderation


async def cycle_path(session: AsyncSession, cycle: Cycle) -> AuditPath:
    """What the cycle's audits go through once done, by its programme version."""
    if cycle.programme_version_id is None:
        return AuditPath()
    programme = await programme_of_version(session, cycle.programme_version_id)
    service = await repo.get_service(session, cycle.service_id)
    code = service.code if service else ""
    return AuditPath(
        lookback=programme.selection.lookback,
        moderation=programme.moderation_for(code),
        follow_up=programme.follow_up_for(code),
    )


async def group_members(session: AsyncSession, cycle: Cycle) -> list[Staff] | None:
    """The moderation group of the cycle's service (active people holding any of its member
    roles there, by id), or None where the cycle's programme moderates otherwise."""
    moderation = await cycle_moderation(session, cycle)
    if not isinstance(moderation, GroupModeration):
        return None
    found: dict[int, Staff] = {}
    for role in moderation.members:
        for person in await repo.list_staff_with_role(session, role, cycle.service_id):
            found.setdefault(person.id, person)
    return [found[key] for key in sorted(found)]


async def programmes_in_force_keys(session: AsyncSession) -> set[str]:
    return {version.programme_key for version in await versions.programmes_in_force(session)}
