"""Bugs the fuzz found in the flows, not yet fixed (they are not in this package's code).

Each is pinned by an xfail(strict=True) test in test_known_bugs.py, which
starts failing the day the bug is fixed: then delete the test and its entry
here. Until then the property tests let exactly these presses through, so
they can go on finding other bugs.
"""

from __future__ import annotations

from tests.fuzz.strategies import Press
from tests.fuzz.world import World


def known_bug(world: World, verb: str, press: Press) -> str | None:
    """Which known bug, if any, explains this press being accepted or raising. None are
    known now: the ones found so far are fixed and pinned in test_known_bugs.py."""
    return None
