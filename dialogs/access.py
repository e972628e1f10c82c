"""Who may see what: the one rule for reading an audit, and the scopes roles give.

DOMAIN.md: only the people allocated to an audit, their managers in line,
and the Audit Team can see it. Every flow that shows an audit (a command, a
card, a digest) asks `can_see_audit` first, and says nothing more to someone
refused than it would about a reference that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Audit, Case, Staff, Team
from storage.repositories.people import HeldRole, roles_of, staff_holding_roles
from storage.repositories.views import line_managers_of
from workflow.roles import Role
from workflow.states import AuditState

AUDIT_TEAM_ROLES = frozenset({Role.AUDIT_TEAM, Role.AUDIT_MANAGER})


async def audit_team_ids(session: AsyncSession, service_id: int) -> list[int]:
    """The ids of the service's Audit Team and Audit Managers, active, in order."""
    holders = await staff_holding_roles(session, AUDIT_TEAM_ROLES, service_id)
    return sorted({staff.id for staff, _ in holders})


# Roles that oversee every audit in their scope, without being allocated to it.
OVERSIGHT_ROLES = AUDIT_TEAM_ROLES | {Role.HEAD_OF_SERVICE}

# From moderation on, the coordinators covering the case take part: they get the result,
# may dispute it, chair the second UoPP after Inadequate and report progress weekly.
AFTER_MODERATION = frozenset(
    {
        AuditState.MODERATED,
        AuditState.DISPUTED,
        AuditState.DECIDED,
        AuditState.UOPP_BOOKED,
        AuditState.UOPP_HELD,
        AuditState.FOLLOW_UP,
        AuditState.CLOSED,
    }
)

# service id -> None for the whole service, or the ids of the teams the role is held for
Scopes = Mapping[int, frozenset[int] | None]


def scopes_for(held: Iterable[HeldRole], roles: Iterable[Role]) -> dict[int, frozenset[int] | None]:
    """Where someone holds any of `roles`: each service, whole or only some of its teams.

    A role held for a service covers all its teams; a role held for a team
    covers that team only. The wider grant wins.
    """
    wanted = set(roles)
    scopes: dict[int, frozenset[int] | None] = {}
    for role in held:
        if role.role not in wanted:
            continue
        current = scopes.get(role.service_id, frozenset())
        if role.team_id is None or current is None:
            scopes[role.service_id] = None
        else:
            scopes[role.service_id] = current | {role.team_id}
    return scopes


def covers(scopes: Scopes, service_id: int, team_id: int) -> bool:
    """True when the scopes include this team of this service."""
    if service_id not in scopes:
        return False
    teams = scopes[service_id]
    return teams is None or team_id in teams


def allocated_to(audit: Audit) -> set[int]:
    """The staff ids allocated to an audit: auditor, moderator, practitioner, team manager."""
    people = {audit.auditor_id, audit.moderator_id, audit.practitioner_id, audit.team_manager_id}
    return {person for person in people if person is not None}


async def can_see_audit(
    session: AsyncSession,
    staff: Staff | None,
    audit: Audit,
    *,
    held: Iterable[HeldRole] | None = None,
) -> bool:
    """May this person see this audit (its state, people, dates and grades)?

    Yes for, in this order of checking:
    - the people allocated to it (auditor, moderator, practitioner, team manager);
    - anyone above one of them in the line-management chain (staff.line_manager_id,
      any depth; a loop in the data cannot hang the check);
    - the Audit Team, Audit Manager and Head of Service of the case's service
      (or of the case's team, when the role is held for a team only);
    - from moderation on, the coordinators covering the case (same scoping).

    No for everyone else, for someone not in the staff list (`staff` None) and
    for deactivated staff. `held` may pass the person's roles when the caller
    already has them (checking many audits), to save a query per audit.
    Callers must answer a refusal exactly as they answer a reference that
    does not exist, so that whether a case is being audited does not leak.
    """
    if staff is None or not staff.active:
        return False
    people = allocated_to(audit)
    if staff.id in people:
        return True
    if held is None:
        held = await roles_of(session, staff.id)
    roles = (
        OVERSIGHT_ROLES | {Role.COORDINATOR} if audit.state in AFTER_MODERATION else OVERSIGHT_ROLES
    )
    scopes = scopes_for(held, roles)
    if scopes:
        case = await session.get(Case, audit.case_id)
        team = await session.get(Team, case.team_id) if case else None
        if team is not None and covers(scopes, team.service_id, team.id):
            return True
    return staff.id in await line_managers_of(session, people)
