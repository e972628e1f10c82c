"""Every moderation, dispute, fast-path and escalation card fit to send at its fullest:
schema 1.5, under 80 KB with every text field typed to its limit, inputs labelled, and
no colour without words."""

from __future__ import annotations

import pytest

from cards.base import card, paragraph
from cards.disputes import (
    DecisionRow,
    DisputeView,
    copy_card,
    decision_card,
    disputer_card,
    respond_card,
)
from cards.escalations import escalation_actions
from cards.inadequate import FastPathView, fast_path_card
from cards.moderation import (
    RATIONALE_LIMIT,
    ModeratedSection,
    ModerationView,
    ResultRow,
    ResultView,
    UrgentIssuesView,
    moderation_card,
    result_card,
    urgent_issues_card,
)
from dialogs.actions import MAX_TEXT
from tests.render.checks import card_problems
from workflow.grades import Grade
from workflow.moderation import OVERALL, field_id

LONGEST = ("A long answer, typed in full. " * 200)[:MAX_TEXT]
KEYS = [f"section_{n}" for n in range(9)] + [OVERALL]

MODERATION = ModerationView(
    audit_id=42, version=7, case_ref="CSC-26-0142", auditor="Megan Bowen",
    practitioner="Hannah Cohen", tool="Practice and Impact Review", due="Mon 30 Nov 2026",
    fast_path=True,
    sections=[
        ModeratedSection(key, f"Section {key}", LONGEST[:300], key != "section_8",
                         Grade.GOOD, LONGEST)
        for key in KEYS
    ],
)  # fmt: skip
TYPED = {field_id(kind, key): LONGEST[:RATIONALE_LIMIT] for key in KEYS for kind in ("why",)}
ERRORS = {field_id(kind, key): "Give your rationale." for key in KEYS for kind in ("agree", "why")}
RESULT = ResultView(
    audit_id=42, version=7, case_ref="CSC-26-0142", auditor="Megan Bowen",
    moderator="Olivia Brennan", practitioner="Hannah Cohen",
    columns=("Auditor", "Moderator", "Decision"),
    rows=[ResultRow(f"Section {key}", ("Good", "Inadequate", "Requires Improvement to be Good"),
                    LONGEST) for key in KEYS],
    headline="The moderator changed the overall grade from Good to Inadequate.",
    status=LONGEST[:300], extra=(("Urgent issues due", "Tue 1 Dec 2026"),),
)  # fmt: skip
DISPUTE = DisputeView(
    audit_id=42, version=8, case_ref="CSC-26-0142", raised_by="Hannah Cohen", reason=LONGEST,
    state="escalated", state_label="waiting for the Head of Service or Audit Team to decide",
    moderator_response=LONGEST, escalation_note=LONGEST,
)  # fmt: skip
ROWS = [DecisionRow(key, f"Section {key}", Grade.INADEQUATE) for key in KEYS]


@pytest.mark.parametrize(
    "built",
    [
        pytest.param(moderation_card(MODERATION), id="moderation"),
        pytest.param(
            moderation_card(MODERATION, values=TYPED, errors=ERRORS, notice=LONGEST[:300]),
            id="moderation-with-errors",
        ),
        pytest.param(
            result_card(RESULT, dispute=True, error="Give your reason.", reason=LONGEST[:2000]),
            id="result",
        ),  # fmt: skip
        pytest.param(
            respond_card(
                RESULT,
                DisputeView(**{**DISPUTE.__dict__, "state": "raised"}),
                error="Give a note.",
                note=LONGEST[:2000],
            ),
            id="respond",
        ),  # fmt: skip
        pytest.param(
            disputer_card(RESULT, DISPUTE, can_escalate=True, notice="Changed."), id="disputer"
        ),  # fmt: skip
        pytest.param(copy_card(RESULT, DISPUTE), id="copy"),
        pytest.param(
            decision_card(
                RESULT,
                DISPUTE,
                ROWS,
                values=TYPED,
                errors={field_id("grade", k): "Choose." for k in KEYS},
            ),
            id="decision",
        ),  # fmt: skip
        pytest.param(
            decision_card(
                RESULT,
                DisputeView(
                    **{
                        **DISPUTE.__dict__,
                        "state": "decided",
                        "decided_by": "Helen Whitfield",
                        "decision": LONGEST,
                    }
                ),
                ROWS,
            ),
            id="decided",
        ),  # fmt: skip
        pytest.param(
            urgent_issues_card(
                UrgentIssuesView(42, 7, "CSC-26-0142", "Hannah Cohen", "Tue 1 Dec 2026"),
                error="Say what was done.",
                note=LONGEST[:2000],
                notice="Changed.",
            ),
            id="urgent-issues",
        ),  # fmt: skip
        pytest.param(
            fast_path_card(
                FastPathView(
                    42,
                    "CSC-26-0142",
                    "Hannah Cohen",
                    "Peter Walsh",
                    "Megan Bowen",
                    "Olivia Brennan",
                    "Mon 30 Nov 2026",
                    2,
                    3,
                ),
                "audit_manager",
            ),
            id="fast-path",
        ),  # fmt: skip
        pytest.param(
            card([paragraph("x")], fallback="x", actions=escalation_actions(42)), id="escalations"
        ),  # fmt: skip
    ],
)
def test_card_is_fit_to_send_at_its_fullest(built: dict):
    assert card_problems(built) == []


@pytest.mark.parametrize(
    "built",
    [
        moderation_card(MODERATION),
        result_card(RESULT),
        respond_card(RESULT, DISPUTE),
        decision_card(RESULT, DISPUTE, ROWS),
        urgent_issues_card(UrgentIssuesView(42, 7, "CSC-1", "Hannah Cohen", "Tue 1 Dec")),
    ],
    ids=["moderation", "result", "respond", "decision", "urgent"],
)
def test_every_audit_card_offers_both_escalations(built: dict):
    titles = [action["title"] for action in built["actions"]]
    assert "Raise a safeguarding concern" in titles
    assert "Report discrimination concern" in titles


@pytest.mark.parametrize("part", ["practitioner", "team_manager", "coordinator",
                                  "audit_manager", "head_of_service"])  # fmt: skip
def test_the_fast_path_card_speaks_to_each_part(part: str):
    view = FastPathView(42, "CSC-1", "Hannah Cohen", "Peter Walsh", "Megan Bowen",
                        "Olivia Brennan", "Mon 30 Nov 2026", 2, 3)  # fmt: skip
    assert card_problems(fast_path_card(view, part)) == []
