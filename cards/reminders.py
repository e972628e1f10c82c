"""Reminders about late work: the owner's bundled card, the copy up the ladder, and action
progress.

One card a day per person lists everything they owe that is late, oldest
first, with a snooze button, and for each SMART action a small form to say
"done", "partly" (with a note) or "not yet" (with a new date). Case
references only; an action's text is the auditor's, cut short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    ShowCardAction,
    TextBlock,
    TextInput,
)

from cards.base import VERSION, card, execute, heading, paragraph
from cards.dates import day_label

SNOOZE = "reminder_snooze"
ACTION_PROGRESS = "action_progress"
MAX_LINES = 25  # a card stays well under Teams' size limit; the rest are counted
MAX_ACTION_CHARS = 300
NOTE_LIMIT = 2000
LATE_NOTICE = (
    "This reminder is late because auditbot was not running when it was due. Sorry for the delay."
)
CHAT_HELP = (
    "You can also reply in this chat: **done {n}**, **partly {n} what was done**, or "
    "**not yet {n} {day}** (the action's number, then a new date)."
)
PROGRESS_CHOICES = (("done", "Done"), ("partly", "Partly done"), ("not_yet", "Not yet"))


@dataclass(frozen=True)
class ReminderLine:
    """One late item on a reminder."""

    kind: str
    case_ref: str
    what: str  # "submit the audit", "report progress on an action"
    due_on: date  # the local date it was due
    working_days_late: int
    late: bool = False  # this item's reminder should have gone on an earlier day
    action_id: int | None = None  # the recommendation, for actions
    action_text: str | None = None


@dataclass(frozen=True)
class ReminderView:
    owner_name: str
    today: date
    reminder_ids: tuple[int, ...]
    lines: tuple[ReminderLine, ...]
    team_manager_copied: str | None = None  # their name, when copied today
    copied_as: str = "your team manager"  # or "the Lead Auditor", by the programme's route
    head_of_service_told: bool = False
    told_as: str = "the Head of Service"
    snoozed_until: date | None = None  # set once snoozed: the card says so, no buttons
    outcome: str | None = None
    errors: dict[int, str] = field(default_factory=dict)  # action id -> problem


def reminder_card(view: ReminderView) -> dict:
    """The owner's reminder (or, after a snooze or an answer, the same card as it stands)."""
    count = len(view.lines)
    late = any(line.late for line in view.lines)
    body: list[CardElement] = [
        heading("Reminder: late work"),
        paragraph(
            f"{view.owner_name}, {count} things are past their deadlines. Oldest first:"
            if count != 1
            else f"{view.owner_name}, this is past its deadline:"
        ),
    ]
    if late:
        body.append(TextBlock(text=LATE_NOTICE, wrap=True, weight="Bolder"))
    if view.outcome:
        body.append(TextBlock(text=view.outcome, wrap=True, weight="Bolder", color="Good"))
    body.extend(_line(line, view) for line in view.lines[:MAX_LINES])
    if count > MAX_LINES:
        body.append(paragraph(f"And {count - MAX_LINES} more: type my audits or my actions."))
    copied = _ladder_text(view)
    if copied:
        body.append(paragraph(copied, subtle=True))
    actions = None
    if view.snoozed_until is not None:
        until = day_label(view.snoozed_until, view.today)
        body.append(paragraph(f"Snoozed: no reminder about these until {until}."))
    else:
        numbers = [line.action_id for line in view.lines if line.action_id is not None]
        if numbers:
            body.append(paragraph(chat_help(numbers[0], view.today), subtle=True))
        ids = ",".join(str(i) for i in view.reminder_ids)
        actions = [execute("Snooze for a working day", SNOOZE, {"reminders": ids})]
    fallback = "Late: " + "; ".join(
        f"{line.case_ref} ({line.what})" for line in view.lines[:MAX_LINES]
    )
    return card(body, fallback=fallback, actions=actions)


def _ladder_text(view: ReminderView) -> str | None:
    parts = []
    if view.team_manager_copied:
        parts.append(f"{view.copied_as}, {view.team_manager_copied}, has been copied")
    if view.head_of_service_told:
        parts.append(f"{view.told_as} has been told")
    if not parts:
        return None
    text = " and ".join(parts)
    return text[0].upper() + text[1:] + "."


