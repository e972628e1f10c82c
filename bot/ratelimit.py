"""Keeping under Teams' rate limits, and the clock the sender runs on.

Teams limits a bot per conversation (7 messages a second, 8 in 2 s, 60 in
30 s, 1800 an hour) and per app across the tenant (50 requests a second).
Each limit is a sliding window "at most N in any T seconds": a new request
may go once the N-th most recent request to the same key is T seconds old.
Keeping the last max(N) requests per key answers every window at once, with
no timers: `earliest` says when the next request may go and the sender
sleeps until then.

Teams counts a request when it arrives, and we cannot see that moment. We
know two others: when a request left (its `Ticket.start`) and when its answer
came back (`Ticket.end`). By causality the old request arrived before its
answer came back, and the new one arrives after it leaves, so spacing the
new start at least T after the old *end* keeps Teams' own count within the
window, however long the request sat in a thread or on the network. A
request still under way counts as ending `pending` seconds after it started
(its timeout) until it does end. `margin` adds a fixed allowance on top; it
is zero unless Teams' counting turns out coarser than this.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Ticket:
    """One request's times: when it left, and (once known) when its answer came back."""

    __slots__ = ("start", "end")

    def __init__(self, start: float, end: float | None = None) -> None:
        self.start = start
        self.end = end

    def done(self, at: float) -> None:
        if self.end is None:
            self.end = max(at, self.start)


@dataclass(frozen=True)
class Window:
    """At most `count` requests in any `seconds`."""

    count: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


def parse_windows(text: str) -> tuple[Window, ...]:
    """Windows from "7/1,8/2,60/30,1800/3600" (count/seconds, comma-separated).

    Raises ValueError with a reason a person can act on.
    """
    windows = []
    for part in text.split(","):
        count, slash, seconds = part.strip().partition("/")
        try:
            window = Window(int(count), float(seconds))
        except ValueError:
            raise ValueError(
                f"{part.strip()!r} is not COUNT/SECONDS, e.g. 7/1,8/2,60/30,1800/3600"
            ) from None
        if not slash or window.count < 1 or window.seconds <= 0:
            raise ValueError(f"{part.strip()!r} needs a positive count and seconds")
        windows.append(window)
    return tuple(windows)


class SlidingWindows:
    """The requests of one key (a conversation, or the whole app) under its windows."""

    def __init__(
        self, windows: Sequence[Window], margin: float = 0.0, pending: float = 30.0
    ) -> None:
        if not windows:
            raise ValueError("at least one window is needed")
        self.windows = tuple(windows)
        self.margin = margin
        self.pending = pending
        self._tickets: deque[Ticket] = deque(maxlen=max(w.count for w in self.windows))
        self.held_until = float("-inf")

    def earliest(self, now: float) -> float:
        """The first time at or after now when one more request keeps every window."""
        return self._earliest(self._tickets, now)

    def record(self, ticket: Ticket) -> Ticket:
        """A request left at ticket.start (starts must not go backwards)."""
        self._tickets.append(ticket)
        return ticket

    def projected(self, now: float, ahead: int) -> float:
        """When a request could go if `ahead` others to this key go first, each at its earliest."""
        if ahead <= 0:
            return self.earliest(now)
        tickets = deque(self._tickets, maxlen=self._tickets.maxlen)
        at = now
        for _ in range(ahead + 1):
            at = self._earliest(tickets, at)
            tickets.append(Ticket(at, at))
        return at

    def idle_since(self, now: float) -> bool:
        """True when no window still holds a request (the key can be forgotten)."""
        longest = max(w.seconds for w in self.windows) + self.margin
        recent = self._tickets and self._counted_until(self._tickets[-1]) > now - longest
        return not recent and self.held_until <= now

    def _earliest(self, tickets: deque[Ticket], now: float) -> float:
        at = max(now, self.held_until)
        for window in self.windows:
            if len(tickets) >= window.count:
                oldest = self._counted_until(tickets[-window.count])
                at = max(at, oldest + window.seconds + self.margin)
        return at

    def _counted_until(self, ticket: Ticket) -> float:
        return ticket.end if ticket.end is not None else ticket.start + self.pending


