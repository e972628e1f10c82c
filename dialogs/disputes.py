"""Disputes about a moderated grade (DOMAIN.md step 8).

The practitioner or team manager disputes the moderated grade with a
reason; the moderator discusses it and either revises the grades (the result
goes out again) or stands by them with a note. If the person who disputed is
still unhappy they ask the Head of Service to decide: the Head of Service
and the Audit Team each get a decision card, and the first to decide fixes
the final grade. That decision is final and everyone is told.

Each step is one transaction: the audit's state (through the state
machine), the dispute row, a trail row and the messages. Every card carries
the audit's version, so a repeat, a stale card or a second decider changes
nothing and sees how things stand.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.disputes import (
    DECIDE,
    ESCALATE,
    OPEN_REVISION,
    REVISE,
    STAND_BY,
    DecisionRow,
    DisputeView,
    copy_card,
    decision_card,
    disputer_card,
    respond_card,
    revision_intro,
    revision_note,
)
from cards.moderation import (
    ACTIONS_ARISING,
    DISPUTE,
    RATIONALE_LIMIT,
    moderation_card,
    result_card,
)
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.moderation import (
    AUDIT_FIELDS,
    DISPUTE_HINT,
    Pressed,
    actions_arising_from,
    actions_arising_of,
    answers_from,
    audit_team_of,
    coordinators_of,
    judge_answers,
    load_pressed,
    moderation_questions,
    moderation_view,
    record_moderation,
    result_view,
    send_result,
    set_deadlines_after_moderation,
    typed_values,
)
from dialogs.notify import tell
from dialogs.programmes import audit_dispute_route
from dialogs.uopp_planning import plan_uopp_meeting
from storage import repositories as repo
from storage.enums import GradeStage
from storage.models import Audit, Dispute, Staff
from workflow.grades import Grade
from workflow.moderation import (
    AGREE,
    DECIDING_ROLES,
    DISAGREE,
    DISPUTING_PARTIES,
    OVERALL,
    DisputeState,
    DisputeStep,
    ModerationIncomplete,
    changed_keys,
    check_decision,
    field_id,
    next_dispute_state,
)
from workflow.roles import Party, Role
from workflow.states import Action, AuditState, transition
from workflow.tools import load_tool

log = logging.getLogger(__name__)

DISPUTE_FIELDS = (
    "state",
    "moderator_response",
    "responded_by_id",
    "escalation_note",
    "decided_grade",
    "decision",
    "decided_by_id",
)
# A grade may be disputed once moderated, also after its UoPP meeting is booked (the booker
# books within minutes of moderation).
DISPUTABLE = frozenset({AuditState.MODERATED, AuditState.UOPP_BOOKED})
CHANGED_UNDER_YOU = (
    "This audit changed since this card was sent, so nothing was saved. Here is how it stands now."
)


# --- views -----------------------------------------------------------------------------


async def dispute_view(session: AsyncSession, audit: Audit, dispute: Dispute) -> DisputeView:
    case = await repo.get_case(session, audit.case_id)
    people = await repo.staff_by_ids(
        session, {p for p in (dispute.raised_by_id, dispute.decided_by_id) if p is not None}
    )
    decided_by = people.get(dispute.decided_by_id or 0)
    return DisputeView(
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        raised_by=people[dispute.raised_by_id].display_name,
        reason=dispute.reason,
        state=dispute.state.value,
        state_label=dispute.state.label,
        moderator_response=dispute.moderator_response,
        escalation_note=dispute.escalation_note,
        decided_by=decided_by.display_name if decided_by else None,
        decision=dispute.decision,
    )


async def _cards(
    context: ActionContext, audit: Audit
) -> tuple[Any, Dispute | None, DisputeView | None]:
    session = context.session
    await session.flush()
    result = await result_view(session, audit, timezone=context.rules.timezone)
    dispute = await repo.latest_dispute(session, audit.id)
    view = await dispute_view(session, audit, dispute) if dispute else None
    return result, dispute, view


async def disputer_current(
    context: ActionContext, audit: Audit, *, notice: str | None = None
) -> dict[str, Any]:
    """The practitioner's or team manager's card as things stand now."""
    result, dispute, view = await _cards(context, audit)
    if dispute is None or view is None:
        offer = audit.state in DISPUTABLE
        status = DISPUTE_HINT if offer else None
        shown = replace(result, status=notice or status)
        return result_card(shown, dispute=offer)
    if dispute.raised_by_id != context.staff.id:
        return copy_card(result, view)
    can_escalate = (
        dispute.state in (DisputeState.REVISED, DisputeState.STOOD_BY) and audit.state in DISPUTABLE
    )
    return disputer_card(result, view, can_escalate=can_escalate, notice=notice)


async def moderator_current(
    context: ActionContext, audit: Audit, *, notice: str | None = None, note: str = ""
) -> dict[str, Any]:
    result, dispute, view = await _cards(context, audit)
    if dispute is None or view is None:
        return result_card(result)
    return respond_card(result, view, notice=notice, note=note)


# --- raising ---------------------------------------------------------------------------


async def _party_of(session: AsyncSession, audit: Audit, staff_id: int) -> Party | None:
    if staff_id == audit.practitioner_id:
        return Party.PRACTITIONER
    if staff_id == audit.team_manager_id:
        return Party.TEAM_MANAGER
    if any(person.id == staff_id for person in await coordinators_of(session, audit)):
        return Party.COORDINATOR
    return None


def _others_told(audit: Audit, raised_by_id: int) -> list[int]:
    """Who gets a copy of what happens to a dispute: the practitioner and team manager,
    but not the one who raised it."""
    people = (audit.practitioner_id, audit.team_manager_id)
    return [p for p in dict.fromkeys(people) if p is not None and p != raised_by_id]


async def _refuse_unless_disputing_party(context: ActionContext, pressed: Pressed) -> str | None:
    if await _party_of(context.session, pressed.audit, context.staff.id) in DISPUTING_PARTIES:
        return None
    return "the practitioner whose work was audited, their team manager or a coordinator"


@card_action(DISPUTE, load=load_pressed, refuse=_refuse_unless_disputing_party)
async def raise_dispute(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    if await audit_dispute_route(session, audit) != "moderator_then_hos_and_audit_team":
        raise ActionRefused(
            "No dispute route",
            "This audit's programme does not take disputes to the moderator. Nothing was changed.",
        )
    existing = await repo.latest_dispute(session, audit.id)
    if existing is not None or audit.state not in DISPUTABLE:
        return await disputer_current(context, audit)
    reason = context.text("reason", limit=RATIONALE_LIMIT)
    # No staleness check: with no dispute yet, the moderated grades cannot have changed
    # since the card was drawn (only a dispute changes them), while booking the UoPP,
    # minutes after moderation, bumps the audit's version.
    if not reason:
        result = await result_view(session, audit, timezone=context.rules.timezone)
        return result_card(
            result, dispute=True, error="Give your reason: the moderator discusses it with you."
        )
    party = await _party_of(session, audit, context.staff.id)
    assert party is not None  # the refuse rule let only these through
    before = repo.snapshot(audit, AUDIT_FIELDS)
    audit.state = transition(audit.state, Action.DISPUTE, party)
    dispute = await repo.add_dispute(session, audit.id, context.staff.id, reason, at=context.now)
    await _trail(context, audit, dispute, "dispute_raised", before)
    result, _, view = await _cards(context, audit)
    assert view is not None
    if audit.moderator_id is not None:
        await tell(
            session,
            audit.moderator_id,
            "dispute",
            f"dispute:{dispute.id}:raised",
            summary=f"{context.staff.display_name} disputes the moderated grade of case "
            f"{view.case_ref}",
            card=respond_card(result, view),
        )
    for other in _others_told(audit, dispute.raised_by_id):
        await tell(
            session,
            other,
            "dispute",
            f"dispute:{dispute.id}:raised",
            summary=f"Copy: the moderated grade of case {view.case_ref} is disputed",
            card=copy_card(result, view),
        )
    log.info("dispute %s raised on audit %s", dispute.id, audit.id)
    return await disputer_current(context, audit)


async def _trail(
    context: ActionContext, audit: Audit, dispute: Dispute, action: str, before: dict[str, Any]
) -> None:
    await context.session.flush()
    after = repo.snapshot(audit, AUDIT_FIELDS)
    after["dispute"] = repo.snapshot(dispute, DISPUTE_FIELDS)
    after["dispute_id"] = dispute.id
    await repo.record_event(
        context.session, context.staff, "audit", audit.id, action, before, after, at=context.now
    )


# --- the moderator's response ----------------------------------------------------------


async def _refuse_unless_moderator(context: ActionContext, pressed: Pressed) -> str | None:
    if pressed.audit.moderator_id == context.staff.id:
        return None
    return "the moderator allocated to this audit"


async def _waiting_for_moderator(context: ActionContext, audit: Audit) -> Dispute | None:
    dispute = await repo.latest_dispute(context.session, audit.id)
    if (
        dispute is None
        or dispute.state is not DisputeState.RAISED
        or audit.state is not AuditState.DISPUTED
    ):
        return None
    return dispute


async def _revision_form(
    context: ActionContext,
    audit: Audit,
    dispute: Dispute,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    view = await moderation_view(context.session, audit, timezone=context.rules.timezone)
    if values is None:
        values = await _current_answers(context.session, audit)
    story = await dispute_view(context.session, audit, dispute)
    return moderation_card(
        view,
        values=values,
        errors={k: v for k, v in (errors or {}).items() if k != "revision_note"},
        notice=notice,
        verb=REVISE,
        submit="Save revised grades",
        intro=revision_intro(story),
        extra_inputs=revision_note(note, (errors or {}).get("revision_note")),
    )


async def _current_answers(session: AsyncSession, audit: Audit) -> dict[str, str]:
    """The moderator's answers as they stand, to start the revision from."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    values: dict[str, str] = {}
    for row in await repo.list_section_grades(session, audit.id, GradeStage.MODERATED):
        key = OVERALL if row.section_id == tool.overall_section.id else row.section_id
        values[field_id("agree", key)] = AGREE if row.agreed else DISAGREE
        if not row.agreed and row.grade is not None:
            values[field_id("grade", key)] = row.grade.value
        values[field_id("why", key)] = row.rationale or ""
    values[ACTIONS_ARISING] = await actions_arising_of(session, audit) or ""
    return values


