"""The wizard's cards, and helpers that read and fill them as Teams would.

A card is walked for its inputs (outside show-card forms, as the top-level
buttons send them) and its buttons; pressing one sends the button's data
merged with every input's value, which is what Teams posts in an
`adaptiveCard/action` invoke.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from cards.completeness import CompletenessView, completeness_card, returned_card
from cards.practitioner import ReflectionView, reflection_request_card, several_requests_card
from cards.wizard import WizardView, closed_card, stopped_card, submitted_card, wizard_card
from tests.render.checks import card_problems
from workflow.completeness import Gap
from workflow.grades import Grade
from workflow.tools import available_tools
from workflow.wizard_rules import (
    COMMENT_LIMIT,
    MAX_ROWS,
    NOTE_LIMIT,
    ROW_LIMIT,
    TEXT_LIMIT,
    WizardStep,
    kloe_field,
    row_field,
    step_fields,
    wizard_steps,
)

TODAY = date(2026, 12, 9)
ESCALATIONS = ("Raise a safeguarding concern", "Report discrimination concern")


def walk(node: Any, *, into_forms: bool = False) -> Iterator[dict[str, Any]]:
    """Every element and action of a card; show-card forms only when asked."""
    if isinstance(node, dict):
        yield node
        for key, child in node.items():
            if key == "card" and not into_forms:
                continue
            yield from walk(child, into_forms=into_forms)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child, into_forms=into_forms)


def inputs_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["id"]: node
        for node in walk(card.get("body", []))
        if str(node.get("type", "")).startswith("Input.")
    }


def buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Action.Execute buttons by title, in the body and the actions, forms included."""
    return {
        node["title"]: node
        for node in walk(card, into_forms=True)
        if node.get("type") == "Action.Execute"
    }


def texts(card: dict[str, Any]) -> str:
    return "\n".join(
        str(node[key])
        for node in walk(card, into_forms=True)
        for key in ("text", "title", "value", "label")
        if isinstance(node.get(key), str)
    )


def errors_in(card: dict[str, Any]) -> list[str]:
    """The problems shown on a card: attention-coloured, and saying "Error:" in words."""
    return [
        node["text"]
        for node in walk(card)
        if node.get("type") == "TextBlock"
        and node.get("color") == "Attention"
        and node["text"].startswith("Error: ")
    ]


def press_data(card: dict[str, Any], title: str, **typed: str) -> dict[str, Any]:
    """What Teams sends for `title`: its data with every input's current value (as typed)."""
    button = buttons(card)[title]
    values = {key: node.get("value", "") for key, node in inputs_of(card).items()}
    return {**values, **typed, **button.get("data", {})}


def choices(card: dict[str, Any], input_id: str) -> list[str]:
    return [choice["value"] for choice in inputs_of(card)[input_id].get("choices", [])]


def fill_step(
    card: dict[str, Any], grade: Grade, *, today: date, outcomes_met: bool
) -> dict[str, str]:
    """Plausible answers for every input on a step, for a whole audit graded `grade`."""
    typed = {}
    for input_id, node in inputs_of(card).items():
        kind = node["type"]
        if input_id == "held":
            typed[input_id] = "yes"
        elif input_id == "grade":
            typed[input_id] = grade.value
        elif input_id == "outcomes_met":
            typed[input_id] = "true" if outcomes_met else "false"
        elif kind == "Input.Toggle":
            typed[input_id] = "false"
        elif input_id.endswith("_due"):
            typed[input_id] = (today + timedelta(days=30)).isoformat()
        elif kind == "Input.Date":
            typed[input_id] = (today - timedelta(days=3)).isoformat()
        elif kind == "Input.ChoiceSet":
            typed[input_id] = choices(card, input_id)[0]
        else:
            typed[input_id] = f"Answer for {input_id}"
    return typed


def step_of(card: dict[str, Any]) -> str:
    return next(
        button["data"]["step"] for button in buttons(card).values() if "step" in button["data"]
    )