class RateLimiter:
    """The app-wide windows plus one set of windows per conversation key."""

    def __init__(
        self,
        app_windows: Sequence[Window],
        conversation_windows: Sequence[Window],
        *,
        margin: float = 0.0,
        pending: float = 30.0,
    ) -> None:
        self._app = SlidingWindows(app_windows, margin, pending)
        self._conversation_windows = tuple(conversation_windows)
        self._margin = margin
        self._pending = pending
        self._conversations: dict[str, SlidingWindows] = {}

    def earliest(self, conversation: str | None, now: float) -> float:
        """When a request to `conversation` may go (None: app-wide only, e.g. creating one)."""
        at = self._app.earliest(now)
        if conversation is not None and conversation in self._conversations:
            at = max(at, self._conversations[conversation].earliest(now))
        return at

    def conversation_ready_at(self, conversation: str, now: float, ahead: int = 0) -> float:
        """When the conversation's own windows allow a request, with `ahead` queued before it."""
        windows = self._conversations.get(conversation)
        if windows is None:
            windows = SlidingWindows(self._conversation_windows, self._margin, self._pending)
        return windows.projected(now, ahead)

    def record(self, conversation: str | None, at: float) -> Ticket:
        """A request leaves now; call `done` on the ticket when its answer comes back."""
        ticket = self._app.record(Ticket(at))
        if conversation is not None:
            self._windows(conversation).record(ticket)
        return ticket

    def remember(self, conversation: str | None, at: float) -> None:
        """A request that left at `at` (in the past) under another sender: it counts in the
        windows as if sent here. Call in time order, before any request of our own."""
        ticket = self._app.record(Ticket(at, at))
        if conversation is not None:
            self._windows(conversation).record(ticket)

    @property
    def longest_window(self) -> float:
        """The longest any window remembers a request, app-wide or per conversation."""
        return max(w.seconds for w in (*self._app.windows, *self._conversation_windows))

    def hold(self, conversation: str, until: float) -> None:
        """Send nothing more to the conversation before `until` (Teams said Retry-After)."""
        windows = self._windows(conversation)
        windows.held_until = max(windows.held_until, until)

    def busy_conversations(self, now: float, horizon: float, queued: dict[str, int]) -> set[str]:
        """Conversations that cannot take one more request before now + horizon."""
        keys: Iterable[str] = set(self._conversations) | set(queued)
        return {
            key
            for key in keys
            if self.conversation_ready_at(key, now, queued.get(key, 0)) > now + horizon
        }

    def forget_idle(self, now: float) -> None:
        """Drop conversations no window remembers, so memory follows activity, not history."""
        for key in [k for k, w in self._conversations.items() if w.idle_since(now)]:
            del self._conversations[key]

    def _windows(self, conversation: str) -> SlidingWindows:
        windows = self._conversations.get(conversation)
        if windows is None:
            windows = SlidingWindows(self._conversation_windows, self._margin, self._pending)
            self._conversations[conversation] = windows
        return windows


class Clock(Protocol):
    """Time for the sender: a monotonic reading for limits, wall time for the database,
    and a way to wait for either a deadline or a wake-up."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Return when `event` is set or `seconds` have passed, whichever is first."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass


class ManualClock:
    """A clock that moves only when told to (tests): `advance` wakes whoever waits past it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._elapsed = 0.0
        self._moved = asyncio.Event()
        self._waiters: dict[int, tuple[float, asyncio.Event]] = {}

    @property
    def waiting(self) -> int:
        """How many callers wait for time to pass: inside `wait`, their deadline ahead and
        their event not set (a caller woken but not yet resumed is not counted)."""
        return sum(
            1
            for deadline, event in self._waiters.values()
            if deadline > self._elapsed and not event.is_set()
        )

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        self._elapsed += seconds
        self._moved.set()
        self._moved = asyncio.Event()

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        key = id(asyncio.current_task())
        self._waiters[key] = (self._elapsed + seconds, event)
        try:
            await self._wait(event, seconds)
        finally:
            del self._waiters[key]

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        deadline = self._elapsed + seconds
        while not event.is_set() and self._elapsed < deadline:
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(event.wait())
            try:
                await asyncio.wait({moved, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                moved.cancel()
                woken.cancel()
