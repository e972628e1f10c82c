"""The practitioner's own section (DOMAIN.md step 5): asked for at allocation.

The request goes with the practitioner's allocation notice (`request_at_allocation`), so
they have the whole audit period for it; an audit allocated before that was so is asked
when it starts. The practitioner answers the prompts of the tool's practitioner section
in the card, or replies in the chat with one message, which is saved as their answer
while the request is open. What they write goes into the audit's draft, with a trail
row, and the auditor sees it in the wizard; the completeness check says when it is
missing. It can be changed until the audit is submitted; an answer after that is not
saved, and the practitioner is shown what they typed and told why (by chat too, for a
message of a few words or more, while the audit is live). A tool without a
practitioner section asks for nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.practitioner import (
    CHAT,
    CHAT_LIMIT,
    REFLECT,
    answer_limit,
    prompt_key,
    reflection_request_card,
    several_requests_card,
)
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.commands import COMMANDS, normalise
from dialogs.notify import tell
from dialogs.reflection_request import (
    OPEN_FOR_REFLECTION,
    opened_request,
    reflection_view,
)
from dialogs.wizard_facts import AuditFacts, audit_facts, draft_of
from storage import repositories as repo
from storage.models import Audit, Staff
from workflow.states import TERMINAL_STATES, AuditState

log = logging.getLogger(__name__)

# Submitted, and not yet ended: a section sent now is too late for the audit.
LATE_STATES = tuple(set(AuditState) - OPEN_FOR_REFLECTION - TERMINAL_STATES)
# A late section is prose; "thanks" or "what now?" is left for the commands to answer.
LATE_SECTION_WORDS = 4


def practitioner_written(facts: AuditFacts) -> bool | None:
    """Whether the practitioner wrote their section; None when the tool asks for none."""
    if facts.reflection_section is None:
        return None
    saved = (facts.audit.draft or {}).get("practitioner") or {}
    return any(str(text).strip() for text in (saved.get("answers") or {}).values())


async def ask_for_reflection(
    session: AsyncSession, facts: AuditFacts, draft: dict[str, Any], *, now: datetime, timezone: str
) -> dict[str, Any]:
    """Open the request in `draft` (returned, for the caller to assign) and queue the card.

    Call in the transaction that starts the audit. Does nothing when the
    tool has no practitioner section or the request is already open.
    """
    if facts.reflection_section is None or "practitioner" in draft:
        return draft
    draft["practitioner"] = opened_request(now)
    audit = facts.audit
    view = reflection_view(facts, draft, timezone=timezone)
    assert view is not None
    await tell(
        session,
        audit.practitioner_id,
        "reflection",
        f"reflection:audit:{audit.id}:request",
        summary=f"Write your own section for the audit of case {facts.case_ref}",
        card=reflection_request_card(view),
    )
    return draft


async def save_reflection(
    session: AsyncSession,
    facts: AuditFacts,
    answers: dict[str, str],
    *,
    by: Staff,
    via: str,
    now: datetime,
) -> bool:
    """Save the practitioner's answers, with a trail row; False when nothing changed."""
    audit = facts.audit
    draft = draft_of(audit)
    saved = draft.get("practitioner") or {"requested_at": None, "answers": {}}
    before = dict(saved.get("answers") or {})
    if before == answers:
        return False
    first = not any(text.strip() for text in before.values())
    draft["practitioner"] = {**saved, "answers": answers, "saved_at": now.isoformat(), "via": via}
    audit.draft = draft
    await session.flush()
    await repo.record_event(
        session,
        by,
        "audit",
        audit.id,
        "practitioner_section_saved",
        {"answers": before},
        {"answers": answers, "via": via},
        at=now,
    )
    if first:
        await tell(
            session,
            audit.auditor_id,
            "reflection",
            f"reflection:audit:{audit.id}:written",
            summary=f"The practitioner wrote their section for case {facts.case_ref}",
            text=f"{by.display_name} has written their own section for the audit of case "
            f"{facts.case_ref}. You'll see it in the audit, at their section's step.",
        )
    log.info("practitioner section saved audit=%s via=%s", audit.id, via)
    return True


async def _load_audit(context: ActionContext) -> Audit | None:
    return await repo.get_audit_for_update(context.session, context.number("audit_id"))


async def _refuse_unless_practitioner(context: ActionContext, audit: Audit) -> str | None:
    if audit.practitioner_id == context.staff.id:
        return None
    return "the practitioner whose work is being audited"