@card_action(OPEN_REVISION, load=load_pressed, refuse=_refuse_unless_moderator)
async def open_revision(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """Shows the moderation form with the moderator's answers, to revise; writes nothing."""
    dispute = await _waiting_for_moderator(context, pressed.audit)
    if dispute is None:
        return await moderator_current(context, pressed.audit)
    return await _revision_form(context, pressed.audit, dispute)


@card_action(REVISE, load=load_pressed, refuse=_refuse_unless_moderator)
async def revise(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    dispute = await _waiting_for_moderator(context, audit)
    if dispute is None:
        return await moderator_current(context, audit)
    view = await moderation_view(session, audit, timezone=context.rules.timezone)
    answers = answers_from(context, view.sections)
    note = context.text("revision_note", limit=RATIONALE_LIMIT)
    arising = actions_arising_from(context)
    values = {**typed_values(answers), ACTIONS_ARISING: arising}
    if pressed.stale:
        return await _revision_form(
            context, audit, dispute, values=values, note=note, notice=CHANGED_UNDER_YOU
        )
    errors: dict[str, str] = {}
    try:
        judgements = judge_answers(audit, view.sections, answers)
    except ModerationIncomplete as incomplete:
        errors = incomplete.errors
    if not note:
        errors["revision_note"] = "Say what changed after your discussion."
    if errors:
        return await _revision_form(
            context, audit, dispute, values=values, errors=errors, note=note
        )
    before = repo.snapshot(audit, AUDIT_FIELDS)
    await record_moderation(
        session,
        audit,
        judgements,
        actor=context.staff,
        now=context.now,
        rules=context.rules,
        action=Action.RESOLVE_DISPUTE,
        event="moderation_revised",
        actions_arising=arising,
    )
    _respond(context, dispute, DisputeStep.REVISE, note)
    await _trail(context, audit, dispute, "dispute_revised", before)
    result, _, story = await _cards(context, audit)
    assert story is not None
    await send_result(
        session,
        audit,
        timezone=context.rules.timezone,
        may_dispute=False,
        status=f"Revised after a dispute. {story.state_label.capitalize()}.",
        cards_for={
            dispute.raised_by_id: disputer_card(result, story, can_escalate=True),
        },
    )
    return await moderator_current(context, audit)


def _respond(context: ActionContext, dispute: Dispute, step: DisputeStep, note: str) -> None:
    target = next_dispute_state(dispute.state, step)
    assert target is not None  # checked by _waiting_for_moderator
    dispute.state = target
    dispute.moderator_response = note
    dispute.responded_by_id = context.staff.id
    dispute.responded_at = context.now


@card_action(STAND_BY, load=load_pressed, refuse=_refuse_unless_moderator)
async def stand_by(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    dispute = await _waiting_for_moderator(context, audit)
    if dispute is None:
        return await moderator_current(context, audit)
    note = context.text("note", limit=RATIONALE_LIMIT)
    if pressed.stale:
        return await moderator_current(context, audit, notice=CHANGED_UNDER_YOU, note=note)
    if not note:
        result, _, story = await _cards(context, audit)
        assert story is not None
        return respond_card(result, story, error="Give a note for the person who disputed it.")
    before = repo.snapshot(audit, AUDIT_FIELDS)
    audit.state = transition(audit.state, Action.RESOLVE_DISPUTE, Party.MODERATOR)
    await plan_uopp_meeting(session, audit, now=context.now, rules=context.rules, actor="system")
    _respond(context, dispute, DisputeStep.STAND_BY, note)
    await _trail(context, audit, dispute, "dispute_stood_by", before)
    result, _, story = await _cards(context, audit)
    assert story is not None
    await tell(
        session,
        dispute.raised_by_id,
        "dispute",
        f"dispute:{dispute.id}:stood_by",
        summary=f"The moderator stands by the grades of case {story.case_ref}",
        card=disputer_card(result, story, can_escalate=True),
    )
    for other in _others_told(audit, dispute.raised_by_id):
        await tell(
            session,
            other,
            "dispute",
            f"dispute:{dispute.id}:stood_by",
            summary=f"Copy: the moderator stands by the grades of case {story.case_ref}",
            card=copy_card(result, story),
        )
    return await moderator_current(context, audit)


# --- asking for a decision -------------------------------------------------------------


async def _refuse_unless_disputer(context: ActionContext, pressed: Pressed) -> str | None:
    dispute = await repo.latest_dispute(context.session, pressed.audit.id)
    if dispute is not None and dispute.raised_by_id == context.staff.id:
        return None
    return "the person who disputed the grade"


@card_action(ESCALATE, load=load_pressed, refuse=_refuse_unless_disputer)
async def escalate(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit, session = pressed.audit, context.session
    dispute = await repo.latest_dispute(session, audit.id)
    assert dispute is not None  # the refuse rule needs one
    note = context.text("note", limit=RATIONALE_LIMIT)
    if (
        next_dispute_state(dispute.state, DisputeStep.ESCALATE) is None
        or audit.state not in DISPUTABLE
    ):
        return await disputer_current(context, audit)
    if pressed.stale:
        return await disputer_current(context, audit, notice=CHANGED_UNDER_YOU)
    party = await _party_of(session, audit, context.staff.id)
    if party is None:
        raise ActionRefused(
            "This isn't yours to do",
            "Only the practitioner, their team manager or a coordinator can ask for a "
            "decision now.",
        )
    before = repo.snapshot(audit, AUDIT_FIELDS)
    audit.state = transition(audit.state, Action.DISPUTE, party)
    dispute.state = DisputeState.ESCALATED
    dispute.escalation_note = note or None
    dispute.escalated_at = context.now
    await _trail(context, audit, dispute, "dispute_escalated", before)
    result, _, story = await _cards(context, audit)
    assert story is not None
    rows = await _decision_rows(session, audit)
    for person in await deciders_of(session, audit):
        await tell(
            session,
            person.id,
            "dispute",
            f"dispute:{dispute.id}:decide",
            summary=f"Decide the disputed grade of case {story.case_ref}",
            card=decision_card(result, story, rows),
        )
    if audit.moderator_id is not None:
        await tell(
            session,
            audit.moderator_id,
            "dispute",
            f"dispute:{dispute.id}:escalated",
            summary=f"Case {story.case_ref}: the dispute goes to the Head of Service",
            card=copy_card(result, story),
        )
    return await disputer_current(context, audit)


async def deciders_of(session: AsyncSession, audit: Audit) -> list[Staff]:
    """The Head(s) of Service and the Audit Team covering the audit's case."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    people: dict[int, Staff] = {}
    for role in DECIDING_ROLES:
        for person in await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        ):
            people.setdefault(person.id, person)
    return list(people.values())


async def _decision_rows(session: AsyncSession, audit: Audit) -> list[DecisionRow]:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    moderated = {
        row.section_id: row.grade
        for row in await repo.list_section_grades(session, audit.id, GradeStage.MODERATED)
    }
    rows = [
        DecisionRow(section_id, tool.section(section_id).title, moderated.get(section_id))
        for section_id, _, graded in moderation_questions(tool)
        if graded
    ]
    rows.append(DecisionRow(OVERALL, "Overall grade", audit.moderated_grade))
    return rows


# --- the decision ----------------------------------------------------------------------


async def _decider_party(context: ActionContext, audit: Audit) -> Party | None:
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    case = await repo.get_case(context.session, audit.case_id)
    for role in DECIDING_ROLES:
        holders = await repo.list_staff_with_role_for_team(
            context.session, role, cycle.service_id, case.team_id
        )
        if any(person.id == context.staff.id for person in holders):
            return Party.HEAD_OF_SERVICE if role is Role.HEAD_OF_SERVICE else Party.AUDIT_TEAM
    return None


async def _refuse_unless_decider(context: ActionContext, pressed: Pressed) -> str | None:
    if await _decider_party(context, pressed.audit) is not None:
        return None
    cycle = await repo.get_cycle(context.session, pressed.audit.cycle_id)
    service = await repo.get_service(context.session, cycle.service_id)
    return f"the Head of Service or the Audit Team for {service.name if service else 'it'}"


@card_action(DECIDE, load=load_pressed, refuse=_refuse_unless_decider)
async def decide(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """The first decider fixes the final grades; anyone pressing later sees the decision."""
    audit, session = pressed.audit, context.session
    dispute = await repo.latest_dispute(session, audit.id)
    rows = await _decision_rows(session, audit)
    if dispute is None:
        raise ActionRefused("Nothing to decide", "This audit has no dispute. Nothing changed.")
    result, _, story = await _cards(context, audit)
    assert story is not None
    chosen = {row.key: context.text(field_id("grade", row.key), limit=32) for row in rows}
    rationale = context.text(field_id("why", OVERALL), limit=RATIONALE_LIMIT)
    values = {field_id("grade", k): v for k, v in chosen.items()}
    values[field_id("why", OVERALL)] = rationale
    if dispute.state is not DisputeState.ESCALATED or audit.state is not AuditState.DISPUTED:
        return decision_card(result, story, rows)
    if pressed.stale:
        return decision_card(result, story, rows, values=values, notice=CHANGED_UNDER_YOU)
    try:
        final = check_decision(
            {row.key: row.moderated for row in rows},
            chosen,
            rationale,
            outcomes_met=audit.outcomes_met,
        )
    except ModerationIncomplete as incomplete:
        return decision_card(result, story, rows, values=values, errors=incomplete.errors)
    party = await _decider_party(context, audit)
    assert party is not None
    await _record_decision(context, audit, dispute, rows, final, rationale, party)
    result, _, story = await _cards(context, audit)
    assert story is not None
    everyone = [audit.moderator_id, *[person.id for person in await deciders_of(session, audit)]]
    told = [*_allocated(audit), *[p.id for p in await audit_team_of(session, audit)], *everyone]
    told.append(dispute.raised_by_id)  # a coordinator who disputed
    await send_result(
        session,
        audit,
        timezone=context.rules.timezone,
        key=f"dispute:{dispute.id}:decided",
        may_dispute=False,
        also=[p for p in everyone if p is not None],
        cards_for={person: copy_card(result, story) for person in told if person is not None},
    )
    log.info("dispute %s decided by staff=%s", dispute.id, context.staff.id)
    return decision_card(result, story, rows)


def _allocated(audit: Audit) -> list[int | None]:
    return [audit.auditor_id, audit.practitioner_id, audit.team_manager_id]


async def _record_decision(
    context: ActionContext,
    audit: Audit,
    dispute: Dispute,
    rows: list[DecisionRow],
    final: dict[str, Grade],
    rationale: str,
    party: Party,
) -> None:
    session = context.session
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    before = repo.snapshot(audit, AUDIT_FIELDS)
    changed = changed_keys({row.key: row.moderated for row in rows}, final)
    for row in rows:
        if row.key not in changed:
            continue
        section_id = tool.overall_section.id if row.key == OVERALL else row.key
        await repo.save_section_grade(
            session, audit.id, section_id, GradeStage.DECIDED, context.staff.id,
            final[row.key], rationale,
        )  # fmt: skip
    audit.state = transition(audit.state, Action.DECIDE, party)
    audit.final_grade = final[OVERALL]
    await set_deadlines_after_moderation(
        session, audit, final[OVERALL], now=context.now, rules=context.rules
    )
    await plan_uopp_meeting(
        session, audit, now=context.now, rules=context.rules, actor=context.staff
    )
    dispute.state = DisputeState.DECIDED
    dispute.decided_grade = final[OVERALL]
    dispute.decision = rationale
    dispute.decided_by_id = context.staff.id
    dispute.decided_at = context.now
    await _trail(context, audit, dispute, "dispute_decided", before)


async def current_decision_card(session: AsyncSession, audit: Audit, *, timezone: str) -> dict:
    """The decision card of the audit's dispute as things stand, for a decider who opens it
    from elsewhere (the weekly digest); its buttons are the decision's own."""
    result = await result_view(session, audit, timezone=timezone)
    dispute = await repo.latest_dispute(session, audit.id)
    if dispute is None:
        return result_card(result)
    story = await dispute_view(session, audit, dispute)
    return decision_card(result, story, await _decision_rows(session, audit))