def _line(line: ReminderLine, view: ReminderView) -> Container:
    days = line.working_days_late
    lateness = f"{days} working day{'s' if days != 1 else ''} late" if days else "due today"
    items: list[CardElement] = [
        TextBlock(text=f"Case {line.case_ref}: {line.what}", weight="Bolder", wrap=True),
        TextBlock(
            text=f"Overdue: was due {day_label(line.due_on, view.today)} ({lateness})",
            wrap=True,
            color="Attention",
        ),
    ]
    if line.action_id is not None:
        text = (line.action_text or "").strip()
        if len(text) > MAX_ACTION_CHARS:
            text = text[: MAX_ACTION_CHARS - 1].rstrip() + "…"
        items.append(paragraph(f"Action {line.action_id}: {text}"))
        error = view.errors.get(line.action_id)
        if error:
            items.append(TextBlock(text=error, wrap=True, color="Attention", weight="Bolder"))
        if view.snoozed_until is None:
            items.append(ActionSet(actions=[_progress_form(line.action_id)]))
    return Container(separator=True, spacing="Medium", items=items)


def _progress_form(action_id: int) -> ShowCardAction:
    inputs: list[CardElement] = [
        ChoiceSetInput(
            id=f"progress_{action_id}",
            label="How is this action going?",
            is_required=True,
            error_message="Choose done, partly done or not yet.",
            style="expanded",
            choices=[Choice(title=title, value=value) for value, title in PROGRESS_CHOICES],
        ),
        TextInput(
            id=f"note_{action_id}",
            label="What has been done (needed for partly done; no names or case details)",
            is_multiline=True,
            max_length=NOTE_LIMIT,
        ),
        DateInput(id=f"new_date_{action_id}", label="New date (needed for not yet)"),
    ]
    form = AdaptiveCard(
        version=VERSION,
        body=inputs,
        actions=[execute("Save progress", ACTION_PROGRESS, {"recommendation": action_id})],
    )
    return ShowCardAction(title=f"Report progress on action {action_id}", card=form)


@dataclass(frozen=True)
class CopyView:
    """What someone up the ladder is told: whose work is late, and what."""

    owner_name: str
    today: date
    role: str  # "team manager" or "Head of Service"
    lines: tuple[ReminderLine, ...]


def reminder_copy_card(view: CopyView) -> dict:
    count = len(view.lines)
    body: list[CardElement] = [
        heading(f"Escalated: {view.owner_name}'s late work"),
        paragraph(
            f"You are told as {view.role}: {view.owner_name} has been reminded about "
            f"{count} item{'s' if count != 1 else ''} past {'their' if count != 1 else 'its'} "
            "deadline and they are still outstanding."
        ),
    ]
    for line in view.lines[:MAX_LINES]:
        due = day_label(line.due_on, view.today)
        body.append(
            TextBlock(
                text=f"- Case {line.case_ref}: {line.what} (Overdue: was due {due})",
                wrap=True,
            )
        )
    if count > MAX_LINES:
        body.append(paragraph(f"And {count - MAX_LINES} more.", subtle=True))
    fallback = f"{view.owner_name}'s late work: " + "; ".join(
        line.case_ref for line in view.lines[:MAX_LINES]
    )
    return card(body, fallback=fallback)


def action_answer_card(
    case_ref: str,
    action_id: int,
    status: str,
    *,
    note: str | None,
    due_on: date | None,
    today: date,
) -> dict:
    """What the owner sees after answering about an action (from a card or the chat)."""
    said = {"done": "done", "partly": "partly done", "not_yet": "not yet done"}[status]
    body: list[CardElement] = [
        heading(f"Action {action_id} recorded"),
        paragraph(f"Case {case_ref}: action {action_id} is recorded as {said}."),
    ]
    if note:
        body.append(paragraph(f"Your note: {note}"))
    if status == "not_yet" and due_on is not None:
        body.append(
            paragraph(f"New date: {day_label(due_on, today)}. I'll remind you if it passes.")
        )
    return card(body, fallback=f"Action {action_id} on case {case_ref}: {said}.")


def action_problem_card(message: str, *, number: int | None, today: date) -> dict:
    """A chat answer about an action that could not be saved: why, and how to say it, with
    one of the person's own action numbers (`number`) when they have one."""
    body: list[CardElement] = [heading("Action progress not saved"), paragraph(message)]
    if number is not None:
        body.append(paragraph(chat_help(number, today), subtle=True))
    return card(body, fallback=message)


def example_day(today: date) -> date:
    """A date to show in "not yet N <date>": a week on, the same day of the week."""
    return today + timedelta(days=7)


def chat_help(number: int, today: date) -> str:
    """How to answer about action `number` in the chat, with a date that is still ahead."""
    return CHAT_HELP.format(n=number, day=f"{example_day(today):%Y-%m-%d}")
