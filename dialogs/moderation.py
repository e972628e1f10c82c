"""Moderation (DOMAIN.md step 7): the moderator agrees or disagrees, section by section.

`ask_moderator` sends the moderator the form once the Audit Team accepts a
submitted audit as complete. Saving it records the moderated stage of each
section, a `moderations` row, the moderated and final grades and the
deadlines that follow, moves the audit to moderated, and sends the result,
initial and moderated grades side by side, to the auditor, practitioner and
team manager, with the Audit Team copied. A moderated Inadequate grade also
asks the team manager to confirm the urgent issues are addressed.

Cards carry the audit's version: a card drawn before the audit last changed
changes nothing and comes back as things stand now, with what was typed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.moderation import (
    ACTIONS_ARISING,
    ACTIONS_ARISING_LIMIT,
    CONFIRM_URGENT,
    MODERATE,
    OPEN_MODERATION,
    RATIONALE_LIMIT,
    ModeratedSection,
    ModerationView,
    ResultRow,
    ResultView,
    UrgentIssuesView,
    grade_label,
    moderation_card,
    result_card,
    urgent_issues_card,
)
from cards.notice import notice_card
from cards.panel import SEND_TO_PANEL
from dialogs.access import AUDIT_TEAM_ROLES
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.closing import close_if_done
from dialogs.inadequate import (
    DEADLINE_FIELDS,
    meeting_grade,
    on_fast_path,
    programme_fast_path,
)
from dialogs.notify import tell
from dialogs.panel import panel_of, refer_to_panel
from dialogs.part_b_request import ask_for_part_b
from dialogs.programmes import (
    audit_dispute_route,
    audit_rules,
    cycle_moderation,
    group_members,
    meeting_needed,
)
from dialogs.steps import state_words
from dialogs.uopp_planning import plan_uopp_meeting
from storage import repositories as repo
from storage.enums import GradeStage
from storage.errors import NotFound, StaleRecord
from storage.models import Audit, Moderation, Staff
from workflow.calendar import WorkingCalendar
from workflow.deadlines import uopp_due, urgent_issues_due
from workflow.grades import Grade
from workflow.moderation import (
    OVERALL,
    Answer,
    Judgement,
    ModerationIncomplete,
    Question,
    answer_of,
    field_id,
    judge,
    moderated_grade,
)
from workflow.programme.model import GroupModeration, PanelModeration
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import Action, AuditState, transition
from workflow.tools import AuditTool, ModerationAsks, load_tool

log = logging.getLogger(__name__)

AUDIT_FIELDS = ("state", "initial_grade", "moderated_grade", "final_grade", *DEADLINE_FIELDS)
URGENT_CONFIRMED = "urgent_issues_confirmed"
# States in which the moderated grade stands and can be shown as a result.
RESULT_STATES = frozenset(
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


@dataclass(frozen=True)
class Pressed:
    """The audit a versioned card is about, locked, and whether the card was out of date."""

    audit: Audit
    stale: bool


async def load_pressed(context: ActionContext) -> Pressed | None:
    """The audit named by the card, locked for this transaction; `stale` when it changed
    since the card was drawn (or it is a repeat of a press that already acted)."""
    audit_id, version = context.number("audit_id"), context.number("version")
    try:
        audit = await repo.get_audit_at_version(context.session, audit_id, version)
        return Pressed(audit, stale=False)
    except NotFound:
        return None
    except StaleRecord:
        audit = await repo.get_audit(context.session, audit_id)
        return Pressed(audit, stale=True) if audit is not None else None


def submission_round(audit: Audit) -> int:
    """Which submission of the audit this is (1, then 2 after a return); 0 if none recorded."""
    return int(((audit.draft or {}).get("completeness") or {}).get("round") or 0)


async def load_for_moderation(context: ActionContext) -> Pressed | None:
    """The audit named by the moderator's card, locked. A card naming the submission it was
    drawn for is stale only once the audit is resubmitted: the Audit Team accepting it
    meanwhile (an Inadequate audit's moderator is asked at submission) changes nothing the
    moderator judges. A card without one is stale once the audit changed at all."""
    audit_id, version = context.number("audit_id"), context.number("version")
    audit = await repo.get_audit_for_update(context.session, audit_id)
    if audit is None:
        return None
    if "round" in context.data:
        return Pressed(audit, stale=context.number("round") != submission_round(audit))
    return Pressed(audit, stale=audit.version != version)


def round_data(audit: Audit) -> dict[str, int] | None:
    number = submission_round(audit)
    return {"round": number} if number else None


def open_for_moderation(audit: Audit) -> bool:
    """Submitted and past the completeness check, or on the Inadequate fast path (its
    moderator is asked at submission)."""
    check = ((audit.draft or {}).get("completeness") or {}).get("state")
    return audit.state is AuditState.SUBMITTED and (check != "waiting" or on_fast_path(audit))


def refuse_unless_open(audit: Audit, case_ref: str) -> None:
    """Moderation waits for the completeness check, except after an Inadequate grade (its
    1-working-day clock starts at submission); a returned audit waits for resubmission."""
    check = ((audit.draft or {}).get("completeness") or {}).get("state")
    if audit.state is AuditState.RETURNED:
        raise ActionRefused(
            "Back with the auditor",
            f"The Audit Team returned the audit of case {case_ref} to the auditor for "
            "completion, so it can't be moderated now. You'll get a new card when it is "
            "resubmitted. Nothing was changed.",
        )
    if check == "waiting" and not on_fast_path(audit):
        raise ActionRefused(
            "Waiting for the completeness check",
            f"The Audit Team hasn't yet checked the audit of case {case_ref} is complete. "
            "You'll be asked to moderate once they accept it. Nothing was changed.",
        )


# --- what the moderator is asked -------------------------------------------------------


def moderation_questions(tool: AuditTool) -> list[tuple[str, str, bool]]:
    """(section id, question, graded) for the tool's moderation template, overall excluded.

    A section asked about both its grade and its content is asked once, about its grade.
    """
    graded = {q.section for q in tool.moderation.questions if q.asks is ModerationAsks.GRADE}
    asked = []
    for question in tool.moderation.questions:
        is_grade = question.asks is ModerationAsks.GRADE
        if not is_grade and question.section in graded:
            continue
        asked.append((question.section, question.question, is_grade))
    return asked


async def moderation_view(session: AsyncSession, audit: Audit, *, timezone: str) -> ModerationView:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    case = await repo.get_case(session, audit.case_id)
    initial = {
        row.section_id: row
        for row in await repo.list_section_grades(session, audit.id, GradeStage.INITIAL)
    }
    sections = []
    for section_id, question, graded in moderation_questions(tool):
        row = initial.get(section_id)
        sections.append(
            ModeratedSection(
                key=section_id,
                title=tool.section(section_id).title,
                question=question,
                graded=graded,
                initial_grade=row.grade if row and graded else None,
                initial_rationale=row.rationale if row else None,
            )
        )
    overall = initial.get(tool.overall_section.id)
    sections.append(
        ModeratedSection(
            key=OVERALL,
            title=f"Overall grade ({tool.overall_section.title})",
            question=tool.moderation.overall_question,
            graded=True,
            initial_grade=audit.initial_grade or (overall.grade if overall else None),
            initial_rationale=overall.rationale if overall else None,
        )
    )
    people = await repo.staff_by_ids(session, {audit.auditor_id, audit.practitioner_id})
    moderation = await cycle_moderation(session, cycle)
    return ModerationView(
        panel_choice=(
            isinstance(moderation, PanelModeration) and moderation.panel.reviews == "chosen"
        ),
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        auditor=people[audit.auditor_id].display_name,
        practitioner=people[audit.practitioner_id].display_name,
        tool=tool.title,
        due=day(audit.moderation_due_at, timezone),
        fast_path=on_fast_path(audit),
        sections=sections,
    )


async def ask_moderator(
    session: AsyncSession, audit: Audit, *, now: datetime, rules: ProgrammeRules
) -> None:
    """Queue the moderator's form, in the caller's transaction.

    Call it when the Audit Team accepts a submitted audit as complete, after
    every change to the audit in that transaction: it flushes them, so the
    card carries the version the audit commits at (a card drawn earlier would
    be refused as out of date). Asking again after a resubmission sends a new
    card; asking twice for the same version sends one.
    """
    if audit.moderator_id is None:
        raise ValueError(f"audit {audit.id} has no moderator to ask")
    await _ask(
        session, audit, [audit.moderator_id], {"moderator_id": audit.moderator_id}, now, rules
    )


async def ask_group(
    session: AsyncSession,
    audit: Audit,
    members: Sequence[Staff],
    *,
    now: datetime,
    rules: ProgrammeRules,
) -> list[Staff]:
    """Queue the moderation form to each member of the moderation group who has no part in
    the audit (not its auditor, practitioner or team manager); any of them records the
    group's moderation. The members asked."""
    involved = {audit.auditor_id, audit.practitioner_id, audit.team_manager_id}
    asked = [member for member in members if member.id not in involved]
    await _ask(session, audit, [m.id for m in asked], {"group": [m.id for m in asked]}, now, rules)
    return asked


async def _ask(
    session: AsyncSession,
    audit: Audit,
    people: Sequence[int],
    trail: dict[str, Any],
    now: datetime,
    rules: ProgrammeRules,
) -> None:
    await session.flush()
    view = await moderation_view(session, audit, timezone=rules.timezone)
    for person_id in people:
        await tell(
            session,
            person_id,
            "moderation",
            f"moderate:audit:{audit.id}:v{audit.version}",
            summary=f"Moderate the audit of case {view.case_ref} by {view.due}",
            card=moderation_card(view, data=round_data(audit)),
        )
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        "moderation_requested",
        None,
        {**trail, "version": audit.version},
        at=now,
    )


