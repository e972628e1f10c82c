"""What every card must be before Teams sees it, checked on the card JSON itself.

These need no browser: Teams' limits (schema 1.5, under 80 KB) and the
accessibility duties DESIGN.md sets (every input labelled, every image
described, colour never the only carrier of meaning), and no input that
Teams may refuse to send without saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

TEAMS_VERSION = "1.5"
MAX_CARD_BYTES = 80 * 1024
# Colours and styles that say something (good, warning, bad, highlighted); "default",
# "dark", "light", "emphasis" and "positive" buttons with a title are not meaning.
MEANINGFUL_COLOURS = {"good", "warning", "attention", "accent"}
MEANINGFUL_STYLES = {"good", "warning", "attention", "accent", "destructive"}
A_WORD = re.compile(r"[^\W\d_]{2,}")


def card_bytes(card: dict[str, Any]) -> int:
    """The card's size as it travels: JSON with non-ASCII escaped, the larger encoding."""
    return len(json.dumps(card).encode("utf-8"))


def nodes(value: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in the card, nested show-cards included, with a JSON path to it."""
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from nodes(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from nodes(child, f"{path}[{index}]")


def words_in(node: dict[str, Any]) -> bool:
    """Whether the element, or anything inside it, says something in words."""
    for _, inner in nodes(node):
        for key in ("text", "title", "value", "altText"):
            text = inner.get(key)
            if isinstance(text, str) and A_WORD.search(text):
                return True
    return False


def card_problems(card: dict[str, Any]) -> list[str]:
    """Everything wrong with `card`, in words; empty when it is fit to send."""
    problems = []
    if card.get("type") != "AdaptiveCard":
        problems.append(f"$: type is {card.get('type')!r}, not 'AdaptiveCard'")
    if card.get("version") != TEAMS_VERSION:
        problems.append(f"$: version is {card.get('version')!r}; Teams renders {TEAMS_VERSION}")
    size = card_bytes(card)
    if size >= MAX_CARD_BYTES:
        problems.append(f"$: {size} bytes; cards must stay under {MAX_CARD_BYTES}")
    for path, node in nodes(card):
        kind = node.get("type")
        if not isinstance(kind, str):
            continue
        if path != "$" and kind == "AdaptiveCard" and node.get("version") not in (None, "1.5"):
            problems.append(f"{path}: nested card version {node.get('version')!r}")
        if kind.startswith("Input.") and not _has_text(node.get("label")):
            problems.append(f"{path}: {kind} {node.get('id')!r} has no label")
        if _refused_silently(node):
            problems.append(
                f"{path}: {kind} {node.get('id')!r} can be refused by Teams (required, a "
                "bound or a pattern) but has no errorMessage to say why"
            )
        if kind == "Image" and not _has_text(node.get("altText")):
            problems.append(f"{path}: image has no altText")
        colour = str(node.get("color", "")).lower()
        if colour in MEANINGFUL_COLOURS and not words_in(node):
            problems.append(f"{path}: {kind} is coloured {colour} without words saying why")
        style = str(node.get("style", "")).lower()
        if style in MEANINGFUL_STYLES and not words_in(node):
            problems.append(f"{path}: {kind} is styled {style} without words saying why")
    return problems


def execute_verbs(card: dict[str, Any]) -> set[str]:
    """The verbs of every Action.Execute in the card, show-card forms included."""
    return {
        str(node.get("verb")) for _, node in nodes(card) if node.get("type") == "Action.Execute"
    }


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _refused_silently(node: dict[str, Any]) -> bool:
    """An input the client checks before sending (required, min/max, a pattern) and, when the
    check fails, shows nothing but its errorMessage: without one the button seems dead."""
    if not str(node.get("type", "")).startswith("Input."):
        return False
    checked = node.get("isRequired") or any(
        node.get(key) not in (None, "") for key in ("min", "max", "regex")
    )
    return bool(checked) and not _has_text(node.get("errorMessage"))
