"""What the audit wizard, the practitioner's part and the completeness check read about an
audit, loaded in one place, and the wizard's draft as it is kept in `audits.draft`.

The draft is JSON on the audit row:

    {"wizard": {"step": str, "rev": int,               # where the auditor is, and the
                                                        # wizard's own revision
                "answers": {step id: {input id: str}}},
     "practitioner": {"requested_at": iso, "answers": {...},
                      "saved_at": iso | None, "via": "card" | "chat" | None},
     "completeness": {"round": int, "state": "waiting" | "accepted" | "returned"
                      | "invalidated", "gaps": [{"step": str, "what": str}],
                      "moderator_asked": bool,  # at submission: Inadequate
                      ...}}

A new dict is assigned on every change (the column is not mutation-tracked),
which also moves the audit's version on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import Audit, Case, Cycle, Staff
from workflow.completeness import Gap
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState
from workflow.tools import AuditTool, SectionKind, load_tool
from workflow.wizard_rules import WizardStep, wizard_steps

EDITABLE = frozenset({AuditState.IN_PROGRESS, AuditState.RETURNED})

# Who may own a recommendation besides the practitioner and their team manager.
OWNER_ROLES = (Role.COORDINATOR, Role.HEAD_OF_SERVICE, Role.AUDIT_MANAGER)


@dataclass(frozen=True)
class AuditFacts:
    audit: Audit
    cycle: Cycle
    case_ref: str
    tool: AuditTool
    steps: tuple[WizardStep, ...]
    kloes: tuple[str, ...]
    people: dict[int, Staff]  # auditor, practitioner, team manager, moderator
    # Who holds a recommendation-owning role in the service, when read with the facts.
    owner_roles: tuple[tuple[Staff, Role], ...] | None = None

    def name(self, staff_id: int | None) -> str:
        person = self.people.get(staff_id or 0)
        return person.display_name if person else "not allocated"

    @property
    def reflection_section(self):
        return next(
            (s for s in self.tool.sections if s.kind is SectionKind.PRACTITIONER_REFLECTION), None
        )


async def audit_facts(session: AsyncSession, audit: Audit, *, owners: bool = False) -> AuditFacts:
    """What is known about the audit, in two queries; with `owners`, who may own its
    recommendations too, read in the same second query (a wizard press needs both)."""
    cycle, case, kloes = await repo.cycle_case_and_kloes(session, audit.cycle_id, audit.case_id)
    return await _with_people(session, audit, cycle, case, kloes, owners=owners)


async def locked_audit_facts(session: AsyncSession, audit_id: int) -> AuditFacts | None:
    """`audit_facts(..., owners=True)` for the audit read afresh and locked, in two queries
    in all: the audit comes with its cycle, case and KLOEs. What a wizard press loads."""
    found = await repo.audit_cycle_case_and_kloes_for_update(session, audit_id)
    if found is None:
        return None
    audit, cycle, case, kloes = found
    return await _with_people(session, audit, cycle, case, kloes, owners=True)


async def _with_people(
    session: AsyncSession, audit: Audit, cycle: Cycle, case: Case, kloes: list[str], *, owners: bool
) -> AuditFacts:
    tool = load_tool(cycle.audit_tool_id)
    ids = {audit.auditor_id, audit.practitioner_id, audit.team_manager_id, audit.moderator_id}
    ids.discard(None)
    holders: tuple[tuple[Staff, Role], ...] | None = None
    if owners:
        people, found = await repo.staff_and_role_holders(
            session, ids, OWNER_ROLES, cycle.service_id
        )
        holders = tuple(found)
    else:
        people = await repo.staff_by_ids(session, ids)
    return AuditFacts(
        audit, cycle, case.case_ref, tool, wizard_steps(tool), tuple(kloes), people, holders
    )


async def recommendation_owners(session: AsyncSession, facts: AuditFacts) -> list[tuple[str, str]]:
    """Who a recommendation may name, as (staff id, "Name (part)"): the practitioner, the
    team manager, and the service's coordinators, Heads of Service and Audit Managers."""
    audit = facts.audit
    owners: dict[int, str] = {audit.practitioner_id: "practitioner"}
    if audit.team_manager_id is not None:
        owners.setdefault(audit.team_manager_id, "team manager")
    people = dict(facts.people)
    holders = facts.owner_roles
    if holders is None:
        holders = tuple(
            await repo.staff_holding_roles(session, OWNER_ROLES, facts.cycle.service_id)
        )
    for person, role in holders:
        owners.setdefault(person.id, role.label)
        people[person.id] = person
    return [
        (str(staff_id), f"{people[staff_id].display_name} ({part})")
        for staff_id, part in owners.items()
        if staff_id in people
    ]


def local_today(now: datetime, rules: ProgrammeRules) -> date:
    return now.astimezone(ZoneInfo(rules.timezone)).date()


def draft_of(audit: Audit) -> dict[str, Any]:
    """A copy of the audit's draft to change and assign back with `audit.draft = ...`."""
    return json_copy(audit.draft or {})


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (what a draft is), through the C JSON codec: several times
    quicker than copy.deepcopy, which a wizard press paid twice."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class WizardState:
    step: str
    rev: int
    answers: dict[str, dict[str, str]]


def wizard_state(audit: Audit, steps: tuple[WizardStep, ...]) -> WizardState:
    saved = (audit.draft or {}).get("wizard") or {}
    step = saved.get("step")
    if step not in {s.id for s in steps}:
        step = steps[0].id
    answers = saved.get("answers") or {}
    return WizardState(step, int(saved.get("rev") or 0), json_copy(answers))


def with_wizard(
    draft: dict[str, Any], *, step: str, answers: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The draft with the wizard at `step` and these answers; the revision moves on."""
    rev = int((draft.get("wizard") or {}).get("rev") or 0) + 1
    draft["wizard"] = {"step": step, "rev": rev, "answers": answers}
    return draft


def gaps_of(audit: Audit) -> list[Gap]:
    """What the completeness check found at the latest submission."""
    saved = ((audit.draft or {}).get("completeness") or {}).get("gaps") or []
    return [Gap(gap["step"], gap["what"]) for gap in saved]


def completeness_of(audit: Audit) -> dict[str, Any]:
    return dict((audit.draft or {}).get("completeness") or {})


def is_editable(audit: Audit) -> bool:
    return audit.state in EDITABLE