def answers_from(context: ActionContext, sections: Sequence[ModeratedSection]) -> dict[str, Answer]:
    """What the card sent for each question, length-checked; unknown fields are ignored."""
    return {
        section.key: answer_of(
            context.text(field_id("agree", section.key), limit=48),
            context.text(field_id("grade", section.key), limit=32),
            context.text(field_id("why", section.key), limit=RATIONALE_LIMIT),
        )
        for section in sections
    }


def actions_arising_from(context: ActionContext) -> str:
    """The template's "actions arising", length-checked; empty when there are none."""
    return context.text(ACTIONS_ARISING, limit=ACTIONS_ARISING_LIMIT)


async def actions_arising_of(session: AsyncSession, audit: Audit) -> str | None:
    """The actions arising from the audit's latest moderation (a revision after a dispute
    is a moderation of its own)."""
    latest = await repo.latest_moderation(session, audit.id)
    return latest.actions_arising if latest is not None else None


def typed_values(answers: dict[str, Answer]) -> dict[str, str]:
    """The answers as card input values, to keep what was typed when the form comes back."""
    values = {}
    for key, answer in answers.items():
        values[field_id("agree", key)] = answer.agree
        values[field_id("grade", key)] = answer.grade
        values[field_id("why", key)] = answer.rationale
    return values


