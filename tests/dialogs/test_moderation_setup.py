"""A submitted audit with everyone around it, for the moderation, dispute and escalation tests.

The wizard that writes an audit's initial grades is another flow; these tests
write them directly, as the wizard leaves them at submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import flows  # noqa: F401 (declares the card actions)
from dialogs.actions import ActionContext, ActionRefused, run_action
from storage import repositories as repo
from storage.enums import GradeStage
from storage.models import Audit, OutboxMessage, Service, Staff, Team
from tests.conftest import Database
from tests.factories import (
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from workflow.grades import Grade
from workflow.moderation import AGREE, DISAGREE, OVERALL, field_id
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState
from workflow.tools import load_tool

RULES = ProgrammeRules()
TOOL = "col_practice_impact_review"
NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # a Tuesday

COL_DOMAINS = (
    "journey_of_the_child",
    "needs_support_outcomes",
    "management_oversight",
    "identity",
    "multi_agency",
)


@dataclass
class Cast:
    """Everyone around one audit, by part."""

    audit_id: int
    case_ref: str
    service: Service
    team: Team
    practitioner: Staff
    team_manager: Staff
    auditor: Staff
    moderator: Staff
    coordinator: Staff
    audit_manager: Staff
    audit_team: Staff
    head_of_service: Staff
    head_of_safeguarding: Staff
    outsider: Staff  # a practitioner in another team of the same service


async def make_cast(
    session: AsyncSession,
    *,
    overall: Grade = Grade.GOOD,
    domains: Grade | dict[str, Grade] = Grade.GOOD,
    state: AuditState = AuditState.SUBMITTED,
    submitted_at: datetime = NOW,
    outcomes_met: bool | None = True,
) -> Cast:
    service = await create_service(session, name="Children's Social Care")
    team = await create_team(session, service=service, name="Child in Need")
    other_team = await create_team(session, service=service)
    practitioner = await create_staff(
        session, roles=[(Role.PRACTITIONER, team)], display_name="Pat Practitioner"
    )
    team_manager = await create_staff(
        session, roles=[(Role.TEAM_MANAGER, team)], display_name="Tina Manager"
    )
    auditor = await create_staff(
        session, roles=[(Role.AUDITOR, service)], auditor_trained=True, display_name="Ali Auditor"
    )
    moderator = await create_staff(
        session, roles=[(Role.MODERATOR, service)], display_name="Mo Moderator"
    )
    cast = dict(
        coordinator=await create_staff(session, roles=[(Role.COORDINATOR, service)]),
        audit_manager=await create_staff(session, roles=[(Role.AUDIT_MANAGER, service)]),
        audit_team=await create_staff(session, roles=[(Role.AUDIT_TEAM, service)]),
        head_of_service=await create_staff(
            session, roles=[(Role.HEAD_OF_SERVICE, service)], display_name="Helen Head"
        ),
        head_of_safeguarding=await create_staff(
            session, roles=[(Role.HEAD_OF_SAFEGUARDING_QA, service)]
        ),
        outsider=await create_staff(session, roles=[(Role.PRACTITIONER, other_team)]),
    )
    case = await create_case(session, team=team, practitioner=practitioner)
    cycle = await create_cycle(session, service=service, audit_tool_id=TOOL)
    audit = await create_audit(
        session,
        cycle=cycle,
        case=case,
        auditor=auditor,
        moderator=moderator,
        team_manager=team_manager,
        state=state,
        initial_grade=overall,
        submitted_at=submitted_at,
        outcomes_met=outcomes_met,
    )
    by_domain = domains if isinstance(domains, dict) else dict.fromkeys(COL_DOMAINS, domains)
    for section_id in COL_DOMAINS:
        await repo.save_section_grade(
            session,
            audit.id,
            section_id,
            GradeStage.INITIAL,
            auditor.id,
            by_domain.get(section_id, Grade.GOOD),
            f"Evidence for {section_id}",
        )
    await repo.save_section_grade(
        session,
        audit.id,
        load_tool(TOOL).overall_section.id,
        GradeStage.INITIAL,
        auditor.id,
        overall,
        "Overall the work is as graded",
    )
    return Cast(
        audit_id=audit.id,
        case_ref=case.case_ref,
        service=service,
        team=team,
        practitioner=practitioner,
        team_manager=team_manager,
        auditor=auditor,
        moderator=moderator,
        **cast,
    )


async def cast_in(db: Database, **options: Any) -> Cast:
    async with db.sessions.begin() as session:
        return await make_cast(session, **options)


def agree_all(*, also: dict[str, str] | None = None) -> dict[str, str]:
    """Card inputs agreeing with every question of the City of London tool."""
    tool = load_tool(TOOL)
    keys = {q.section for q in tool.moderation.questions} | {OVERALL}
    answers = {field_id("agree", key): AGREE for key in keys}
    answers.update(also or {})
    return answers


def disagree(key: str, grade: Grade | None, why: str) -> dict[str, str]:
    answer = {field_id("agree", key): DISAGREE, field_id("why", key): why}
    if grade is not None:
        answer[field_id("grade", key)] = grade.value
    return answer


async def act(
    db: Database, staff: Staff, verb: str, *, now: datetime = NOW, **data: Any
) -> dict[str, Any]:
    """Press a card button as `staff`, through the dispatcher, in one transaction, as the
    Teams handler does (a refusal rolls back and returns its card)."""
    try:
        async with db.sessions() as session, session.begin():
            context = ActionContext(session=session, staff=staff, data=data, now=now, rules=RULES)
            return await run_action(context, verb)
    except ActionRefused as refusal:
        return refusal.card


async def load_audit(db: Database, audit_id: int) -> Audit:
    async with db.sessions() as session:
        audit = await repo.get_audit(session, audit_id)
    assert audit is not None
    return audit


async def messages_to(db: Database, staff: Staff, kind: str | None = None) -> list[OutboxMessage]:
    async with db.sessions() as session:
        messages = await repo.list_messages(session, recipient_id=staff.id)
    return [m for m in messages if kind is None or m.kind == kind]


async def count_rows(db: Database, model: Any, *where: Any) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


def texts(card: dict[str, Any]) -> str:
    """Every piece of text on a card, to assert on what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value", "label"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


def verbs(card: dict[str, Any]) -> set[str]:
    """The verbs of every Action.Execute on a card, inside show-cards too."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.add(node["verb"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def execute_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    """The data of the card's Action.Execute with this verb (what Teams would send back)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                found.append(node.get("data") or {})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    assert found, f"no {verb} on the card"
    return dict(found[0])
