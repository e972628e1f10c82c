"""A run of failures of something polled (the outbox sender, a scheduled job): when to try
again, and what to log.

A loop that polls the database every second would, when the database is gone or damaged,
log a traceback every second: thousands of lines that bury the first one, the one that
says what is wrong. With an `Outage`, the loop backs off (doubling up to `longest`) and
logs the first failure with its traceback, then one line at most every `remind_every`
seconds while it lasts, and one line when it ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass
class Outage:
    """What one polling loop knows of its current run of failures. `name` says which loop
    in the log; times are the loop's own monotonic seconds."""

    name: str
    first_wait: float = 1.0
    longest: float = 60.0
    remind_every: float = 300.0
    failures: int = 0
    _started: float = 0.0
    _reminded: float = 0.0

    def failed(self, now: float, log: logging.Logger) -> float:
        """Record a failure (call from an `except` block); the seconds to wait before trying
        again."""
        self.failures += 1
        if self.failures == 1:
            self._started = self._reminded = now
            log.exception("%s failed; backing off while it keeps failing", self.name)
        elif now - self._reminded >= self.remind_every:
            self._reminded = now
            log.error(
                "%s still failing: %d failures in %.0f s (the first is logged above)",
                self.name,
                self.failures,
                now - self._started,
            )
        return min(self.longest, self.first_wait * 2 ** (self.failures - 1))

    def succeeded(self, now: float, log: logging.Logger) -> None:
        """Record a success, ending the outage if there was one."""
        if self.failures:
            log.warning(
                "%s works again after %d failures in %.0f s",
                self.name,
                self.failures,
                now - self._started,
            )
        self.failures = 0

    @property
    def ongoing(self) -> bool:
        return self.failures > 0