@card_action(REFLECT, load=_load_audit, refuse=_refuse_unless_practitioner)
async def reflect_in_card(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """Save what the practitioner typed; the same answers again change nothing."""
    facts = await audit_facts(context.session, audit)
    timezone = context.rules.timezone
    view = reflection_view(facts, timezone=timezone)
    if view is None:
        raise ActionRefused(
            "Nothing to write", "This audit doesn't ask for your own section. Nothing was changed."
        )
    typed = {
        prompt_key(n): context.text(prompt_key(n), limit=answer_limit(len(view.prompts)))
        for n in range(1, len(view.prompts) + 1)
    }
    if not view.can_change:
        unsaved = [
            (prompt, typed[prompt_key(n)])
            for n, prompt in enumerate(view.prompts, 1)
            if typed[prompt_key(n)] and typed[prompt_key(n)] != view.answers.get(prompt_key(n))
        ]
        return reflection_request_card(view, unsaved=unsaved)
    if CHAT in view.answers:
        typed[CHAT] = view.answers[CHAT]
    answers = {key: text for key, text in typed.items() if text}
    if not answers:
        return reflection_request_card(view, error="Write something in at least one box.")
    await save_reflection(
        context.session, facts, answers, by=context.staff, via="card", now=context.now
    )
    saved = reflection_view(facts, timezone=timezone)
    assert saved is not None
    return reflection_request_card(
        saved,
        outcome=f"Saved. {facts.name(audit.auditor_id)} will see it. You can change it "
        "until the audit is submitted.",
    )


def _is_command(text: str) -> bool:
    said = normalise(text).split()
    return any(said[: len(c.name.split())] == c.name.split() for c in COMMANDS)


async def reflection_from_chat(
    session: AsyncSession, staff: Staff | None, text: str, *, now: datetime, timezone: str
) -> dict[str, Any] | None:
    """A chat message taken as the practitioner's section, answered with a card; or None
    when it isn't one (not a practitioner with an open request, or a chat command).

    Call inside a transaction, before the message is treated as a command.
    """
    if staff is None or not staff.active or not text.strip() or _is_command(text):
        return None
    states = tuple(OPEN_FOR_REFLECTION)
    waiting = [
        audit
        for audit in await repo.list_audits_for_staff(session, staff.id, states)
        if audit.practitioner_id == staff.id and _request_open(audit)
    ]
    if not waiting:
        return await _late_section(session, staff, text.strip(), timezone=timezone)
    if len(waiting) > 1:
        cases = await repo.cases_by_ids(session, {audit.case_id for audit in waiting})
        return several_requests_card(sorted(cases[a.case_id].case_ref for a in waiting))
    audit = await repo.get_audit_for_update(session, waiting[0].id)
    if audit is None or not _request_open(audit):
        return None
    facts = await audit_facts(session, audit)
    view = reflection_view(facts, timezone=timezone)
    assert view is not None
    message = text.strip()
    if len(message) > CHAT_LIMIT:
        return reflection_request_card(
            view,
            error=f"That message is too long to save: keep it under {CHAT_LIMIT} "
            "characters, or use the boxes below.",
        )
    await save_reflection(session, facts, {CHAT: message}, by=staff, via="chat", now=now)
    saved = reflection_view(facts, timezone=timezone)
    assert saved is not None
    return reflection_request_card(
        saved,
        outcome="Thank you: I saved your message as your own section. You can add to it "
        "in the boxes below until the audit is submitted.",
    )


async def _late_section(
    session: AsyncSession, staff: Staff, message: str, *, timezone: str
) -> dict[str, Any] | None:
    """A section sent by chat after its audit was submitted: shown back, not saved, with why;
    or None (a short message, or no such audit) for the commands to answer."""
    if len(message.split()) < LATE_SECTION_WORDS:
        return None
    late = [
        audit
        for audit in await repo.list_audits_for_staff(session, staff.id, LATE_STATES)
        if audit.practitioner_id == staff.id and _request_open(audit)
    ]
    if not late:
        return None
    audit = max(late, key=lambda audit: audit.id)  # the latest allocated
    view = reflection_view(await audit_facts(session, audit), timezone=timezone)
    assert view is not None
    log.info("late section by chat for audit %s: not saved", audit.id)
    return reflection_request_card(view, unsaved=[("Your message", message)])


def _request_open(audit: Audit) -> bool:
    """Asked for, and nothing written yet."""
    saved = (audit.draft or {}).get("practitioner")
    return saved is not None and not any(
        str(text).strip() for text in (saved.get("answers") or {}).values()
    )