def judge_answers(
    audit: Audit, sections: Sequence[ModeratedSection], answers: dict[str, Answer]
) -> dict[str, Judgement]:
    """Raises ModerationIncomplete with a message per field."""
    questions = [Question(s.key, s.graded, s.initial_grade) for s in sections]
    return judge(questions, answers, outcomes_met=audit.outcomes_met)


# --- saving ----------------------------------------------------------------------------


async def _refuse_unless_moderator(context: ActionContext, pressed: Pressed) -> str | None:
    audit = pressed.audit
    if audit.moderator_id == context.staff.id:
        return None
    group = await _group_of(context.session, audit)
    if group is not None:
        involved = {audit.auditor_id, audit.practitioner_id, audit.team_manager_id}
        if context.staff.id in {m.id for m in group} - involved:
            return None
        return "a member of the moderation group with no part in this audit"
    return "the moderator allocated to this audit"


async def _group_of(session: AsyncSession, audit: Audit) -> list[Staff] | None:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    return await group_members(session, cycle) if cycle is not None else None


async def load_audit(context: ActionContext) -> Pressed | None:
    """The audit a card names, for a press that only shows something (no version needed)."""
    audit = await repo.get_audit(context.session, context.number("audit_id"))
    return Pressed(audit, stale=False) if audit is not None else None


