"""Every decision and form waiting on someone, reachable again from `my audits`.

A card in chat can be lost: a reload, another device, a chat scrolled far
away. So `my audits` lists, besides each person's parts in audits, what waits
on them by their roles, each with **Open**, which answers with that card as
it stands now (its own buttons then act under their own checks):

- the Audit Team: completeness checks, UoPP deadline extensions asked for,
  audits to reallocate after an exemption, disputes to decide, service-level
  actions to give owners;
- the Head of Service: exemptions and disputes to decide, KLOEs to approve,
  service-level actions to give owners; the coordinator and the Divisional
  Director: KLOEs to approve;
- a moderator: a dispute to answer; an organiser: a UoPP meeting to choose a
  time for; a chair: a UoPP meeting to record; a team manager: urgent issues
  to confirm; a practitioner: their own section to write; a practitioner or
  team manager: part B to record; a panel's chair: the panel's decision; a
  member of a moderation group: an audit sent to the group.

Opening changes nothing, and is refused to anyone the item does not wait on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.action_owners import owners_card
from cards.completeness import completeness_card
from cards.exemptions import exemption_decision_card, reallocate_card
from cards.kloes import kloe_approval_card
from cards.moderation import moderation_card, urgent_issues_card
from cards.my_audits import AuditTask
from cards.panel import panel_card
from cards.part_b import part_b_card
from cards.practitioner import reflection_request_card
from cards.uopp_booking import extension_card
from dialogs.access import AUDIT_TEAM_ROLES
from dialogs.action_owners import ASSIGNERS, owners_view
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.completeness import check_view
from dialogs.disputes import current_decision_card, moderator_current
from dialogs.exemptions import exemption_view
from dialogs.kloes import APPROVERS, current_kloe_card, kloe_proposal
from dialogs.moderation import (
    URGENT_CONFIRMED,
    moderation_view,
    result_for,
    round_data,
    urgent_view,
)
from dialogs.panel import cycle_panel_meeting, panel_of, panel_view
from dialogs.part_b_request import part_b_view
from dialogs.programmes import group_members
from dialogs.reflection_request import OPEN_FOR_REFLECTION, reflection_view
from dialogs.uopp_options import extension_asked, extension_view, organiser_card_now
from dialogs.uopp_record_views import Pressed, chair_of
from dialogs.uopp_record_views import current_card as chair_card
from dialogs.wizard_facts import audit_facts
from storage import repositories as repo
from storage.enums import CycleState, ExemptionState
from storage.models import Audit, Cycle, ExemptionRequest, Meeting, Staff
from storage.repositories import digest as digests
from storage.repositories import waiting as find
from storage.repositories.waiting import WaitingRow
from workflow.moderation import DECIDING_ROLES, DisputeState
from workflow.roles import Role
from workflow.states import MODERATED_ONWARDS, AuditState

OPEN_WAITING = "waiting.open"
OPEN = "Open"


@dataclass(frozen=True)
class Item:
    """One thing waiting on someone: which card, and how it reads in the list."""

    kind: str
    subject_id: int
    label: str  # a case reference or a cycle title
    what: str  # "Audit Team: check the audit is complete"
    due_at: datetime | None
    role: Role | None = None  # the role the card is opened as (KLOE approvals)

    def task(self, due_on: date | None, overdue: bool) -> AuditTask:
        data: dict[str, Any] = {"item": self.kind, "item_id": self.subject_id}
        if self.role is not None:
            data["role"] = self.role.value
        return AuditTask(self.label, self.what, None, due_on, overdue, (OPEN, OPEN_WAITING, data))


async def waiting_on(session: AsyncSession, staff: Staff) -> list[Item]:
    """Everything waiting on this person, by the roles they hold and the parts they play."""
    held = await repo.roles_of(session, staff.id)

    def services(roles: Collection[Role]) -> set[int]:
        return {h.service_id for h in held if h.role in roles}

    team = services(AUDIT_TEAM_ROLES)
    heads = services({Role.HEAD_OF_SERVICE})
    deciders = services(DECIDING_ROLES)
    assigners = services(ASSIGNERS)
    items: list[Item] = []

    def add(kind: str, rows: list[WaitingRow], what: str) -> None:
        items.extend(Item(kind, r.subject_id, r.label, what, r.due_at) for r in rows)

    if team:
        add(
            "completeness",
            await find.completeness_checks(session, team),
            "Audit Team: check the audit is complete",
        )
        asked = [
            row
            for row in await find.meetings_needing_organiser(session, service_ids=team)
            if await extension_asked(session, await _meeting(session, row.subject_id))
        ]
        add("extension", asked, "Audit Team: extend the UoPP deadline?")
        add(
            "reallocation",
            await find.exemptions(session, team, ExemptionState.APPROVED),
            "Audit Team: reallocate after an approved exemption",
        )
    if heads:
        add(
            "exemption",
            await find.exemptions(session, heads, ExemptionState.REQUESTED),
            "Head of Service: decide an auditor's exemption",
        )
    if deciders:
        add(
            "dispute",
            await find.disputes(session, DisputeState.ESCALATED, service_ids=deciders),
            "Decide the disputed grade",
        )
    if assigners:
        add(
            "owners",
            await find.unowned_service_actions(session, assigners),
            "Give service-level actions an owner",
        )
    for role in APPROVERS:
        for cycle in await digests.kloes_waiting_for(session, services({role}), role):
            items.append(
                Item(
                    "kloe",
                    cycle.cycle_id,
                    cycle.title,
                    f"{role.label}: approve the KLOEs",
                    None,
                    role,
                )
            )
    add(
        "dispute_response",
        await find.disputes(session, DisputeState.RAISED, moderator_id=staff.id),
        "Moderator: answer the dispute",
    )
    add(
        "options",
        await find.meetings_needing_organiser(session, organiser_id=staff.id),
        "Organiser: choose a time for the UoPP meeting",
    )
    add(
        "record",
        await find.meetings_to_record(session, staff.id),
        "Chair: record whether the UoPP meeting took place",
    )
    add(
        "urgent",
        await find.urgent_issues(session, staff.id, URGENT_CONFIRMED),
        "Team manager: confirm the urgent issues are addressed",
    )
    everywhere = {h.service_id for h in held}
    add(
        "part_b",
        await find.part_b_owed(session, staff.id),
        "Practitioner and team manager: record part B of the audit",
    )
    for audit, case_ref, event in await find.audits_with_event(
        session, "panel_referred", everywhere, MODERATED_ONWARDS
    ):
        if (
            panel_of(audit).get("state") == "referred"
            and (event.after or {}).get("chair_id") == staff.id
        ):
            meeting = await cycle_panel_meeting(
                session, await repo.get_cycle(session, audit.cycle_id)
            )
            ends = meeting.ends_at if meeting is not None else None  # decided at the meeting
            items.append(
                Item("panel", audit.id, case_ref, "Panel chair: record the panel's decision", ends)
            )
    for audit, case_ref, event in await find.audits_with_event(
        session, "moderation_requested", everywhere, (AuditState.SUBMITTED,)
    ):
        if audit.moderator_id is None and staff.id in (event.after or {}).get("group", ()):
            items.append(
                Item(
                    "group",
                    audit.id,
                    case_ref,
                    "Moderation group: record the group's moderation",
                    audit.moderation_due_at,
                )
            )
    for audit in await find.audits_as_practitioner(session, staff.id, OPEN_FOR_REFLECTION):
        saved = (audit.draft or {}).get("practitioner")
        if saved is not None and not any(str(t).strip() for t in saved.get("answers", {}).values()):
            case = await repo.get_case(session, audit.case_id)
            items.append(
                Item(
                    "reflection",
                    audit.id,
                    case.case_ref if case else "",
                    "Practitioner: write your own section",
                    audit.due_at,
                )
            )
    return items  # fmt: skip


async def _meeting(session: AsyncSession, meeting_id: int) -> Meeting:
    meeting = await repo.get_meeting(session, meeting_id)
    assert meeting is not None
    return meeting


# --- opening one ------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    kind: str
    subject: Any  # Audit, Meeting, ExemptionRequest or Cycle
    audit: Audit | None
    service_id: int


Loader = Callable[[AsyncSession, int], Awaitable[Any]]


async def _audit(session: AsyncSession, subject_id: int) -> Audit | None:
    return await repo.get_audit(session, subject_id)


async def _exemption(session: AsyncSession, subject_id: int) -> ExemptionRequest | None:
    return await session.get(ExemptionRequest, subject_id)


async def _cycle(session: AsyncSession, subject_id: int) -> Cycle | None:
    return await repo.get_cycle(session, subject_id)


LOADERS: dict[str, Loader] = {
    "completeness": _audit,
    "extension": repo.get_meeting,
    "reallocation": _exemption,
    "exemption": _exemption,
    "dispute": _audit,
    "owners": _audit,
    "kloe": _cycle,
    "dispute_response": _audit,
    "options": repo.get_meeting,
    "record": repo.get_meeting,
    "urgent": _audit,
    "reflection": _audit,
    "part_b": _audit,
    "panel": _audit,
    "group": _audit,
}
# Who each kind waits on, by role in the audit's service (the rest wait on one person).
ROLES: dict[str, Collection[Role]] = {
    "completeness": AUDIT_TEAM_ROLES,
    "extension": AUDIT_TEAM_ROLES,
    "reallocation": AUDIT_TEAM_ROLES,
    "exemption": (Role.HEAD_OF_SERVICE,),
    "dispute": DECIDING_ROLES,
    "owners": ASSIGNERS,
}


async def _load(context: ActionContext) -> Opened | None:
    kind = context.data.get("item")
    if kind not in LOADERS:
        raise ActionRefused("This card is out of date", "Please type my audits again.")
    session = context.session
    subject = await LOADERS[kind](session, context.number("item_id"))
    if subject is None:
        return None
    if isinstance(subject, Cycle):
        return Opened(kind, subject, None, subject.service_id)
    audit_id = subject.id if isinstance(subject, Audit) else subject.audit_id
    audit = await repo.get_audit(session, audit_id)
    cycle = await repo.get_cycle(session, audit.cycle_id) if audit else None
    if audit is None or cycle is None:
        return None
    return Opened(kind, subject, audit, cycle.service_id)


async def _refuse(context: ActionContext, opened: Opened) -> str | None:
    """Who the item waits on, unless it is the person opening it."""
    session, me = context.session, context.staff.id
    kind, audit = opened.kind, opened.audit
    if kind in ROLES:
        if await repo.holds_role(session, me, ROLES[kind], opened.service_id):
            return None
        return "the people it waits on"
    if kind == "kloe":
        role = _role(context)
        if role is not None and await repo.holds_role(session, me, (role,), opened.service_id):
            return None
        return "the people who approve these KLOEs"
    person = {
        "dispute_response": audit.moderator_id if audit else None,
        "options": getattr(opened.subject, "organiser_id", None),
        "record": chair_of(opened.subject) if isinstance(opened.subject, Meeting) else None,
        "urgent": audit.team_manager_id if audit else None,
        "reflection": audit.practitioner_id if audit else None,
        "panel": panel_of(audit).get("chair_id") if audit else None,
    }.get(kind)
    if kind == "part_b" and audit is not None:
        person = me if me in (audit.practitioner_id, audit.team_manager_id) else None
    if kind == "group" and audit is not None:
        members = await group_members(session, await repo.get_cycle(session, audit.cycle_id))
        person = me if me in {m.id for m in members or ()} else None
    return None if person == me else "the person it waits on"


def _role(context: ActionContext) -> Role | None:
    try:
        role = Role(context.data.get("role"))
    except ValueError:
        return None
    return role if role in APPROVERS else None


@card_action(OPEN_WAITING, load=_load, refuse=_refuse)
async def open_waiting(context: ActionContext, opened: Opened) -> dict[str, Any]:
    """The item's card as it stands now; opening it changes nothing."""
    session, timezone = context.session, context.rules.timezone
    kind, subject, audit = opened.kind, opened.subject, opened.audit
    if kind == "kloe":
        role = _role(context)
        assert role is not None
        decided = {a.approver_role for a in await repo.list_kloe_approvals(session, subject.id)}
        if subject.state is CycleState.PROPOSED and role not in decided:
            proposal = await kloe_proposal(session, subject)
            return kloe_approval_card(proposal, role=role, role_label=role.label)
        return await current_kloe_card(session, subject, role)
    assert audit is not None
    if kind == "completeness":
        facts = await audit_facts(session, audit)
        return completeness_card(
            await check_view(session, facts, now=context.now, rules=context.rules)
        )
    if kind == "extension":
        return extension_card(await extension_view(session, subject, audit, timezone))
    if kind in ("exemption", "reallocation"):
        view = await exemption_view(session, subject, timezone=timezone)
        build = exemption_decision_card if kind == "exemption" else reallocate_card
        return build(view)
    if kind == "dispute":
        return await current_decision_card(session, audit, timezone=timezone)
    if kind == "owners":
        return owners_card(await owners_view(session, audit, timezone=timezone))
    if kind == "dispute_response":
        return await moderator_current(context, audit)
    if kind == "options":
        return await organiser_card_now(context, subject)
    if kind == "record":
        return await chair_card(context, Pressed(subject, audit))
    if kind == "urgent":
        return urgent_issues_card(await urgent_view(session, audit, timezone=timezone))
    if kind == "part_b":
        return part_b_card(await part_b_view(session, audit, timezone=timezone))
    if kind == "panel":
        return panel_card(await panel_view(session, audit, timezone=timezone))
    if kind == "group":
        if audit.state is not AuditState.SUBMITTED:
            return await result_for(session, audit, context.staff, timezone=timezone)
        view = await moderation_view(session, audit, timezone=timezone)
        return moderation_card(view, data=round_data(audit))
    facts = await audit_facts(session, audit)
    view = reflection_view(facts, timezone=timezone)
    if view is None:
        raise ActionRefused("Nothing to write", "This audit doesn't ask for your own section.")
    return reflection_request_card(view)
