"""What the UoPP booking needs from a calendar, whichever calendar it is.

Two implementations: Microsoft Graph (`bot/graph.py`, msgraph-sdk with
azure-identity) when a tenant is configured, and auditbot's own local
calendar (meetings it has already booked, in its database) otherwise. The
booking flow in `dialogs/` only ever sees this protocol, so it never imports
an SDK and can be tested with either.

People are addressed by email (Graph's `scheduleId` and attendee address).
Calendars raise `CalendarUnavailable` when they fail after their own retries;
the reason is safe to show to the Audit Team (no case details are ever sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from workflow.availability import Schedule


class CalendarUnavailable(Exception):
    """The calendar could not be reached or refused, after retries."""


@dataclass(frozen=True)
class NewEvent:
    """An event to create in the organiser's calendar.

    `transaction_id` makes creation idempotent (Graph's event transactionId):
    creating the same event twice after a crash returns the first one.
    """

    organiser_email: str
    attendee_emails: tuple[str, ...]
    subject: str
    body_html: str
    start: datetime
    end: datetime
    transaction_id: str
    online_meeting: bool = True


@dataclass(frozen=True)
class BookedEvent:
    event_id: str
    join_url: str | None


class Calendar(Protocol):
    """A calendar auditbot can book UoPP meetings in."""

    name: str  # "graph" or "local", for messages and the audit trail

    async def schedules(
        self, organiser_email: str, emails: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[str, Schedule]:
        """Free/busy and working hours of everyone in `emails`, in one request."""
        ...

    async def create_event(self, event: NewEvent) -> BookedEvent: ...

    async def responses(self, organiser_email: str, event_id: str) -> dict[str, str]:
        """Each attendee's response by email: none, accepted, tentativelyAccepted,
        declined, notResponded (Graph's responseStatus.response)."""
        ...

    async def cancel(self, organiser_email: str, event_id: str) -> None: ...
