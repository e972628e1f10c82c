"""The chat commands' cards: valid 1.5 structure, labelled inputs, colour never alone, small."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from cards.cycle_status import CycleSummary, OverdueAudit, Unreachable, cycle_status_card
from cards.dates import day_label, due_text
from cards.my_actions import ActionItem, my_actions_card
from cards.my_audits import AuditTask, my_audits_card, not_in_staff_list_card
from cards.status import (
    AuditStatus,
    DueDate,
    audit_not_found_card,
    bad_reference_card,
    status_card,
)
from dialogs.commands import help_for

TODAY = date(2026, 12, 2)
MAX_BYTES = 80_000

# What Adaptive Cards 1.5 defines, for the elements these cards use.
ELEMENTS = {
    "TextBlock",
    "RichTextBlock",
    "Image",
    "Container",
    "ColumnSet",
    "Column",
    "FactSet",
    "ImageSet",
    "ActionSet",
    "Table",
    "TableRow",
    "TableCell",
}
INPUTS = {
    "Input.Text",
    "Input.Number",
    "Input.Date",
    "Input.Time",
    "Input.Toggle",
    "Input.ChoiceSet",
}
ENUMS = {
    "size": {"Small", "Default", "Medium", "Large", "ExtraLarge"},
    "weight": {"Lighter", "Default", "Bolder"},
    "color": {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"},
    "spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
}
# A colour other than the default must sit on text that says the same thing in words.
MEANING_WORDS = ("Overdue",)


def assert_valid_card(card: dict[str, Any]) -> None:
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card.get("fallbackText")
    assert isinstance(card["body"], list) and card["body"]
    for element in card["body"]:
        _check_element(element)
    assert len(json.dumps(card).encode()) < MAX_BYTES


def _check_element(element: dict[str, Any]) -> None:
    kind = element["type"]
    assert kind in ELEMENTS | INPUTS, f"{kind} is not an Adaptive Cards 1.5 element"
    if kind in INPUTS:
        assert element.get("label"), f"{kind} {element.get('id')} has no label"
    for key, allowed in ENUMS.items():
        if key in element:
            assert element[key] in allowed, f"{kind}.{key} = {element[key]}"
    if kind == "TextBlock":
        assert isinstance(element["text"], str) and element["text"]
        assert element.get("wrap") is True, "text must wrap on narrow (mobile) screens"
    if element.get("color") not in (None, "Default"):
        assert kind == "TextBlock" and any(word in element["text"] for word in MEANING_WORDS), (
            f"colour without words: {element}"
        )
    assert element.get("style") in (None, "default", "heading", "emphasis")
    if kind == "FactSet":
        for fact in element["facts"]:
            assert isinstance(fact["title"], str) and isinstance(fact["value"], str)
    for child in element.get("items", []) + element.get("columns", []):
        _check_element(child)


def task(n: int, overdue: bool = False) -> AuditTask:
    due = TODAY + timedelta(days=-3 if overdue else n)
    return AuditTask(f"CSC-26-{n:04d}", "Auditor: start the audit", "in progress", due, overdue)


def action(n: int, text: str = "Hold fortnightly supervision and record it.") -> ActionItem:
    return ActionItem(
        f"EH-26-{n:04d}", text, "Child-level", "open", TODAY + timedelta(days=n), False
    )


def status(n: int) -> AuditStatus:
    return AuditStatus(
        case_ref="CSC-26-0001",
        cycle_title=f"Cycle {n}",
        cycle_open=n == 0,
        state="submitted and waiting for moderation",
        team="Child Protection",
        practitioner="Hannah Cohen",
        auditor="Megan Bowen",
        moderator=None,
        due_dates=[DueDate("Audit due", TODAY, False), DueDate("Moderation due", TODAY, True)],
        grades=[("Auditor's grade", "Good")],
    )


def cycle(n: int, overdue: int, unreachable: int) -> CycleSummary:
    return CycleSummary(
        title=f"Children's Social Care audits, cycle {n}",
        service="Children's Social Care",
        total=overdue + 10,
        counts=[("allocated and not yet started", 10), ("in progress", overdue)],
        moderation_due_on=date(2026, 12, 31),
        overdue=[
            OverdueAudit(f"CSC-26-{i:05d}", "audit", TODAY, "auditor Oluwaseun Bello-Fitzgerald")
            for i in range(overdue)
        ],
        unreachable=[
            Unreachable(f"Person Withaverylongname {i}", "has not installed auditbot in Teams")
            for i in range(unreachable)
        ],
    )


EVERY_CARD = {
    "my audits": my_audits_card([task(1), task(2, overdue=True)], today=TODAY),
    "my audits, nothing to do": my_audits_card([], today=TODAY),
    "my actions": my_actions_card([action(1), action(2)], today=TODAY),
    "my actions, none": my_actions_card([], today=TODAY),
    "status": status_card([status(0), status(1)], today=TODAY),
    "status, not found": audit_not_found_card(),
    "status, no reference": bad_reference_card(missing=True),
    "status, bad reference": bad_reference_card(missing=False),
    "cycle status": cycle_status_card([cycle(1, 3, 2)], today=TODAY),
    "cycle status, no cycles": cycle_status_card([], today=TODAY),
    "not in the staff list": not_in_staff_list_card(),
    "help": help_for([]),
}


@pytest.mark.parametrize("name", EVERY_CARD)
def test_every_command_card_is_a_valid_accessible_1_5_card(name: str):
    assert_valid_card(EVERY_CARD[name])


def test_the_largest_possible_cards_stay_under_80_kb():
    long_action = "Make sure the child's plan is reviewed with the family. " * 200
    huge = {
        "my audits": my_audits_card([task(n, n % 2 == 0) for n in range(2000)], today=TODAY),
        "my actions": my_actions_card([action(n, long_action) for n in range(2000)], today=TODAY),
        "status": status_card([status(n) for n in range(50)], today=TODAY),
        "cycle status": cycle_status_card(
            [cycle(n, overdue=500, unreachable=300) for n in range(30)], today=TODAY
        ),
    }
    for name, card in huge.items():
        size = len(json.dumps(card).encode())
        assert size < MAX_BYTES, f"{name} is {size} bytes"
        assert_valid_card(card)


def test_an_overdue_item_says_overdue_in_words_and_in_colour():
    card = my_audits_card([task(1, overdue=True)], today=TODAY)
    [item] = [element for element in card["body"] if element["type"] == "Container"]
    due = item["items"][-1]

    assert due["text"] == "Overdue: was due Sun 29 Nov"
    assert due["color"] == "Attention"


def test_the_lists_say_how_many_are_overdue():
    tasks = [task(1), task(2, overdue=True), task(3, overdue=True)]
    text = json.dumps(my_audits_card(tasks, today=TODAY))

    assert "3 things for you, 2 of them overdue, soonest due first." in text


def test_a_long_list_is_cut_and_says_how_many_more():
    text = json.dumps(my_audits_card([task(n) for n in range(45)], today=TODAY))

    assert "And 5 more, due later." in text
    assert "CSC-26-0044" not in text


def test_a_very_long_action_is_shortened():
    card = my_actions_card([action(1, "x" * 5000)], today=TODAY)

    assert "x" * 599 + "…" in json.dumps(card, ensure_ascii=False)


def test_cycle_status_lists_at_most_25_overdue_audits_and_counts_the_rest():
    text = json.dumps(cycle_status_card([cycle(1, overdue=30, unreachable=0)], today=TODAY))

    assert "Overdue: 30 audits" in text
    assert "And 5 more." in text


def test_days_read_as_people_say_them_with_the_year_only_when_it_differs():
    assert day_label(date(2026, 11, 30), TODAY) == "Mon 30 Nov"
    assert day_label(date(2027, 1, 4), TODAY) == "Mon 4 Jan 2027"
    assert due_text(None, False, TODAY) == "No due date"
    assert due_text(date(2026, 12, 7), False, TODAY) == "Due Mon 7 Dec"