@card_action(OPEN_MODERATION, load=load_audit, refuse=_refuse_unless_moderator)
async def open_moderation(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """The moderation form as the audit stands, from `my audits`: the card in the chat may
    be far up, or on another device. Once moderated, the result instead."""
    audit, session = pressed.audit, context.session
    if audit.state is not AuditState.SUBMITTED and audit.state is not AuditState.RETURNED:
        return await result_for(session, audit, context.staff, timezone=context.rules.timezone)
    view = await moderation_view(session, audit, timezone=context.rules.timezone)
    refuse_unless_open(audit, view.case_ref)
    return moderation_card(view, data=round_data(audit))


@card_action(MODERATE, load=load_for_moderation, refuse=_refuse_unless_moderator)
async def save_moderation(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    audit = pressed.audit
    session = context.session
    if audit.state is not AuditState.SUBMITTED and audit.state is not AuditState.RETURNED:
        return await result_for(session, audit, context.staff, timezone=context.rules.timezone)
    view = await moderation_view(session, audit, timezone=context.rules.timezone)
    refuse_unless_open(audit, view.case_ref)
    answers = answers_from(context, view.sections)
    arising = actions_arising_from(context)
    values = {**typed_values(answers), ACTIONS_ARISING: arising}
    if pressed.stale:
        return moderation_card(
            view,
            values=values,
            notice="This audit changed since this card was sent, so nothing was saved. "
            "Check your answers against it and save again.",
            data=round_data(audit),
        )
    try:
        judgements = judge_answers(audit, view.sections, answers)
    except ModerationIncomplete as incomplete:
        return moderation_card(
            view, values=values, errors=incomplete.errors, data=round_data(audit)
        )
    await record_moderation(
        session,
        audit,
        judgements,
        actor=context.staff,
        now=context.now,
        rules=context.rules,
        actions_arising=arising,
    )
    await session.flush()
    to_panel = await refer_to_panel(
        session,
        audit,
        chosen=context.text(SEND_TO_PANEL, limit=5) == "true",
        now=context.now,
        rules=context.rules,
    )
    # The programme's dispute route, if it has one, offered where it still applies: a review
    # already on its way to the panel has the chair's deciding say to come.
    route = await audit_dispute_route(session, audit)
    await send_result(
        session,
        audit,
        timezone=context.rules.timezone,
        status=PANEL_STATUS if to_panel else None,
        may_dispute=route == "moderator_then_hos_and_audit_team" and not to_panel,
        may_ask_panel=route == "panel_chair" and not to_panel,
    )
    await close_if_done(session, audit, now=context.now)
    log.info("audit %s moderated by staff=%s", audit.id, context.staff.id)
    return await result_for(session, audit, context.staff, timezone=context.rules.timezone)


async def record_moderation(
    session: AsyncSession,
    audit: Audit,
    judgements: dict[str, Judgement],
    *,
    actor: Staff,
    now: datetime,
    rules: ProgrammeRules,
    action: Action = Action.MODERATE,
    event: str = "moderated",
    actions_arising: str = "",
) -> Moderation:
    """Write a moderation (first, or revised after a dispute) and move the audit on.

    The moderated stage of each section is replaced (its rationale is the
    moderator's comment, agreeing or not); earlier answers stay in the trail
    and in earlier `moderations` rows, and so do earlier actions arising.
    """
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    before = repo.snapshot(audit, AUDIT_FIELDS)
    for key, judgement in judgements.items():
        section_id = tool.overall_section.id if key == OVERALL else key
        await repo.save_section_grade(
            session,
            audit.id,
            section_id,
            GradeStage.MODERATED,
            actor.id,
            judgement.grade,
            judgement.rationale,
            agreed=judgement.agreed,
        )
    grade = moderated_grade(judgements)
    overall = judgements[OVERALL]
    moderation = await repo.add_moderation(
        session,
        audit.id,
        actor.id,
        overall.agreed,
        grade,
        overall.rationale,
        at=now,
        actions_arising=actions_arising or None,
    )
    audit.state = transition(audit.state, action, Party.MODERATOR)
    if audit.moderator_id is None:  # a moderation group: the member who records it
        audit.moderator_id = actor.id
    audit.moderated_grade = grade
    audit.final_grade = grade
    audit.moderated_at = now
    await set_deadlines_after_moderation(session, audit, grade, now=now, rules=rules)
    await session.flush()
    await plan_uopp_meeting(session, audit, now=now, rules=rules, actor=actor)
    after = repo.snapshot(audit, AUDIT_FIELDS)
    after["sections"] = {
        key: {"agreed": j.agreed, "grade": j.grade.value if j.grade else None}
        for key, j in judgements.items()
    }
    after["moderation_id"] = moderation.id
    after[ACTIONS_ARISING] = actions_arising
    await repo.record_event(session, actor, "audit", audit.id, event, before, after, at=now)
    return moderation


async def set_deadlines_after_moderation(
    session: AsyncSession, audit: Audit, grade: Grade, *, now: datetime, rules: ProgrammeRules
) -> None:
    """The UoPP deadline (shorter after Inadequate; none where the audit's programme holds
    no meeting after this grade) and, for Inadequate, the team manager's urgent-issues
    deadline; both count from `now`, the moderation or the decision."""
    rules = await audit_rules(session, audit, rules)
    calendar = WorkingCalendar.from_rules(rules)
    needed = await meeting_needed(session, audit, grade)
    planned_for = meeting_grade(audit, grade)
    audit.uopp_due_at = uopp_due(rules, calendar, now, planned_for).due_at if needed else None
    if grade is Grade.INADEQUATE and programme_fast_path(audit):
        audit.urgent_issues_due_at = urgent_issues_due(rules, calendar, now).due_at
    else:
        audit.urgent_issues_due_at = None
    await ask_for_part_b(session, audit, now=now, rules=rules)


# --- telling people --------------------------------------------------------------------


async def audit_team_of(session: AsyncSession, audit: Audit) -> list[Staff]:
    """The Audit Team and Audit Managers covering the audit's case."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    people: dict[int, Staff] = {}
    for role in sorted(AUDIT_TEAM_ROLES):
        for person in await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        ):
            people.setdefault(person.id, person)
    return list(people.values())


async def coordinators_of(session: AsyncSession, audit: Audit) -> list[Staff]:
    """The coordinators covering the audit's case: they get the result and may dispute the
    moderated grade, as the practitioner and team manager may (DOMAIN.md step 8)."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    return await repo.list_staff_with_role_for_team(
        session, Role.COORDINATOR, cycle.service_id, case.team_id
    )


async def send_result(
    session: AsyncSession,
    audit: Audit,
    *,
    timezone: str,
    key: str | None = None,
    may_dispute: bool = True,
    may_ask_panel: bool = False,
    status: str | None = None,
    also: Sequence[int] = (),
    cards_for: Mapping[int, dict[str, Any]] | None = None,
    not_to: Collection[int] = (),
) -> None:
    """The result to the auditor, practitioner, team manager and coordinators, the Audit Team
    copied (and `also` these people); and, when the final grade is Inadequate, the team
    manager's urgent-issues card (once per audit).

    With `may_dispute` the practitioner's, team manager's and coordinators' copies offer
    "Dispute the grade"; with `may_ask_panel` (the panel's chair decides disagreements) those
    and the auditor's copies offer "Ask the panel". `cards_for` replaces the card one person
    gets (the disputer's, after a dispute); `not_to` are left out (they have it as the answer
    to their own press). `key` defaults to one per moderation, so a revised moderation is
    sent again.
    """
    if key is None:
        moderation = (await repo.list_moderations(session, audit.id))[-1]
        key = f"moderated:audit:{audit.id}:m{moderation.id}"
    view = await result_view(session, audit, timezone=timezone)
    summary = f"Moderation of case {view.case_ref}: {grade_label(audit.final_grade)}"
    coordinators = [person.id for person in await coordinators_of(session, audit)]
    disputers = {audit.practitioner_id, audit.team_manager_id, *coordinators}
    readers: list[int | None] = [audit.auditor_id, audit.practitioner_id, audit.team_manager_id]
    readers += coordinators
    readers += [person.id for person in await audit_team_of(session, audit)]
    readers += list(also)
    told: set[int] = set(not_to)
    for person_id in readers:
        if person_id is None or person_id in told:
            continue
        told.add(person_id)
        card = (cards_for or {}).get(person_id)
        if card is None:
            offer = may_dispute and person_id in disputers
            to_panel = may_ask_panel and (person_id in disputers or person_id == audit.auditor_id)
            hint = DISPUTE_HINT if offer else ASK_PANEL_HINT if to_panel else status
            card = result_card(_with_status(view, hint), dispute=offer, ask_panel=to_panel)
        await tell(session, person_id, "moderation", key, summary=summary, card=card)
    if audit.final_grade is Grade.INADEQUATE and audit.team_manager_id is not None:
        await ask_team_manager_about_urgent_issues(session, audit, timezone=timezone)


PANEL_STATUS = (
    "This review goes on to the Senior Leadership Moderation Panel, which agrees its final "
    "grading with the reviewer."
)
PANEL_DECIDED = "Final: the moderation panel's grading."
ASK_PANEL_HINT = (
    "If you disagree with the moderated grade, ask for this review to go to the Senior "
    "Leadership Moderation Panel: its independent chair has the deciding say."
)
DISPUTE_HINT = (
    "If you disagree with the moderated grade, dispute it: you'll discuss it with the "
    "moderator first, and the Head of Service and Audit Team decide if it is not resolved."
)


def _content_row(title: str, moderated: Any, columns: int) -> ResultRow | None:
    """A section moderated for its content, not a grade (the KLOEs, say): shown when the
    moderator disagreed or commented, with what they said."""
    if moderated is None or (moderated.agreed is not False and not moderated.rationale):
        return None
    verdict = "Disagrees" if moderated.agreed is False else "Agrees"
    label = "rationale" if moderated.agreed is False else "comment"
    grades = ["Not graded", verdict, *([verdict] * (columns - 2))]
    return ResultRow(title=title, grades=grades, note=f"Moderator's {label}: {moderated.rationale}")


def _with_status(view: ResultView, status: str | None) -> ResultView:
    return replace(view, status=status)


async def result_view(session: AsyncSession, audit: Audit, *, timezone: str) -> ResultView:
    """Initial, moderated and (after a decided dispute) decided grades, side by side."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    tool = load_tool(cycle.audit_tool_id)
    case = await repo.get_case(session, audit.case_id)
    stages: dict[GradeStage, dict[str, Any]] = {stage: {} for stage in GradeStage}
    for row in await repo.list_section_grades(session, audit.id):
        stages[row.stage][row.section_id] = row
    decided = audit.state is AuditState.DECIDED or bool(stages[GradeStage.DECIDED])
    panel = panel_of(audit)
    by_panel = panel.get("state") == "decided"
    columns = ["Auditor", "Moderator", *(["Decision"] if decided else [])]
    columns += ["Panel"] if by_panel else []
    rows = []
    questions = moderation_questions(tool)
    graded = {s for s, _, is_graded in questions if is_graded}
    for section_id in [*(s for s, _, _ in questions), tool.overall_section.id]:
        overall = section_id == tool.overall_section.id
        initial = stages[GradeStage.INITIAL].get(section_id)
        moderated = stages[GradeStage.MODERATED].get(section_id)
        if not overall and section_id not in graded:
            row = _content_row(tool.section(section_id).title, moderated, len(columns))
            if row is not None:
                rows.append(row)
            continue
        grades = [
            grade_label(audit.initial_grade if overall else (initial.grade if initial else None)),
            grade_label(
                audit.moderated_grade if overall else (moderated.grade if moderated else None)
            ),
        ]
        note = None
        if moderated is not None and moderated.agreed is False:
            note = f"Moderator's rationale: {moderated.rationale}"
        elif moderated is not None and moderated.rationale:
            note = f"Moderator's comment: {moderated.rationale}"
        if decided:
            chosen = stages[GradeStage.DECIDED].get(section_id)
            if overall:
                grades.append(grade_label(audit.final_grade))
            else:
                grades.append(grades[1] if chosen is None else grade_label(chosen.grade))
            if chosen is not None and chosen.rationale:
                note = f"Decision: {chosen.rationale}"
        if by_panel:  # the panel grades the review as a whole
            grades.append(grade_label(audit.final_grade) if overall else grades[-1])
            if overall:
                note = f"Panel: {panel.get('rationale', '')}"
        title = "Overall grade" if overall else tool.section(section_id).title
        rows.append(ResultRow(title=title, grades=grades, note=note))
    people = await repo.staff_by_ids(
        session, {p for p in (audit.auditor_id, audit.moderator_id, audit.practitioner_id) if p}
    )
    moderator = people[audit.moderator_id].display_name if audit.moderator_id else ""
    by_group = isinstance(await cycle_moderation(session, cycle), GroupModeration)
    if by_group and moderator:
        moderator = f"The moderation group (recorded by {moderator})"
    headline = _headline(audit, "The moderation group" if by_group else "The moderator")
    extra = []
    if audit.urgent_issues_due_at is not None:
        extra.append(("Urgent issues due", day(audit.urgent_issues_due_at, timezone)))
    if audit.uopp_due_at is not None:
        extra.append(("UoPP meeting by", day(audit.uopp_due_at, timezone)))
    return ResultView(
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        auditor=people[audit.auditor_id].display_name,
        moderator=moderator,
        practitioner=people[audit.practitioner_id].display_name,
        columns=columns,
        rows=rows,
        headline=headline,
        extra=tuple(extra),
        actions_arising=await actions_arising_of(session, audit),
    )


def _headline(audit: Audit, moderator: str = "The moderator") -> str:
    initial, moderated = grade_label(audit.initial_grade), grade_label(audit.moderated_grade)
    panel = panel_of(audit)
    if panel.get("state") == "decided":
        deciding = " with its chair's deciding say" if panel.get("chair_decided") else ""
        return (
            f"The moderation panel agreed the final grade{deciding}: "
            f"{grade_label(audit.final_grade)} (the auditor's {initial}, the moderator's "
            f"{moderated})."
        )
    if audit.state is AuditState.DECIDED:
        return (
            f"After a dispute, the final grade was decided: {grade_label(audit.final_grade)}. "
            "The decision is final."
        )
    if audit.initial_grade == audit.moderated_grade:
        return f"{moderator} agreed with the auditor's overall grade: {moderated}."
    return f"{moderator} changed the overall grade from {initial} to {moderated}."


async def result_for(
    session: AsyncSession, audit: Audit, reader: Staff, *, timezone: str
) -> dict[str, Any]:
    """The result as `reader` should see it now (the card a repeat or stale press gets)."""
    if audit.state not in RESULT_STATES:
        raise ActionRefused(
            "Not moderated yet",
            f"This audit is {state_words(audit)}. Nothing was changed.",
        )
    view = await result_view(session, audit, timezone=timezone)
    dispute = await repo.latest_dispute(session, audit.id)
    if dispute is not None:
        return result_card(_with_status(view, await dispute_status(session, dispute)))
    panel = panel_of(audit).get("state")
    if panel is not None:
        return result_card(
            _with_status(view, PANEL_DECIDED if panel == "decided" else PANEL_STATUS)
        )
    return result_card(view)


async def dispute_status(session: AsyncSession, dispute: Any) -> str:
    who = await repo.get_staff(session, dispute.raised_by_id)
    name = who.display_name if who else "Someone"
    return f"{name} disputed the moderated grade: {dispute.state.label}."


# --- the team manager's urgent issues ---------------------------------------------------


async def ask_team_manager_about_urgent_issues(
    session: AsyncSession, audit: Audit, *, timezone: str
) -> None:
    view = await urgent_view(session, audit, timezone=timezone)
    await tell(
        session,
        audit.team_manager_id or 0,
        "urgent_issues",
        f"urgent:audit:{audit.id}",
        summary=f"Case {view.case_ref}: confirm the urgent issues are addressed by {view.due}",
        card=urgent_issues_card(view),
    )


async def urgent_view(session: AsyncSession, audit: Audit, *, timezone: str) -> UrgentIssuesView:
    case = await repo.get_case(session, audit.case_id)
    practitioner = await repo.get_staff(session, audit.practitioner_id)
    done = await repo.latest_event(session, "audit", audit.id, URGENT_CONFIRMED)
    confirmed = None
    if done is not None:
        by = await repo.get_staff(session, done.actor_id) if done.actor_id else None
        note = (done.after or {}).get("note", "")
        confirmed = (
            f"Confirmed by {by.display_name if by else 'the team manager'} on "
            f"{day(done.occurred_at, timezone)}: {note}"
        )
    return UrgentIssuesView(
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        practitioner=practitioner.display_name if practitioner else "",
        due=day(audit.urgent_issues_due_at, timezone),
        confirmed=confirmed,
    )


async def _refuse_unless_team_manager(context: ActionContext, pressed: Pressed) -> str | None:
    if pressed.audit.team_manager_id == context.staff.id:
        return None
    return "the team manager of the practitioner whose work was audited"


@card_action(CONFIRM_URGENT, load=load_pressed, refuse=_refuse_unless_team_manager)
async def confirm_urgent_issues(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    """Once, with a note; the confirmation is recorded in the audit's trail."""
    audit, session = pressed.audit, context.session
    timezone = context.rules.timezone
    view = await urgent_view(session, audit, timezone=timezone)
    if view.confirmed is not None:
        return urgent_issues_card(view)
    note = context.text("note", limit=RATIONALE_LIMIT)
    if audit.final_grade is not Grade.INADEQUATE or audit.urgent_issues_due_at is None:
        return _no_longer_urgent(view)
    if pressed.stale:
        return urgent_issues_card(
            view,
            note=note,
            notice="This audit changed since this card was sent, so nothing was saved. "
            "Check and confirm again.",
        )
    if not note:
        return urgent_issues_card(view, error="Say briefly what was done about the urgent issues.")
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        URGENT_CONFIRMED,
        None,
        {"note": note, "due_at": audit.urgent_issues_due_at, "confirmed_at": context.now},
        at=context.now,
    )
    await session.flush()
    for person in await audit_team_of(session, audit):
        await tell(
            session,
            person.id,
            "urgent_issues",
            f"urgent:audit:{audit.id}:confirmed",
            summary=f"Case {view.case_ref}: urgent issues confirmed addressed",
            text=f"{context.staff.display_name} confirmed the urgent issues on case "
            f"{view.case_ref} are addressed.",
        )
    await close_if_done(session, audit, now=context.now)
    return urgent_issues_card(await urgent_view(session, audit, timezone=timezone))


def _no_longer_urgent(view: UrgentIssuesView) -> dict[str, Any]:
    return notice_card(
        f"Urgent issues: case {view.case_ref}",
        "The final grade is no longer Inadequate, so there is nothing to confirm. "
        "Nothing was changed.",
    )
