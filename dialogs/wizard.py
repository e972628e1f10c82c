"""The audit wizard (DOMAIN.md step 5): the auditor walks the tool section by section.

"Start audit" on the allocation card moves the audit to in progress, asks
the practitioner for their own section, and shows the first step. Each step
is a card whose buttons save what was typed as the audit's draft and show
the next step, the previous one, or where to come back ("Continue audit",
or `my audits`), on any device, days later. "Save and continue" checks the
step first: each problem comes back next to its field, with what was typed.

Staleness is the wizard's own revision, carried by every button with the
audit's version: a repeated press (Teams retries) or a button on an old
card changes nothing and shows the step the audit is at. The practitioner
saving their section moves the audit's version but not the wizard's
revision, so it never throws away what the auditor is typing.

Submitting is in `dialogs.wizard_submit`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import replace
from typing import Any

from cards.allocation import auditor_card
from cards.wizard import (
    BACK,
    NEXT,
    RESUME,
    STALE_NOTICE,
    START_AUDIT,
    STOP,
    WizardView,
    closed_card,
    stopped_card,
    typed_labels,
    wizard_card,
)
from cards.wizard_steps import ADD_ROW, REMOVE_ROW
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.notices import allocation_views
from dialogs.practitioner import ask_for_reflection, practitioner_written
from dialogs.reflection_request import reflection_view
from dialogs.steps import state_words
from dialogs.wizard_facts import (
    AuditFacts,
    WizardState,
    audit_facts,
    draft_of,
    gaps_of,
    is_editable,
    local_today,
    locked_audit_facts,
    recommendation_owners,
    with_wizard,
    wizard_state,
)
from storage import repositories as repo
from storage.enums import ExemptionState
from storage.models import Audit
from workflow.completeness import check_completeness
from workflow.roles import Party
from workflow.states import Action, AuditState, transition
from workflow.wizard_rules import (
    MAX_ROWS,
    ROW_CELLS,
    SUMMARY,
    WizardStep,
    row_count,
    row_field,
    step_fields,
    step_index,
    validate_step,
)

log = logging.getLogger(__name__)

ROW_KEY = re.compile(r"r\d+_")
STATE_FIELDS = ("state", "initial_grade", "outcomes_met", "submitted_at", "due_at")


async def load_audit(context: ActionContext) -> Audit | None:
    return await repo.get_audit_for_update(context.session, context.number("audit_id"))


async def refuse_unless_auditor(context: ActionContext, audit: Audit) -> str | None:
    return None if audit.auditor_id == context.staff.id else "the auditor allocated to this audit"


async def load_facts(context: ActionContext) -> AuditFacts | None:
    return await locked_audit_facts(context.session, context.number("audit_id"))


async def refuse_unless_facts_auditor(context: ActionContext, facts: AuditFacts) -> str | None:
    return await refuse_unless_auditor(context, facts.audit)


@card_action(START_AUDIT, load=load_audit, refuse=refuse_unless_auditor)
async def start_audit(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Allocated to in progress, once; pressed again, it shows where the audit is."""
    session = context.session
    facts = await audit_facts(session, audit, owners=True)
    if audit.state is not AuditState.ALLOCATED:
        return await current_card(context, facts)
    if context.number("version") != audit.version:
        return await _allocation_card(context, audit)
    exemption = await repo.latest_exemption_request(session, audit.id)
    if exemption is not None and exemption.state is ExemptionState.REQUESTED:
        raise ActionRefused(
            "Waiting for the Head of Service",
            "You asked to be exempt from this audit, so it can't start until the Head of "
            "Service decides. Nothing was changed.",
        )
    if exemption is not None and exemption.state is ExemptionState.APPROVED:
        raise ActionRefused(
            "You're exempt from this audit",
            "Your exemption was approved, so the Audit Team will reallocate it. Nothing was "
            "changed.",
        )
    before = repo.snapshot(audit, STATE_FIELDS)
    audit.state = transition(audit.state, Action.START, Party.AUDITOR, case_ref=facts.case_ref)
    draft = with_wizard(draft_of(audit), step=facts.steps[0].id, answers={})
    draft = await ask_for_reflection(
        session, facts, draft, now=context.now, timezone=context.rules.timezone
    )
    audit.draft = draft
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "started",
        before,
        repo.snapshot(audit, STATE_FIELDS),
        at=context.now,
    )
    log.info("audit %s started", audit.id)
    return await current_card(context, facts)


