"""Gallery entries for reminders about late work: the owner's bundled card (on time, late
after downtime, with actions to answer, at its fullest, snoozed), the copy up the ladder,
and the answers about an action."""

from __future__ import annotations

from datetime import date, timedelta

from cards.reminders import (
    MAX_LINES,
    CopyView,
    ReminderLine,
    ReminderView,
    action_answer_card,
    action_problem_card,
    reminder_card,
    reminder_copy_card,
)
from tests.render.examples import LONGEST, Example, example

TODAY = date(2026, 11, 23)  # a Monday

LINES = (
    ReminderLine("audit", "CSC-26-0142", "submit the audit", TODAY - timedelta(days=4), 2),
    ReminderLine("moderation", "EH-26-0031", "moderate the audit", TODAY - timedelta(days=3), 1),
    ReminderLine(
        "action", "CSC-26-0097", "report progress on an action", TODAY - timedelta(days=6), 4,
        action_id=318,
        action_text="Update the chronology so the child's views from the last two visits are "
        "recorded.",
    ),
)  # fmt: skip
VIEW = ReminderView("Megan Bowen", TODAY, (11, 12, 13), LINES)
ESCALATED = ReminderView(
    "Megan Bowen", TODAY, (11, 12, 13), LINES,
    team_manager_copied="Peter Walsh", head_of_service_told=True,
)  # fmt: skip
LATE = ReminderView(
    "Megan Bowen", TODAY, (11,),
    (ReminderLine("audit", "CSC-26-0142", "submit the audit", TODAY - timedelta(days=5), 3,
                  late=True),),
)  # fmt: skip
MOST_LINES = tuple(
    ReminderLine(
        "action", f"CSC-26-{n:04d}", "report progress on an action", TODAY - timedelta(days=n),
        n, late=True, action_id=100000 + n, action_text=LONGEST,
    )
    for n in range(MAX_LINES + 15)
)  # fmt: skip
MOST = ReminderView(
    "Oluwaseun Bello-Williamson", TODAY, tuple(range(1, MAX_LINES + 16)), MOST_LINES,
    team_manager_copied="Rebecca Thompson-Adeyemi", head_of_service_told=True,
    errors={100000 + n: "Give a new date for the action (not yet needs a new date)."
            for n in range(MAX_LINES)},
)  # fmt: skip
SNOOZED = ReminderView(
    "Megan Bowen", TODAY, (11, 12, 13), LINES, snoozed_until=TODAY + timedelta(days=2)
)

REMINDER_GALLERY: tuple[Example, ...] = (
    example("reminder", reminder_card, VIEW),
    example("reminder-escalated", reminder_card, ESCALATED),
    example("reminder-late", reminder_card, LATE),
    example("reminder-most", reminder_card, MOST),
    example("reminder-snoozed", reminder_card, SNOOZED),
    example("reminder-copy-tm", reminder_copy_card,
            CopyView("Megan Bowen", TODAY, "their team manager", LINES[:2])),
    example("reminder-copy-most", reminder_copy_card,
            CopyView("Oluwaseun Bello-Williamson", TODAY, "Head of Service", MOST_LINES)),
    example("action-answer-done", action_answer_card, "CSC-26-0097", 318, "done", note=None,
            due_on=None, today=TODAY),
    example("action-answer-not-yet", action_answer_card, "CSC-26-0097", 318, "not_yet",
            note=LONGEST[:2000], due_on=TODAY + timedelta(days=14), today=TODAY),
    example("action-problem", action_problem_card,
            "Sat 28 November 2026 is not a working day; pick a working day.", number=318,
            today=TODAY),
)  # fmt: skip
