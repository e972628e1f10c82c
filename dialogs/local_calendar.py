"""auditbot's own calendar, for when Microsoft Graph is not configured (the demo, or a
council not yet consented).

Busy times are the UoPP meetings auditbot has already booked (or chosen a
time for) with those people; everyone works the programme's hours. Creating
an event stores nothing anywhere else: the meeting row is the event, and its
id is derived from the transaction id, so creating twice gives the same id.
Responses are what attendees told auditbot (`meeting_attendees.response`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialogs.calendar_port import BookedEvent, NewEvent
from storage import repositories as repo
from workflow.availability import Busy, Schedule
from workflow.calendar import WorkingCalendar
from workflow.rules import ProgrammeRules
from workflow.uopp import programme_hours


class LocalCalendar:
    """The Calendar contract over auditbot's own database."""

    name = "local"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], rules: ProgrammeRules) -> None:
        self._sessions = sessions
        self._hours = programme_hours(WorkingCalendar.from_rules(rules))

    async def schedules(
        self, organiser_email: str, emails: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[str, Schedule]:
        async with self._sessions() as session:
            rows = await repo.busy_times_by_email(session, emails, start, end)
        busy: dict[str, list[Busy]] = defaultdict(list)
        for email, starts, ends in rows:
            busy[email.lower()].append(Busy(starts, ends))
        return {
            email: Schedule(email, tuple(busy.get(email.lower(), ())), self._hours)
            for email in emails
        }

    async def create_event(self, event: NewEvent) -> BookedEvent:
        return BookedEvent(event_id=f"local-{event.transaction_id}", join_url=None)

    async def responses(self, organiser_email: str, event_id: str) -> dict[str, str]:
        async with self._sessions() as session:
            return await repo.responses_for_event(session, event_id)

    async def cancel(self, organiser_email: str, event_id: str) -> None:
        """Nothing to do: a replaced meeting no longer holds the event, so it is not busy."""