async def _allocation_card(context: ActionContext, audit: Audit) -> dict[str, Any]:
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    views = await allocation_views(context.session, cycle, [audit], timezone=context.rules.timezone)
    return auditor_card(dataclasses.replace(views[0], version=audit.version))


@card_action(RESUME, load=load_facts, refuse=refuse_unless_facts_auditor)
async def resume(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    """ "Continue audit": the step the auditor is at, as saved. Changes nothing."""
    if facts.audit.state is AuditState.ALLOCATED:
        return await _allocation_card(context, facts.audit)
    return await current_card(context, facts)


async def current_card(
    context: ActionContext,
    facts: AuditFacts,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    owners: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The card for the audit as it stands: the wizard at its step, or why it is closed.
    `owners`, when the caller has already read them this press, saves reading them again."""
    audit = facts.audit
    if not is_editable(audit):
        return closed_card(facts.case_ref, state_words(audit))
    view = await wizard_view(context, facts, errors=errors, notice=notice, owners=owners)
    return wizard_card(view)


async def wizard_view(
    context: ActionContext,
    facts: AuditFacts,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    owners: list[tuple[str, str]] | None = None,
) -> WizardView:
    audit = facts.audit
    if owners is None:
        owners = await recommendation_owners(context.session, facts)
    state = wizard_state(audit, facts.steps)
    [step] = [s for s in facts.steps if s.id == state.step]
    gaps = ()
    if step.id == SUMMARY:
        gaps = tuple(
            check_completeness(
                facts.steps,
                state.answers,
                kloe_count=len(facts.kloes),
                practitioner_written=practitioner_written(facts),
            )
        )
    if notice is None and audit.state is AuditState.RETURNED:
        notice = _returned_notice(audit)
    return WizardView(
        audit_id=audit.id,
        version=audit.version,
        rev=state.rev,
        case_ref=facts.case_ref,
        tool_title=facts.tool.title,
        steps=facts.steps,
        step=step,
        answers=state.answers,
        kloes=facts.kloes,
        owners=owners,
        reflection=reflection_view(facts, timezone=context.rules.timezone),
        today=local_today(context.now, context.rules).isoformat(),
        errors=errors or {},
        notice=notice,
        gaps=gaps,
        returned=audit.state is AuditState.RETURNED,
    )


def _returned_notice(audit: Audit) -> str:
    returned = ((audit.draft or {}).get("completeness") or {}).get("returned") or {}
    gaps = "; ".join(gap.what for gap in gaps_of(audit))
    text = "Returned by the Audit Team for completion"
    if returned.get("due"):
        text += f", to fix by {returned['due_words']}"
    if returned.get("reasons"):
        text += f": {returned['reasons']}"
    return text + (f" (The check found: {gaps})" if gaps else "")


async def stale_card(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    """The card as the audit stands, for a press on an out-of-date copy of a step. Nothing
    is saved from it; what it carried that differs from what is saved is shown back, with
    why, so the auditor can copy it and nothing typed goes without a word."""
    audit = facts.audit
    state = wizard_state(audit, facts.steps)
    pressed = next((s for s in facts.steps if s.id == context.data.get("step")), None)
    if pressed is None:
        return await current_card(context, facts)
    saved = state.answers.get(pressed.id, {})
    fields = step_fields(pressed, saved, kloe_count=len(facts.kloes), owners=frozenset())
    typed = {f.id: context.text(f.id, limit=f.limit) for f in fields}
    changed = {key: text for key, text in typed.items() if text and text != saved.get(key, "")}
    if not changed:
        return await current_card(context, facts)
    view = await wizard_view(context, facts)
    labels = typed_labels(view, pressed, typed)
    unsaved = [
        (labels.get(key, key), labels.get(f"{key}={text}", text)) for key, text in changed.items()
    ]
    if not is_editable(audit):
        return closed_card(facts.case_ref, state_words(audit), unsaved)
    return wizard_card(replace(view, notice=STALE_NOTICE, unsaved=unsaved))


def is_current(context: ActionContext, state: WizardState) -> bool:
    """The card shows the wizard as it is: same revision and step. The audit's version is
    carried too but not compared: the practitioner may have added their section since."""
    rev = context.data.get("rev")
    return (
        isinstance(rev, int | str)
        and str(rev) == str(state.rev)
        and (context.data.get("step") == state.step)
    )


def read_step(
    context: ActionContext,
    step: WizardStep,
    saved: dict[str, str],
    owners: frozenset[str],
    kloes: int,
) -> dict[str, str]:
    """The step's inputs from the card, each checked against what it may hold. Anything
    else means a tampered or out-of-date card, and nothing is saved."""
    typed: dict[str, str] = {}
    for field in step_fields(step, saved, kloe_count=kloes, owners=owners):
        value = context.text(field.id, limit=field.limit)
        if value and field.choices and value not in field.choices:
            raise ActionRefused("This card is out of date", "Please use the latest card I sent.")
        typed[field.id] = value
    if "rows" in saved:
        typed["rows"] = saved["rows"]
    return typed


async def save_answers(
    context: ActionContext,
    facts: AuditFacts,
    step_id: str,
    answers: dict[str, dict[str, str]],
    *,
    go_to: str,
) -> None:
    """Save the wizard at `go_to` with these answers; a trail row when an answer changed."""
    audit = facts.audit
    state = wizard_state(audit, facts.steps)
    before = state.answers.get(step_id, {})
    after = answers.get(step_id, {})
    if before == after and state.step == go_to:
        return
    await repo.save_draft(
        context.session, audit, with_wizard(draft_of(audit), step=go_to, answers=answers)
    )
    if before != after:
        change = (
            audit.id,
            {"step": step_id, "answers": before},
            {"step": step_id, "answers": after},
        )
        await repo.record_events(
            context.session, context.staff, "audit", "draft_saved", [change], at=context.now
        )


async def _press(context: ActionContext, facts: AuditFacts, go: str) -> dict[str, Any]:
    session, audit = context.session, facts.audit
    state = wizard_state(audit, facts.steps)
    if not is_editable(audit) or not is_current(context, state):
        return await stale_card(context, facts)
    index = step_index(facts.steps, state.step)
    assert index is not None
    step = facts.steps[index]
    named = await recommendation_owners(session, facts)
    owners = frozenset(v for v, _ in named)
    typed = read_step(context, step, state.answers.get(step.id, {}), owners, len(facts.kloes))
    answers = {**state.answers, step.id: typed}
    if go == "next":
        today = local_today(context.now, context.rules)
        errors = validate_step(facts.steps, step, answers, today=today, owners=owners)
        target = step.id if errors else facts.steps[min(index + 1, len(facts.steps) - 1)].id
        await save_answers(context, facts, step.id, answers, go_to=target)
        return await current_card(context, facts, errors=errors, owners=named)
    if go == "back":
        await save_answers(
            context, facts, step.id, answers, go_to=facts.steps[max(index - 1, 0)].id
        )
        return await current_card(context, facts, owners=named)
    if go in ("add", "remove"):
        answers[step.id] = _rows_changed(context, typed, go)
    await save_answers(context, facts, step.id, answers, go_to=step.id)
    if go == "stop":
        return stopped_card(facts.case_ref, audit.id, step.title)
    return await current_card(context, facts, owners=named)


def _rows_changed(context: ActionContext, typed: dict[str, str], go: str) -> dict[str, str]:
    rows = row_count(typed)
    if go == "add":
        return {**typed, "rows": str(min(rows + 1, MAX_ROWS))}
    removed = context.data.get("row")
    if not isinstance(removed, int) or isinstance(removed, bool) or not 0 <= removed < rows:
        raise ActionRefused("This card is out of date", "Please use the latest card I sent.")
    kept = [
        {cell: typed.get(row_field(row, cell), "") for cell in ROW_CELLS}
        for row in range(rows)
        if row != removed
    ]
    changed = {key: value for key, value in typed.items() if not ROW_KEY.match(key)}
    for row, cells in enumerate(kept):
        changed.update({row_field(row, cell): value for cell, value in cells.items()})
    changed["rows"] = str(len(kept))
    return changed


@card_action(NEXT, load=load_facts, refuse=refuse_unless_facts_auditor)
async def save_and_continue(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    return await _press(context, facts, "next")


@card_action(BACK, load=load_facts, refuse=refuse_unless_facts_auditor)
async def go_back(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    return await _press(context, facts, "back")


@card_action(STOP, load=load_facts, refuse=refuse_unless_facts_auditor)
async def save_and_stop(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    return await _press(context, facts, "stop")


@card_action(ADD_ROW, load=load_facts, refuse=refuse_unless_facts_auditor)
async def add_row(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    return await _press(context, facts, "add")


@card_action(REMOVE_ROW, load=load_facts, refuse=refuse_unless_facts_auditor)
async def remove_row(context: ActionContext, facts: AuditFacts) -> dict[str, Any]:
    return await _press(context, facts, "remove")