# The cards themselves


def view(tool_id: str, step_id: str, **fields: Any) -> WizardView:
    [tool] = [tool for tool in available_tools() if tool.id == tool_id]
    steps = wizard_steps(tool)
    [step] = [s for s in steps if s.id == step_id]
    defaults: dict[str, Any] = dict(
        audit_id=7,
        version=3,
        rev=2,
        case_ref="EH-26-0001",
        tool_title=tool.title,
        steps=steps,
        step=step,
        answers={},
        kloes=("Is the child's voice heard?", "Does oversight prevent drift?"),
        owners=[("11", "Isaiah Langer (practitioner)"), ("12", "Patti Fernandez (team manager)")],
        reflection=None,
        today=TODAY.isoformat(),
    )
    return WizardView(**{**defaults, **fields})


def every_step() -> list[tuple[str, WizardStep]]:
    return [(tool.id, step) for tool in available_tools() for step in wizard_steps(tool)]


def fullest_answers(step: WizardStep, kloes: int) -> dict[str, dict[str, str]]:
    """Every input of the step at its longest, recommendations at their most rows."""
    mine = {"rows": str(MAX_ROWS)}
    for field in step_fields(step, mine, kloe_count=kloes, owners=frozenset({"11"})):
        mine[field.id] = "é" * field.limit if not field.choices else sorted(field.choices)[0]
    return {step.id: mine}


@pytest.mark.parametrize(("tool_id", "step"), every_step(), ids=lambda v: getattr(v, "id", v))
def test_every_step_is_teams_sized_and_labelled_even_at_its_fullest(tool_id, step):
    kloes = tuple(f"KLOE {n} " + "x" * 300 for n in range(8))
    reflection = ReflectionView(
        audit_id=7,
        case_ref="EH-26-0001",
        auditor="Adele Vance",
        title="Practitioner's section",
        guidance="",
        prompts=tuple("prompt " * 20 for _ in range(6)),
        answers={f"prompt_{n}": "é" * 4000 for n in range(1, 7)} | {"chat": "é" * 4000},
        saved_on="Mon 7 Dec 2026",
        can_change=True,
    )
    errors = {
        field.id: "A problem " * 10
        for field in step_fields(step, {"rows": "10"}, kloe_count=8, owners=frozenset())
    }
    card = wizard_card(
        view(
            tool_id,
            step.id,
            answers=fullest_answers(step, 8),
            kloes=kloes,
            reflection=reflection,
            errors=errors,
            gaps=[Gap(step.id, "gap " * 20)] * 12,
        )
    )

    assert card_problems(card) == []
    assert len(json.dumps(card).encode()) < 80 * 1024


def test_inputs_keep_what_was_typed_and_show_each_problem_under_its_field():
    answers = {"journey_of_the_child": {"grade": "", "rationale": "Typed before the error"}}
    card = wizard_card(
        view(
            "col_practice_impact_review",
            "journey_of_the_child",
            answers=answers,
            errors={"grade": "Choose a grade."},
        )
    )

    body = list(walk(card["body"]))
    grade_at = next(n for n, node in enumerate(body) if node.get("id") == "grade")
    after = next(n for n in body[grade_at + 1 :] if n.get("type") is not None)
    assert after["color"] == "Attention" and after["text"] == "Error: Choose a grade."
    assert inputs_of(card)["rationale"]["value"] == "Typed before the error"
    assert "1 answer needs your attention; it is explained under its field." in texts(card)


def test_a_graded_step_has_the_grade_definitions_one_tap_away():
    card = wizard_card(view("th_understanding_our_practice", "planning_and_impact"))

    shown = [n for n in walk(card["body"]) if n.get("type") == "Action.ShowCard"]
    assert [n["title"] for n in shown] == ["What the grades mean"]
    assert "serious failures" in texts(shown[0]["card"])
    assert [choice["title"] for choice in inputs_of(card)["grade"]["choices"]] == [
        "Outstanding",
        "Good",
        "Requires Improvement to be Good",
        "Inadequate",
    ]


