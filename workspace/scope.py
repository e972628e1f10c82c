"""What a reader may see in the workspace, and the filters every page shares.

"Only the people allocated to an audit, their managers in line, and the Audit Team can see
it" (DOMAIN.md): the Audit Team, Audit Managers, Heads of Service and Divisional Directors
see every audit of the services they hold the role in; a team manager the audits of the
teams they manage (and those they are named on); anyone else the audits they have a part in
(auditor, moderator, practitioner, team manager named on it). Pages about a service as a
whole (the learning log, reports, calibration) are for the service-wide roles only.

Every page is filterable by programme, service, cycle, team, state, grade and what is late.
Queries here assume the page's select joins `Cycle`, `Case`, `Service` and (outer) `Team`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import Audit, Case, Cycle, ProgrammeVersion, Service, Staff, Team
from workflow.grades import Grade
from workflow.roles import Role
from workflow.states import AuditState

SERVICE_WIDE = frozenset(
    {Role.AUDIT_TEAM, Role.AUDIT_MANAGER, Role.HEAD_OF_SERVICE, Role.DIVISIONAL_DIRECTOR}
)
# Who may write in the workspace for a service: the learning log, report notes, reviews.
KEEPERS = frozenset({Role.AUDIT_TEAM, Role.AUDIT_MANAGER})
# Who may record a monthly review of the recommendations with operational managers.
REVIEWERS = KEEPERS | {Role.HEAD_OF_SERVICE}


@dataclass(frozen=True)
class Filters:
    programme: str = ""  # a programme's key, e.g. "th-early-help"
    service: str = ""  # a service's code
    cycle: int | None = None
    team: str = ""  # a team's code
    state: str = ""  # an audit state's value
    grade: str = ""  # a final grade's value
    late_only: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        cycle = query.get("cycle", "")
        return cls(
            programme=query.get("programme", "")[:48],
            service=query.get("service", "")[:16].upper(),
            cycle=int(cycle) if cycle.isdigit() and len(cycle) < 10 else None,
            team=query.get("team", "")[:32].upper(),
            state=query.get("state", "")[:32],
            grade=query.get("grade", "")[:32],
            late_only=query.get("late", "") in ("1", "true", "on"),
        )

    def described(self) -> dict[str, Any]:
        """The filters that were set, for the download's audit-trail row."""
        return {key: value for key, value in asdict(self).items() if value not in ("", None, False)}


async def held_roles(session: AsyncSession, reader: Staff) -> list[repo.HeldRole]:
    """The reader's roles, read once per request (each request has its own session; a page
    asks about them several times: what it shows, who may write, what the filters offer)."""
    key = ("workspace_roles", reader.id)
    if key not in session.info:
        session.info[key] = await repo.roles_of(session, reader.id)
    return list(session.info[key])


def _service_wide(held: list[repo.HeldRole]) -> set[int]:
    """The services whose every audit the reader may see."""
    services = {h.service_id for h in held if h.role in SERVICE_WIDE}
    # A team manager for a whole service manages each of its teams.
    return services | {h.service_id for h in held if h.role is Role.TEAM_MANAGER and not h.team_id}


async def services_where(session: AsyncSession, reader: Staff, roles: frozenset[Role]) -> set[int]:
    return {h.service_id for h in await held_roles(session, reader) if h.role in roles}


async def visible(session: AsyncSession, reader: Staff) -> ColumnElement[bool]:
    """The condition on Audit (joined to its Cycle and Case) for what the reader may see."""
    held = await held_roles(session, reader)
    services = _service_wide(held)
    teams = {h.team_id for h in held if h.role is Role.TEAM_MANAGER and h.team_id}
    conditions: list[ColumnElement[bool]] = [
        Audit.auditor_id == reader.id,
        Audit.moderator_id == reader.id,
        Audit.practitioner_id == reader.id,
        Audit.team_manager_id == reader.id,
    ]
    if services:
        conditions.append(Cycle.service_id.in_(services))
    if teams:
        conditions.append(Case.team_id.in_(teams))
    return or_(*conditions)


def audits_joined(*columns: Any) -> Select[Any]:
    """A select of `columns` over audits joined to their cycle, case, service and team."""
    return (
        select(*columns)
        .select_from(Audit)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(Case, Case.id == Audit.case_id)
        .join(Service, Service.id == Cycle.service_id)
        .outerjoin(Team, Team.id == Case.team_id)
    )


def of_programme(key: str) -> ColumnElement[bool]:
    """The condition on Cycle for cycles run under any version of the programme `key`."""
    versions = select(ProgrammeVersion.id).where(ProgrammeVersion.programme_key == key)
    return Cycle.programme_version_id.in_(versions)


def filtered(query: Select[Any], filters: Filters, *, audits: bool = True) -> Select[Any]:
    """The page's filters applied (`audits=False` for pages without an audit: only the
    programme, service, cycle and team apply). An unknown state or grade (a hand-edited
    link) matches nothing, as the filter says."""
    if filters.programme:
        query = query.where(of_programme(filters.programme))
    if filters.service:
        query = query.where(Service.code == filters.service)
    if filters.cycle is not None:
        query = query.where(Cycle.id == filters.cycle)
    if filters.team:
        query = query.where(Team.code == filters.team)
    if not audits:
        return query
    if filters.state:
        known = filters.state in {s.value for s in AuditState}
        query = query.where(Audit.state == AuditState(filters.state) if known else false())
    if filters.grade:
        known = filters.grade in {g.value for g in Grade}
        query = query.where(Audit.final_grade == Grade(filters.grade) if known else false())
    return query


async def visible_audit_ids(session: AsyncSession, reader: Staff) -> set[int]:
    """Every audit the reader may see, live or ended."""
    query = audits_joined(Audit.id).where(await visible(session, reader))
    return set((await session.scalars(query)).all())


async def choices(session: AsyncSession, reader: Staff) -> dict[str, list[dict[str, str]]]:
    """What the filters offer this reader: the programmes, services, cycles and teams of the
    audits they may see."""
    query = audits_joined(
        ProgrammeVersion.programme_key, ProgrammeVersion.name, Service.code, Service.name,
        Cycle.id, Cycle.title, Cycle.month, Team.code, Team.name,
    ).outerjoin(ProgrammeVersion, ProgrammeVersion.id == Cycle.programme_version_id)  # fmt: skip
    query = query.where(await visible(session, reader)).distinct()
    programmes: dict[str, str] = {}
    services: dict[str, str] = {}
    cycles: dict[int, tuple[str, Any]] = {}
    teams: dict[str, str] = {}
    for key, name, code, service, cycle_id, title, month, team, team_name in await session.execute(
        query
    ):
        if key:
            programmes[key] = name
        services[code] = service
        cycles[cycle_id] = (f"{title} ({code})", month)
        if team:
            teams[team] = team_name
    return {
        "programme": [{"value": k, "label": v} for k, v in sorted(programmes.items())],
        "service": [{"value": k, "label": v} for k, v in sorted(services.items())],
        "cycle": [
            {"value": str(k), "label": v[0]}
            for k, v in sorted(cycles.items(), key=lambda item: item[1][1], reverse=True)
        ],
        "team": [{"value": k, "label": v} for k, v in sorted(teams.items(), key=lambda i: i[1])],
    }
