"""Submitting the audit from the wizard's summary card.

Every step is checked again first; a problem reopens its step with the
message next to the field. Then, in one transaction: the audit moves to
submitted (or, after a return, is resubmitted), the section grades are saved
at the initial stage, the recommendations replace any from an earlier
submission, the initial grade, outcomes and submission time are set, a
trail row is written, the Inadequate fast path runs, and the Audit Team is
sent the completeness check.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.wizard import (
    NEXT_AFTER_SUBMISSION,
    NEXT_BY_DEFAULT,
    SUBMIT,
    closed_card,
    submitted_card,
)
from dialogs import inadequate, moderation
from dialogs.action_owners import ask_for_owners
from dialogs.actions import ActionContext, card_action
from dialogs.completeness import send_for_check
from dialogs.practitioner import practitioner_written
from dialogs.programmes import audit_inadequate, cycle_moderation, cycle_rules
from dialogs.steps import state_words
from dialogs.wizard import (
    STATE_FIELDS,
    current_card,
    is_current,
    load_facts,
    refuse_unless_facts_auditor,
    save_answers,
)
from dialogs.wizard_facts import (
    AuditFacts,
    gaps_of,
    is_editable,
    local_today,
    recommendation_owners,
    wizard_state,
)
from storage import repositories as repo
from storage.enums import GradeStage, RecommendationLevel, RecommendationSource
from workflow.calendar import WorkingCalendar
from workflow.completeness import check_completeness
from workflow.deadlines import completeness_check_due
from workflow.grades import Grade
from workflow.roles import Party
from workflow.states import Action, AuditState, transition
from workflow.wizard_rules import (
    SUMMARY,
    Answers,
    grade_of,
    outcomes_met,
    overall_step,
    recommendations,
    validate_audit,
)

log = logging.getLogger(__name__)


@card_action(SUBMIT, load=load_facts, refuse=refuse_unless_facts_auditor)
async def submit_audit(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    """Submit once; pressed again, or from an old card, it shows how things stand."""
    session, audit = context.session, facts.audit
    state = wizard_state(audit, facts.steps)
    if audit.state is AuditState.SUBMITTED and audit.submitted_at is not None:
        return await _submitted(context, facts)
    if not is_editable(audit):
        return closed_card(facts.case_ref, state_words(audit))
    if not is_current(context, state) or state.step != SUMMARY:
        return await current_card(context, facts)
    owners = frozenset(v for v, _ in await recommendation_owners(session, facts))
    today = local_today(context.now, context.rules)
    problems = validate_audit(facts.steps, state.answers, today=today, owners=owners)
    if problems:
        step, errors = problems[0]
        await save_answers(context, facts, step.id, state.answers, go_to=step.id)
        return await current_card(
            context,
            facts,
            errors=errors,
            notice="Before you submit, please put this right. Your answers are saved.",
        )
    await _submit(context, facts, state.answers)
    return await _submitted(context, facts)


async def _submit(context: ActionContext, facts: AuditFacts, answers: Answers) -> None:
    session, audit = context.session, facts.audit
    action = Action.RESUBMIT if audit.state is AuditState.RETURNED else Action.SUBMIT
    before = repo.snapshot(audit, STATE_FIELDS)
    audit.state = transition(audit.state, action, Party.AUDITOR, case_ref=facts.case_ref)
    await _save_grades(session, facts, answers, context.staff.id)
    await _save_recommendations(session, facts, answers)
    overall = grade_of(answers.get(overall_step(facts.steps).id, {}).get("grade"))
    audit.initial_grade = overall
    audit.outcomes_met = outcomes_met(facts.steps, answers)
    audit.submitted_at = context.now
    rules = await cycle_rules(session, facts.cycle, context.rules)
    calendar = WorkingCalendar.from_rules(rules)
    audit.check_due_at = completeness_check_due(rules, calendar, context.now).due_at
    gaps = check_completeness(
        facts.steps,
        answers,
        kloe_count=len(facts.kloes),
        practitioner_written=practitioner_written(facts),
    )
    draft = dict(audit.draft or {})
    previous = draft.get("completeness") or {}
    # Inadequate, on the fast path: the moderator's 1 working day starts now, so they are
    # asked now, not once the Audit Team accepts the audit as complete (they may still
    # return it). Without the fast path, Inadequate waits for the check like any grade.
    fast_path = (await audit_inadequate(session, audit)).fast_path
    draft[inadequate.FAST_PATH_KEY] = fast_path
    ask_now = fast_path and overall is Grade.INADEQUATE and audit.moderator_id is not None
    draft["completeness"] = {
        "round": int(previous.get("round") or 0) + 1,
        "state": "waiting",
        "gaps": [{"step": gap.step_id, "what": gap.what} for gap in gaps],
        "submitted_at": context.now.isoformat(),
        **({"moderator_asked": True} if ask_now else {}),
    }
    audit.draft = draft
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        str(action),
        before,
        {**repo.snapshot(audit, STATE_FIELDS), "gaps": len(gaps)},
        at=context.now,
    )
    await inadequate.on_submitted(session, audit, now=context.now, rules=context.rules)
    await send_for_check(session, facts, now=context.now, rules=context.rules)
    await ask_for_owners(session, audit, timezone=context.rules.timezone)
    if ask_now:
        await moderation.ask_moderator(session, audit, now=context.now, rules=context.rules)
    log.info("audit %s %s with %s gap(s)", audit.id, action, len(gaps))


async def _save_grades(
    session: AsyncSession, facts: AuditFacts, answers: Answers, by_staff_id: int
) -> None:
    for step in facts.steps:
        if step.section is None or not step.section.graded:
            continue
        mine = answers.get(step.id, {})
        await repo.save_section_grade(
            session,
            facts.audit.id,
            step.id,
            GradeStage.INITIAL,
            by_staff_id,
            grade_of(mine.get("grade")),
            mine.get("rationale", "").strip() or None,
        )


async def _save_recommendations(session: AsyncSession, facts: AuditFacts, answers: Answers) -> None:
    audit_id = facts.audit.id
    await repo.delete_recommendations(session, audit_id, RecommendationSource.AUDIT)
    for row in recommendations(facts.steps, answers):
        await repo.add_recommendation(
            session,
            audit_id,
            RecommendationLevel(row.scope.value),
            row.action,
            row.impact,
            row.owner,
            row.due,
        )


async def _submitted(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    audit = facts.audit
    mode = (await cycle_moderation(context.session, facts.cycle)).mode
    grade = audit.initial_grade.label if audit.initial_grade else "Not graded"
    answers = wizard_state(audit, facts.steps).answers
    return submitted_card(
        facts.case_ref,
        grade,
        len(recommendations(facts.steps, answers)),
        gaps_of(audit),
        day(audit.submitted_at, context.rules.timezone),
        NEXT_AFTER_SUBMISSION.get(mode, NEXT_BY_DEFAULT),
    )