def test_every_button_carries_the_audit_version_and_the_wizard_revision():
    card = wizard_card(view("col_practice_impact_review", "child_recommendations"))

    for title in ("Save and continue", "Back", "Save and stop", "Add another recommendation"):
        data = buttons(card)[title]["data"]
        assert data | {"step": "x"} == {"audit_id": 7, "version": 3, "rev": 2, "step": "x"}
    assert buttons(card)["Remove recommendation 1"]["data"]["row"] == 0


def test_the_first_step_has_no_back_button_and_the_summary_submits():
    first = wizard_card(view("col_practice_impact_review", "_conversation"))
    summary = wizard_card(view("col_practice_impact_review", "_summary"))

    assert "Back" not in buttons(first)
    assert [a["title"] for a in summary["actions"]] == [
        "Submit the audit",
        "Back",
        "Save and stop",
        *ESCALATIONS,
    ]
    assert "The completeness check finds nothing missing." in texts(summary)


def test_the_kloe_step_asks_about_each_kloe_of_the_cycle():
    card = wizard_card(view("th_understanding_our_practice", "key_lines_of_enquiry"))

    labels = [node["label"] for node in inputs_of(card).values()]
    assert labels == [
        "KLOE 1: Is the child's voice heard?",
        "KLOE 2: Does oversight prevent drift?",
    ]
    assert list(inputs_of(card)) == [kloe_field(1), kloe_field(2)]


def test_recommendation_rows_offer_the_owners_and_no_past_due_date():
    card = wizard_card(view("th_understanding_our_practice", "smart_recommendations", answers={}))

    assert choices(card, row_field(0, "owner")) == ["11", "12"]
    assert inputs_of(card)[row_field(0, "due")]["min"] == (TODAY + timedelta(days=1)).isoformat()


def test_limits_are_what_the_card_inputs_allow():
    card = wizard_card(view("th_understanding_our_practice", "family_feedback"))
    assert inputs_of(card)["child_family_said"]["maxLength"] == NOTE_LIMIT
    card = wizard_card(view("th_understanding_our_practice", "overall_grade"))
    assert inputs_of(card)["rationale"]["maxLength"] == TEXT_LIMIT
    card = wizard_card(view("th_understanding_our_practice", "key_lines_of_enquiry"))
    assert inputs_of(card)[kloe_field(1)]["maxLength"] == COMMENT_LIMIT
    card = wizard_card(view("th_understanding_our_practice", "smart_recommendations"))
    assert inputs_of(card)[row_field(0, "action")]["maxLength"] == ROW_LIMIT


def test_every_card_about_an_audit_offers_both_escalations():
    for card in (
        wizard_card(view("col_practice_impact_review", "_conversation")),
        stopped_card("EH-26-0001", 7, "Feedback"),
        returned_card("EH-26-0001", 7, "Alex Wilber", "Reasons", "Mon 14 Dec 2026", []),
    ):
        assert [a["title"] for a in card["actions"]][-2:] == list(ESCALATIONS)


