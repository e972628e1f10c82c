"""What free text people type may hold before auditbot keeps or shows it.

Everything a person types (a card's inputs, a chat message, a CSV cell, a
command-line value) passes through `clean_text` before it is used, so one
rule covers every field:

- Unicode's bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E,
  U+200F, U+061C) are removed. They are invisible and reorder what follows
  them, so a card, a tracking sheet or a board report could show something
  other than what was typed ("Trojan Source"). Nobody needs them to write
  English, and right-to-left scripts display correctly without them.
- U+0000 is removed: PostgreSQL cannot store it, and no person types it.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNWANTED = re.compile(f"[\x00{BIDI_CONTROLS}]")


def clean_text(value: str) -> str:
    """The text without bidirectional controls and NUL characters, stripped of surrounding
    whitespace."""
    return _UNWANTED.sub("", value).strip()


def has_unwanted_characters(value: str) -> bool:
    """Whether `clean_text` would remove anything from inside the text."""
    return _UNWANTED.search(value) is not None
