"""The Audit Team's completeness check of a submitted audit (DOMAIN.md step 6).

On submission the service's Audit Team get a card listing what the
automatic check found. One of them decides, once:
- Accept: the moderator is asked to moderate;
- Return, with reasons and a deadline (by default `completion_fix_due`):
  the audit goes back to the auditor, who is told, with the auditor's Head
  of Service copied, and the wizard reopens at the first step with a gap;
  resubmitting comes back here;
- Invalidate, only when no conversation with the practitioner is recorded:
  the audit ends, and the auditor and practitioner are told.
Graded Inadequate, the moderator is asked at submission and may moderate
before the check is decided; the check is then still recorded (complete, or
incomplete with what is missing, the auditor and their Head of Service told),
though the audit no longer goes back. A card from an earlier submission, or
pressed twice, shows how things stand.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.completeness import (
    ACCEPT,
    INVALIDATE,
    REASONS_LIMIT,
    RECORD_INCOMPLETE,
    RETURN,
    CompletenessView,
    completeness_card,
    returned_card,
)
from cards.dates import day
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.moderation_routes import request_moderation
from dialogs.notify import tell
from dialogs.programmes import cycle_moderation, cycle_rules
from dialogs.steps import state_words
from dialogs.wizard_facts import (
    AuditFacts,
    audit_facts,
    completeness_of,
    draft_of,
    gaps_of,
    local_today,
    with_wizard,
    wizard_state,
)
from storage import repositories as repo
from storage.models import Audit, Staff
from storage.repositories.views import line_managers_of
from workflow.calendar import WorkingCalendar
from workflow.completeness import first_gap_step
from workflow.deadlines import completion_fix_due
from workflow.programme.model import named_moderator_roles
from workflow.roles import Party, Role
from workflow.rules import ProgrammeRules
from workflow.states import MODERATED_ONWARDS, Action, AuditState, transition
from workflow.wizard_rules import is_desktop, parse_day, practitioner_contacted
from workflow.words import as_sentence

log = logging.getLogger(__name__)

CHECKERS = (Role.AUDIT_TEAM, Role.AUDIT_MANAGER)
MODERATOR_ASKED = "The moderator has been asked to moderate."
# The accept button, where the programme does not ask a moderator named at allocation.
ACCEPT_TITLES = {
    "none": "Accept as complete",
    "sample": "Accept: draw for the moderation sample",
    "group": "Accept: send to the moderation group",
}
AUDIT_FIELDS = ("state", "due_at")


async def send_for_check(
    session: AsyncSession, facts: AuditFacts, *, now: datetime, rules: ProgrammeRules
) -> None:
    """Queue the check card to the service's Audit Team, in the submitting transaction.

    Call after every change to the audit in that transaction: it flushes, so
    the card carries the version the audit commits at.
    """
    await session.flush()
    audit = facts.audit
    view = await check_view(session, facts, now=now, rules=rules)
    people = await repo.list_staff_with_role(session, Role.AUDIT_TEAM, facts.cycle.service_id)
    for person in people:
        await tell(
            session,
            person.id,
            "completeness",
            f"completeness:audit:{audit.id}:round:{view.round}",
            summary=f"Check the audit of case {facts.case_ref} is complete",
            card=completeness_card(view),
        )
    if not people:
        log.warning("no audit team to check audit %s", audit.id)


async def check_view(
    session: AsyncSession,
    facts: AuditFacts,
    *,
    now: datetime,
    rules: ProgrammeRules,
    outcome: str | None = None,
) -> CompletenessView:
    audit = facts.audit
    rules = await cycle_rules(session, facts.cycle, rules)
    fix_by = completion_fix_due(rules, WorkingCalendar.from_rules(rules), now).day
    answers = wizard_state(audit, facts.steps).answers
    return CompletenessView(
        audit_id=audit.id,
        version=audit.version,
        case_ref=facts.case_ref,
        auditor=facts.name(audit.auditor_id),
        practitioner=facts.name(audit.practitioner_id),
        grade=audit.initial_grade.label if audit.initial_grade else "Not graded",
        submitted_on=day(audit.submitted_at, rules.timezone),
        round=int(completeness_of(audit).get("round") or 1),
        gaps=[gap.what for gap in gaps_of(audit)],
        contacted=practitioner_contacted(answers),
        desktop=is_desktop(facts.steps),
        default_due=fix_by.isoformat(),
        earliest_due=local_today(now, rules).isoformat(),
        outcome=outcome if outcome is not None else await _outcome(session, audit),
        moderated_first=moderated_first(audit),
        moderator_asked=bool(completeness_of(audit).get("moderator_asked")),
        accept_title=ACCEPT_TITLES.get((await cycle_moderation(session, facts.cycle)).mode),
    )


def moderated_first(audit: Audit) -> bool:
    """The fast path moderated the audit while its completeness check still waited."""
    check = completeness_of(audit)
    return check.get("state") == "waiting" and audit.state in MODERATED_ONWARDS


async def _outcome(session: AsyncSession, audit: Audit) -> str | None:
    """What has become of the check, in words, or None while it waits for a decision."""
    check = completeness_of(audit)
    by = await repo.get_staff(session, check["decided_by"]) if check.get("decided_by") else None
    who = f" by {by.display_name}" if by else ""
    if audit.state is AuditState.INVALIDATED:
        return f"Invalidated{who}. The auditor and the practitioner were told."
    if audit.state is AuditState.RETURNED:
        return (
            f"Returned to the auditor{who}, to fix by {check.get('returned', {}).get('due_words')}."
        )
    if check.get("state") == "waiting" and (
        audit.state is AuditState.SUBMITTED or moderated_first(audit)
    ):
        return None
    if check.get("state") == "accepted":
        if check.get("after_moderation"):
            return f"Recorded as complete{who}."
        return f"Accepted{who}. {check.get('moderation') or MODERATOR_ASKED}"
    if check.get("state") == "incomplete":
        return (
            f"Recorded as incomplete{who}: {as_sentence(check.get('reasons') or '')} "
            "The auditor and their Head of Service were told."
        )
    return f"This audit is {state_words(audit)}."


async def _load(context: ActionContext) -> Audit | None:
    return await repo.get_audit_for_update(context.session, context.number("audit_id"))


async def _refuse_unless_audit_team(context: ActionContext, audit: Audit) -> str | None:
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    if await repo.holds_role(context.session, context.staff.id, CHECKERS, cycle.service_id):
        return None
    service = await repo.get_service(context.session, cycle.service_id)
    return f"the Audit Team for {service.name if service else 'this service'}"


async def _waiting(context: ActionContext, audit: Audit) -> AuditFacts | None:
    """The audit's facts when this card may still decide; None when it is stale or decided.

    A card decides the check of the round it was sent for. (Cards sent before they
    carried their round are held to the audit's version instead.)"""
    check = completeness_of(audit)
    if check.get("state") != "waiting":
        return None
    if audit.state is not AuditState.SUBMITTED and not moderated_first(audit):
        return None
    if "round" in context.data:
        if context.number("round") != int(check.get("round") or 1):
            return None
    elif context.number("version") != audit.version:
        return None
    return await audit_facts(context.session, audit)


async def _current(context: ActionContext, audit: Audit, **extra: Any) -> dict[str, Any]:
    facts = await audit_facts(context.session, audit)
    view = await check_view(context.session, facts, now=context.now, rules=context.rules)
    return completeness_card(dataclasses.replace(view, **extra))


async def _decide(context: ActionContext, facts: AuditFacts, decision: str, **fields: Any) -> None:
    audit = facts.audit
    draft = draft_of(audit)
    draft["completeness"] = {
        **(draft.get("completeness") or {}),
        "state": decision,
        "decided_by": context.staff.id,
        "decided_at": context.now.isoformat(),
        **fields,
    }
    audit.draft = draft
    audit.check_due_at = None  # decided: no longer chased


@card_action(ACCEPT, load=_load, refuse=_refuse_unless_audit_team)
async def accept(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Complete: ask the moderator to moderate."""
    facts = await _waiting(context, audit)
    if facts is None:
        return await _current(context, audit)
    if audit.moderator_id is None and await _names_moderators(context, facts):
        raise ActionRefused(
            "No moderator yet",
            f"The audit of case {facts.case_ref} has no moderator. Allocate one, then accept "
            "it. Nothing was changed.",
        )
    after = moderated_first(audit)
    await _decide(context, facts, "accepted", **({"after_moderation": True} if after else {}))
    await context.session.flush()
    await repo.record_event(
        context.session,
        context.staff,
        "audit",
        audit.id,
        "completeness_accepted",
        None,
        {"round": completeness_of(audit).get("round")},
        at=context.now,
    )
    if not completeness_of(audit).get("moderator_asked"):  # Inadequate: asked at submission
        words = await request_moderation(
            context.session, audit, now=context.now, rules=context.rules
        )
        draft = draft_of(audit)
        draft["completeness"] = {**(draft.get("completeness") or {}), "moderation": words}
        audit.draft = draft
        await context.session.flush()
    return await _current(context, audit)


async def _names_moderators(context: ActionContext, facts: AuditFacts) -> bool:
    """Whether the audit's programme names each audit's moderator at allocation."""
    moderation = await cycle_moderation(context.session, facts.cycle)
    return named_moderator_roles(moderation) is not None


@card_action(RETURN, load=_load, refuse=_refuse_unless_audit_team)
async def return_for_completion(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Back to the auditor with reasons and a deadline; the wizard reopens at the first gap."""
    facts = await _waiting(context, audit)
    if facts is None or audit.state is not AuditState.SUBMITTED:
        return await _current(context, audit)
    session = context.session
    reasons = context.text("reasons", limit=REASONS_LIMIT)
    typed_due = context.text("due", limit=10)
    due = parse_day(typed_due)
    today = local_today(context.now, context.rules)
    problem = None
    if not reasons:
        problem = "To return the audit, say what the auditor must put right."
    elif due is None:
        problem = "To return the audit, give the date to fix it by."
    elif due < today:
        problem = "The date to fix it by has passed: give a date from today onwards."
    if problem or due is None:
        return await _current(
            context, audit, error=problem, values={"reasons": reasons, "due": typed_due}
        )
    rules = await cycle_rules(session, facts.cycle, context.rules)
    before = repo.snapshot(audit, AUDIT_FIELDS)
    audit.state = transition(
        audit.state, Action.RETURN_FOR_COMPLETION, Party.AUDIT_TEAM, case_ref=facts.case_ref
    )
    audit.due_at = WorkingCalendar.from_rules(rules).end_of_working_day(due)
    due_words = day(due, rules.timezone)
    returned = {"reasons": reasons, "due": due.isoformat(), "due_words": due_words}
    await _decide(context, facts, "returned", returned=returned)
    state = wizard_state(audit, facts.steps)
    reopen = first_gap_step(facts.steps, gaps_of(audit))
    audit.draft = with_wizard(draft_of(audit), step=reopen, answers=state.answers)
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "returned_for_completion",
        before,
        {**repo.snapshot(audit, AUDIT_FIELDS), "reasons": reasons},
        at=context.now,
    )
    await _tell_returned(session, facts, context.staff, reasons, due_words)
    log.info("audit %s returned for completion", audit.id)
    return await _current(context, audit)


async def _tell_returned(
    session: AsyncSession, facts: AuditFacts, by: Staff, reasons: str, due_words: str
) -> None:
    audit = facts.audit
    key = f"completeness:audit:{audit.id}:returned:{completeness_of(audit).get('round')}"
    gaps = [gap.what for gap in gaps_of(audit)]
    await tell(
        session,
        audit.auditor_id,
        "completeness",
        key,
        summary=f"Your audit of case {facts.case_ref} was returned: fix by {due_words}",
        card=returned_card(facts.case_ref, audit.id, by.display_name, reasons, due_words, gaps),
    )
    auditor = facts.name(audit.auditor_id)
    for head in await auditors_heads_of_service(session, facts):
        await tell(
            session,
            head.id,
            "completeness",
            key,
            summary=f"Copy: the audit of case {facts.case_ref} was returned to {auditor}",
            text=f"Copy for you as {auditor}'s Head of Service: {by.display_name} (Audit Team) "
            f"returned {auditor}'s audit of case {facts.case_ref} for completion, to fix by "
            f"{due_words}. What to put right: {reasons}",
        )


async def auditors_heads_of_service(session: AsyncSession, facts: AuditFacts) -> list[Staff]:
    """The auditor's Head of Service: one above them in line management, else the Head of
    Service of the audit's service."""
    service_ids = [facts.cycle.service_id]
    service_ids += [
        held.service_id for held in await repo.roles_of(session, facts.audit.auditor_id)
    ]
    above = await line_managers_of(session, [facts.audit.auditor_id])
    for service_id in dict.fromkeys(service_ids):
        heads = await repo.list_staff_with_role(session, Role.HEAD_OF_SERVICE, service_id)
        in_line = [head for head in heads if head.id in above]
        if in_line:
            return in_line
    return await repo.list_staff_with_role(session, Role.HEAD_OF_SERVICE, facts.cycle.service_id)


@card_action(RECORD_INCOMPLETE, load=_load, refuse=_refuse_unless_audit_team)
async def record_incomplete(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """An audit moderated first, found incomplete: recorded, and the auditor (their Head of
    Service copied) told what is missing; the moderation and UoPP meeting go on."""
    facts = await _waiting(context, audit)
    if facts is None or not moderated_first(audit):
        return await _current(context, audit)
    reasons = context.text("reasons", limit=REASONS_LIMIT)
    if not reasons:
        return await _current(
            context, audit, error="Say what is missing from the audit.", values={}
        )
    await _decide(context, facts, "incomplete", reasons=reasons)
    await context.session.flush()
    await repo.record_event(
        context.session,
        context.staff,
        "audit",
        audit.id,
        "completeness_incomplete",
        None,
        {"round": completeness_of(audit).get("round"), "reasons": reasons},
        at=context.now,
    )
    await _tell_incomplete(context.session, facts, context.staff, reasons)
    return await _current(context, audit)


async def _tell_incomplete(
    session: AsyncSession, facts: AuditFacts, by: Staff, reasons: str
) -> None:
    audit = facts.audit
    key = f"completeness:audit:{audit.id}:incomplete:{completeness_of(audit).get('round')}"
    auditor = facts.name(audit.auditor_id)
    text = (
        f"{by.display_name} (Audit Team) recorded your audit of case {facts.case_ref} as "
        f"incomplete. It was graded Inadequate and moderated first, so its moderation and "
        f"UoPP meeting go on; what is missing is kept with the audit: {reasons}"
    )
    summary = f"Your audit of case {facts.case_ref} was recorded as incomplete"
    await tell(session, audit.auditor_id, "completeness", key, summary=summary, text=text)
    for head in await auditors_heads_of_service(session, facts):
        await tell(
            session,
            head.id,
            "completeness",
            key,
            summary=f"Copy: the audit of case {facts.case_ref} was recorded as incomplete",
            text=f"Copy for you as {auditor}'s Head of Service: {text}",
        )


@card_action(INVALIDATE, load=_load, refuse=_refuse_unless_audit_team)
async def invalidate(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """End an audit done without contacting the practitioner."""
    facts = await _waiting(context, audit)
    if facts is None or audit.state is not AuditState.SUBMITTED:
        return await _current(context, audit)
    session = context.session
    if is_desktop(facts.steps):
        raise ActionRefused(
            "This audit can't be invalidated here",
            "It is a desktop audit, done from the record without a conversation with the "
            "practitioner. Return it to the auditor instead if something is wrong. Nothing "
            "was changed.",
        )
    if practitioner_contacted(wizard_state(audit, facts.steps).answers):
        raise ActionRefused(
            "This audit can't be invalidated here",
            "It records a conversation with the practitioner. Return it to the auditor "
            "instead if something is wrong. Nothing was changed.",
        )
    reasons = context.text("invalid_reasons", limit=REASONS_LIMIT)
    if not reasons:
        return await _current(
            context,
            audit,
            error="To invalidate the audit, say why.",
            values={"invalid_reasons": reasons},
        )
    before = repo.snapshot(audit, AUDIT_FIELDS)
    audit.state = transition(
        audit.state, Action.INVALIDATE, Party.AUDIT_TEAM, case_ref=facts.case_ref
    )
    await _decide(context, facts, "invalidated", invalidated={"reasons": reasons})
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "invalidated",
        before,
        {**repo.snapshot(audit, AUDIT_FIELDS), "reasons": reasons},
        at=context.now,
    )
    text = (
        f"{context.staff.display_name} (Audit Team) invalidated the audit of case "
        f"{facts.case_ref}: no audit conversation with the practitioner was recorded. "
        f"Their reason: {reasons}"
    )
    for person_id in dict.fromkeys((audit.auditor_id, audit.practitioner_id)):
        await tell(
            session,
            person_id,
            "completeness",
            f"completeness:audit:{audit.id}:invalidated",
            summary=f"The audit of case {facts.case_ref} was invalidated",
            text=text,
        )
    log.info("audit %s invalidated", audit.id)
    return await _current(context, audit)