def test_other_wizard_cards_are_teams_sized_and_labelled():
    reflection = ReflectionView(
        7,
        "EH-26-0001",
        "Adele Vance",
        "Practitioner's section",
        "Guidance",
        ("Connection?", "Curiosity?"),
        {"prompt_1": "é" * 4000},
        "Mon 7 Dec 2026",
        True,
    )
    check = CompletenessView(
        audit_id=7,
        version=4,
        case_ref="EH-26-0001",
        auditor="Adele Vance",
        practitioner="Isaiah Langer",
        grade="Good",
        submitted_on="Mon 7 Dec 2026",
        round=2,
        gaps=["gap " * 50] * 12,
        contacted=False,
        default_due="2026-12-14",
        earliest_due="2026-12-07",
    )
    built = [
        reflection_request_card(reflection),
        reflection_request_card(reflection, error="Write something in at least one box."),
        several_requests_card(["EH-26-0001", "EH-26-0002"]),
        completeness_card(check),
        completeness_card(dataclasses.replace(check, outcome="Accepted.")),
        returned_card("EH-26-0001", 7, "Alex Wilber", "r" * 2000, "Mon 14 Dec 2026", ["g"] * 5),
        stopped_card("EH-26-0001", 7, "Feedback"),
        submitted_card("EH-26-0001", "Good", 2, [], "Mon 7 Dec 2026"),
        closed_card("EH-26-0001", "submitted and waiting for moderation"),
    ]
    for card in built:
        assert card_problems(card) == []


def test_a_completeness_card_offers_invalidate_only_without_a_practitioner_conversation():
    check = dict(
        audit_id=7,
        version=4,
        case_ref="EH-26-0001",
        auditor="Adele Vance",
        practitioner="Isaiah Langer",
        grade="Good",
        submitted_on="Mon 7 Dec 2026",
        round=1,
        gaps=[],
        default_due="2026-12-14",
        earliest_due="2026-12-07",
    )
    contacted = completeness_card(CompletenessView(**check, contacted=True))
    not_contacted = completeness_card(CompletenessView(**check, contacted=False))

    titles = [a["title"] for a in contacted["actions"]]
    assert titles == ["Accept: send for moderation", "Return to the auditor", *ESCALATIONS]
    assert [a["title"] for a in not_contacted["actions"]][2] == "Invalidate"
    assert "nothing missing" in texts(contacted)


def test_press_data_merges_inputs_with_the_button():
    card = wizard_card(view("col_practice_impact_review", "journey_of_the_child"))
    data = press_data(card, "Save and continue", grade="good")
    assert data["grade"] == "good" and data["step"] == "journey_of_the_child"


def _reflection(**fields: Any) -> ReflectionView:
    defaults: dict[str, Any] = dict(
        audit_id=7,
        case_ref="EH-26-0001",
        auditor="Adele Vance",
        title="Practitioner's section: how I applied Better Together",
        guidance="Completed by the practitioner to show how they have applied the practice model.",
        prompts=(
            "Connection: how did you build a strong connection?",
            "Curiosity: how did you exercise curiosity?",
        ),
        answers={"prompt_1": "We met weekly and agreed the plan together."},
        saved_on="Mon 7 Dec 2026",
        can_change=True,
    )
    return ReflectionView(**{**defaults, **fields})


def _check(**fields: Any) -> CompletenessView:
    defaults: dict[str, Any] = dict(
        audit_id=7,
        version=4,
        case_ref="EH-26-0001",
        auditor="Adele Vance",
        practitioner="Isaiah Langer",
        grade="Requires Improvement to be Good",
        submitted_on="Mon 7 Dec 2026",
        round=1,
        gaps=[],
        contacted=True,
        default_due="2026-12-14",
        earliest_due="2026-12-07",
    )
    return CompletenessView(**{**defaults, **fields})


def _most(step_id: str, tool_id: str = "th_understanding_our_practice") -> WizardView:
    [step] = [s for tid, s in every_step() if tid == tool_id and s.id == step_id]
    errors = {
        f.id: "Choose a grade."
        for f in step_fields(step, {"rows": "8"}, kloe_count=2, owners=frozenset())
    }
    return view(
        tool_id,
        step_id,
        answers=fullest_answers(step, 2),
        errors=errors,
        gaps=[Gap(step_id, "Understanding the child and family: not graded.")] * 12,
    )


