"""Bugs the fuzz found in the flows, not yet fixed (they are not in this package's code).

Each is pinned by an xfail(strict=True) test in test_known_bugs.py, which
starts failing the day the bug is fixed: then delete the test and its entry
here. Until then the property tests let exactly these presses through, so
they can go on finding other bugs.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from tests.fuzz.strategies import Press
from tests.fuzz.world import World

LEAVERS_ACT = (
    "card actions accept people deactivated in the staff list: on_card_action never checks "
    "Staff.active, and the guards use auditor_id or roles_of, which ignore it"
)
ANY_MONTH = (
    "cycle.propose accepts any month that parses (1999-01, 0001-01, 9999-12, this month), "
    "not only the months the form offers"
)
INFINITE_CASES = (
    "cycle.propose raises OverflowError for cases 'inf' or '1e400' (int(float(...)) is only "
    "guarded against ValueError), which escapes the card action as a server error"
)


def known_bug(world: World, verb: str, press: Press) -> str | None:
    """Which known bug, if any, explains this press being accepted or raising."""
    if press.by_leaver:
        return LEAVERS_ACT
    if verb == "cycle.propose" and press.named:
        if _infinite(press.data.get("cases")):
            return INFINITE_CASES
        if _month_not_offered(world, press.data.get("month")):
            return ANY_MONTH
    return None


def _infinite(value: Any) -> bool:
    try:
        return isinstance(value, str) and math.isinf(float(value))
    except ValueError:
        return False


def _month_not_offered(world: World, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        year, month = (int(part) for part in value.split("-"))
        date(year, month, 1)
    except ValueError:
        return False
    return f"{year:04d}-{month:02d}" not in world.offered_months
