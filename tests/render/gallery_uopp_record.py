"""Gallery entries for the UoPP record: the chair's four cards, the record everyone gets,
and the meeting that did not take place.

The `-most` entries fill every field to what the bot accepts, in non-ASCII
text (the most bytes a card can carry): every action row, each action and
the reason at their limits, and an error under every field.
"""

from __future__ import annotations

from cards.uopp_record import (
    MeetingView,
    NotHeldView,
    PlanLine,
    Problems,
    RecordSummary,
    check_card,
    grade_card,
    held_question_card,
    not_held_card,
    plan_card,
    record_card,
)
from tests.render.examples import Example, example
from workflow.grades import Grade
from workflow.uopp_record import (
    ACTION_CELLS,
    ACTION_LIMIT,
    MAX_ACTIONS,
    REASON_LIMIT,
    action_field,
    higher_grades,
)

CASE = "CSC-26-0142"
HEAVY = "Évaluation approfondie du dossier — ça reste à vérifier. " * 80
PEOPLE = (
    ("11", "Hannah Cohen (practitioner)"),
    ("12", "Peter Walsh (team manager)"),
    ("13", "Megan Bowen (auditor)"),
)
MEETING = MeetingView(
    meeting_id=7,
    audit_id=42,
    version=6,
    case_ref=CASE,
    second=False,
    scheduled="Tue 1 Dec 2026, 10:00",
    scheduled_day="2026-12-01",
    earliest="2026-11-24",
    today="2026-12-02",
    tomorrow="2026-12-03",
    chair="Megan Bowen",
    people=PEOPLE,
    grade=Grade.REQUIRES_IMPROVEMENT,
    grades_above=higher_grades(Grade.REQUIRES_IMPROVEMENT),
    told="the team manager, practitioner and coordinator, the Head of Service and the Audit Team",
)
MEETING_TOP = MeetingView(**{**MEETING.__dict__, "grade": Grade.OUTSTANDING, "grades_above": ()})
SECOND = MeetingView(
    **{
        **MEETING.__dict__,
        "second": True,
        "chair": "Tom Fletcher",
        "grade": Grade.INADEQUATE,
        "grades_above": higher_grades(Grade.INADEQUATE),
    }
)

DRAFT = {
    "held_on": "2026-12-01",
    "actions": "2",
    **{action_field(0, "action"): "Update the chronology with the child's views",
       action_field(0, "owner"): "11", action_field(0, "due"): "2026-12-18"},
    **{action_field(1, "action"): "Supervision to review drift monthly",
       action_field(1, "owner"): "12", action_field(1, "due"): "2027-01-08"},
    "grade": "good",
    "reason": "The plan is now reviewed fortnightly and the child's views are recorded.",
    "outcomes_met": "true",
}  # fmt: skip
DRAFT_MOST = {
    "held_on": "2026-12-01",
    "actions": str(MAX_ACTIONS),
    **{
        action_field(row, cell): (
            HEAVY[:ACTION_LIMIT] if cell == "action" else "12" if cell == "owner" else "2027-01-08"
        )
        for row in range(MAX_ACTIONS)
        for cell in ACTION_CELLS
    },
    "grade": "outstanding",
    "reason": HEAVY[:REASON_LIMIT],
    "outcomes_met": "false",
}
ERRORS_MOST = Problems(
    errors={
        **{action_field(row, cell): "Give a date in the future: the plan is what happens next."
           for row in range(MAX_ACTIONS) for cell in ACTION_CELLS},
        "actions": "Add at least one action the meeting agreed.",
        "grade": "Choose a grade higher than the current one, or no change.",
        "reason": "Say what progress since the audit justifies raising the grade.",
        "outcomes_met": "Work is only Outstanding when the child's outcomes are met.",
        "held_on": "The meeting can't have taken place in the future.",
    },
    notice="This audit changed since this card was drawn, so nothing was recorded.",
)  # fmt: skip

SUMMARY = RecordSummary(
    case_ref=CASE,
    second=False,
    held_on="Tue 1 Dec 2026",
    chair="Megan Bowen",
    plan=(
        PlanLine("Update the chronology with the child's views", "Hannah Cohen", "Fri 18 Dec 2026"),
        PlanLine("Supervision to review drift monthly", "Peter Walsh", "Fri 8 Jan 2027"),
    ),
    grade_line="Raised from Requires Improvement to be Good to Good",
    reason="The plan is now reviewed fortnightly and the child's views are recorded.",
    told="the team manager, practitioner and coordinator, the Head of Service and the Audit Team",
)
SUMMARY_INADEQUATE = RecordSummary(
    **{
        **SUMMARY.__dict__,
        "chair": "Jo Adeyemi",
        "grade_line": "Stays Inadequate",
        "reason": "",
        "next_meeting": "A second UoPP meeting, with the coordinator and the team manager and "
        "practitioner, will be booked between Tue 12 Jan 2027 and Mon 18 Jan 2027 to check the "
        "plan is working.",
    }
)
SUMMARY_MOST = RecordSummary(
    **{
        **SUMMARY_INADEQUATE.__dict__,
        "plan": tuple(
            PlanLine(HEAVY[:ACTION_LIMIT], "Oluwaseun Bello-Williamson", "Wed 30 Dec 2026")
            for _ in range(MAX_ACTIONS)
        ),
        "reason": HEAVY[:REASON_LIMIT],
        "grade_line": "Raised from Inadequate to Requires Improvement to be Good",
    }
)
NOT_HELD = NotHeldView(
    case_ref=CASE,
    second=False,
    scheduled="Tue 1 Dec 2026",
    window="between Thu 3 Dec 2026 and Wed 9 Dec 2026",
    recorded_by="Megan Bowen",
)

UOPP_RECORD_GALLERY: tuple[Example, ...] = (
    example("uopp-held-question", held_question_card, MEETING),
    example("uopp-held-question-second", held_question_card, SECOND),
    example("uopp-held-question-error", held_question_card, MEETING, {"held_on": "2026-12-05"},
            Problems({"held_on": "The meeting can't have taken place in the future."})),
    example("uopp-plan", plan_card, MEETING, {"held_on": "2026-12-01"}),
    example("uopp-plan-filled", plan_card, MEETING, DRAFT),
    example("uopp-plan-most", plan_card, MEETING, DRAFT_MOST, ERRORS_MOST),
    example("uopp-grade", grade_card, MEETING, DRAFT),
    example("uopp-grade-inadequate", grade_card, SECOND, {}),
    example("uopp-grade-top", grade_card, MEETING_TOP, {"grade": "no_change"}),
    example("uopp-grade-most", grade_card, MEETING, DRAFT_MOST, ERRORS_MOST),
    example("uopp-check", check_card, MEETING, DRAFT, SUMMARY),
    example("uopp-check-most", check_card, MEETING, DRAFT_MOST, SUMMARY_MOST, ERRORS_MOST),
    example("uopp-record", record_card, SUMMARY),
    example("uopp-record-inadequate", record_card, SUMMARY_INADEQUATE),
    example("uopp-record-most", record_card, SUMMARY_MOST),
    example("uopp-not-held", not_held_card, NOT_HELD, for_chair=True),
    example("uopp-not-held-attendee", not_held_card, NOT_HELD),
)  # fmt: skip