# For tests/render/gallery.py, as (name, builder, args, kwargs):
#     *(example(n, b, *a, **k) for n, b, a, k in WIZARD_GALLERY)
WIZARD_GALLERY: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = [
    (
        "wizard-conversation",
        wizard_card,
        (view("th_understanding_our_practice", "_conversation"),),
        {},
    ),
    (
        "wizard-checklist",
        wizard_card,
        (view("col_practice_impact_review", "practice_standards"),),
        {},
    ),
    (
        "wizard-graded",
        wizard_card,
        (view("col_practice_impact_review", "journey_of_the_child"),),
        {},
    ),
    ("wizard-graded-most", wizard_card, (_most("planning_and_impact"),), {}),
    (
        "wizard-kloes",
        wizard_card,
        (view("th_understanding_our_practice", "key_lines_of_enquiry"),),
        {},
    ),
    (
        "wizard-reflection",
        wizard_card,
        (view("th_understanding_our_practice", "practitioner_section", reflection=_reflection()),),
        {},
    ),
    ("wizard-feedback-most", wizard_card, (_most("feedback", "col_practice_impact_review"),), {}),
    ("wizard-narrative", wizard_card, (view("th_understanding_our_practice", "strengths"),), {}),
    ("wizard-overall-most", wizard_card, (_most("overall_grade"),), {}),
    ("wizard-recommendations-most", wizard_card, (_most("smart_recommendations"),), {}),
    ("wizard-summary", wizard_card, (_most("_summary"),), {}),
    ("wizard-stopped", stopped_card, ("EH-26-0001", 7, "Feedback"), {}),
    ("wizard-submitted", submitted_card, ("EH-26-0001", "Good", 2, [], "Mon 7 Dec 2026"), {}),
    ("wizard-closed", closed_card, ("EH-26-0001", "submitted and waiting for moderation"), {}),
    ("reflection-request", reflection_request_card, (_reflection(answers={}),), {}),
    ("reflection-saved", reflection_request_card, (_reflection(),), {"outcome": "Saved."}),
    ("reflection-closed", reflection_request_card, (_reflection(can_change=False),), {}),
    ("reflection-which", several_requests_card, (["EH-26-0001", "EH-26-0004"],), {}),
    ("completeness-check", completeness_card, (_check(),), {}),
    (
        "completeness-gaps-most",
        completeness_card,
        (
            _check(
                round=3,
                contacted=False,
                gaps=["No audit conversation with the practitioner is recorded."] * 12,
                error="Say why.",
            ),
        ),
        {},
    ),
    ("completeness-decided", completeness_card, (_check(outcome="Accepted by Alex Wilber."),), {}),
    (
        "completeness-returned",
        returned_card,
        ("EH-26-0001", 7, "Alex Wilber", "r" * 2000, "Mon 14 Dec 2026", ["KLOE 2 not addressed."]),
        {},
    ),
]


@pytest.mark.parametrize("entry", WIZARD_GALLERY, ids=lambda e: e[0])
def test_gallery_entries_build_cards_fit_to_send(entry):
    name, builder, args, kwargs = entry
    assert name.replace("-", "").isalnum() and name.islower()
    assert card_problems(builder(*args, **kwargs)) == []


def test_the_gallery_entries_cover_every_card_this_flow_builds():
    import cards.completeness
    import cards.practitioner
    import cards.wizard

    built = {
        value
        for module in (cards.completeness, cards.practitioner, cards.wizard)
        for name, value in vars(module).items()
        if name.endswith("_card") and getattr(value, "__module__", "") == module.__name__
    }
    assert built == {builder for _, builder, _, _ in WIZARD_GALLERY}


def test_an_unwritten_practitioner_section_says_when_they_were_asked():
    """Asked at allocation (or, for audits allocated earlier, at the start): say which day."""
    unwritten = _reflection(answers={}, saved_on=None, asked_on="Thu 3 Dec 2026")
    card = wizard_card(
        view("th_understanding_our_practice", "practitioner_section", reflection=unwritten)
    )

    assert "I asked them on Thu 3 Dec 2026" in texts(card)
    assert "when you started" not in texts(card)
