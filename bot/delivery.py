"""What one send is: which outbox rows go together, what Teams receives, what a failure means.

Pure decisions, no I/O except `queue_undelivered_notices`, which writes the
Audit Team's outbox rows in the caller's transaction.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import Activity, AttachmentLayoutTypes
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connector import ConnectorError
from dialogs.access import AUDIT_TEAM_ROLES
from dialogs.notify import tell
from storage.models import OutboxMessage, Staff
from storage.repositories.people import list_services, list_staff_with_role, roles_of

# Teams shows a list of cards well; more than this in one message is hard to read,
# and a bot message must stay under about 100 KB (DESIGN.md: keep under 80 KB).
MAX_CARDS_PER_MESSAGE = 10
MAX_MESSAGE_BYTES = 80_000
UNDELIVERED_KIND = "undelivered"
SUMMARY_LINE_CHARS = 300


@dataclass(frozen=True)
class Row:
    """What the sender needs of a claimed outbox row (read once, then no ORM objects around)."""

    id: int
    recipient_id: int | None
    conversation_key: str | None
    kind: str
    payload: dict[str, Any]
    attempts: int
    claimed_at: datetime
    claim: str  # this claim of the row (claimed_by): outcomes are recorded against it

    @classmethod
    def of(cls, message: OutboxMessage) -> Row:
        assert message.claimed_at is not None and message.claimed_by is not None
        return cls(
            message.id,
            message.recipient_id,
            message.conversation_key,
            message.kind,
            dict(message.payload or {}),
            message.attempts,
            message.claimed_at,
            message.claimed_by,
        )

    @property
    def summary(self) -> str:
        return str(self.payload.get("summary") or self.kind)

    @property
    def bundle(self) -> str | None:
        bundle = self.payload.get("bundle")
        return str(bundle) if bundle else None

    def size(self) -> int:
        content = {"text": self.payload.get("text"), "card": self.payload.get("card")}
        return len(json.dumps(content, separators=(",", ":")))


@dataclass
class Delivery:
    """Rows that go to one conversation as one message."""

    key: str
    rows: list[Row] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    @property
    def first(self) -> Row:
        return self.rows[0]

    @property
    def attempts(self) -> int:
        return max(row.attempts for row in self.rows)

    @property
    def claimed_at(self) -> datetime:
        return min(row.claimed_at for row in self.rows)

    @property
    def claim(self) -> str:
        """The claim its rows were taken under (deliveries are made from one claimed batch)."""
        return self.first.claim


def conversation_key(row: Row) -> str:
    """The rate-limit key: a person's 1:1 chat, or a named conversation."""
    return limit_key(row.recipient_id, row.conversation_key)


def limit_key(recipient_id: int | None, conversation: str | None) -> str:
    """The rate-limit key of a message to this person, or else to this named conversation."""
    if recipient_id is not None:
        return f"staff:{recipient_id}"
    return f"conversation:{conversation}"


def group_into_deliveries(rows: Sequence[Row]) -> list[Delivery]:
    """One delivery per row, except rows to one person sharing a bundle key, which go together.

    A bundle takes the place of its oldest row in the order, and is split when
    it would pass MAX_CARDS_PER_MESSAGE cards or MAX_MESSAGE_BYTES.
    """
    deliveries: list[Delivery] = []
    open_bundles: dict[tuple[str, str], tuple[Delivery, int]] = {}
    for row in rows:
        key = conversation_key(row)
        if row.bundle is None:
            deliveries.append(Delivery(key, [row]))
            continue
        current = open_bundles.get((key, row.bundle))
        if current is not None:
            delivery, size = current
            fits = size + row.size() <= MAX_MESSAGE_BYTES
            if len(delivery.rows) < MAX_CARDS_PER_MESSAGE and fits:
                delivery.rows.append(row)
                open_bundles[(key, row.bundle)] = (delivery, size + row.size())
                continue
        delivery = Delivery(key, [row])
        deliveries.append(delivery)
        open_bundles[(key, row.bundle)] = (delivery, row.size())
    return deliveries


def build_activity(rows: Sequence[Row]) -> Activity:
    """The message Teams receives: one row as it was queued; a bundle as one list of cards.

    A bundle's text is one line built from the summaries (case references only,
    as summaries are), followed by the text of any row that has no card.
    """
    if len(rows) == 1:
        payload = rows[0].payload
        card, text = payload.get("card"), payload.get("text")
        if card:
            activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
            if text:
                activity.text = text
        else:
            activity = MessageFactory.text(text or rows[0].summary)
        activity.summary = rows[0].summary
        return activity
    cards = [row.payload["card"] for row in rows if row.payload.get("card")]
    texts = [str(row.payload["text"]) for row in rows if not row.payload.get("card")]
    line = summary_line(rows)
    text = "\n\n".join([line, *texts]) if texts else line
    if cards:
        activity = MessageFactory.list([CardFactory.adaptive_card(card) for card in cards], text)
        activity.attachment_layout = AttachmentLayoutTypes.list
    else:
        activity = MessageFactory.text(text)
    activity.summary = line
    return activity


def summary_line(rows: Sequence[Row]) -> str:
    line = f"{len(rows)} updates: " + "; ".join(row.summary for row in rows)
    if len(line) > SUMMARY_LINE_CHARS:
        line = line[: SUMMARY_LINE_CHARS - 1].rstrip() + "…"
    return line


class Verdict(StrEnum):
    RETRY = "retry"  # throttled or a passing server error: try again later
    FAILED = "failed"  # Teams refused it for good; do not try again
    UNREACHABLE = "unreachable"  # the person cannot be messaged (app missing, bot blocked)
    CONVERSATION_GONE = "conversation_gone"  # the stored chat no longer exists: create it again


RETRYABLE_STATUSES = frozenset({412, 429, 500, 502, 503, 504})
BLOCKED_CODES = frozenset({"MessageWritesBlocked", "ConversationBlockedByUser"})

# Why someone could not be reached, in words the Audit Team can act on.
UNREACHABLE_REASONS = {
    "left": "they have left (retired in auditbot)",
    "blocked": "they have blocked auditbot in Teams",
    "not_installed": "auditbot is not installed for them in Teams",
    "disabled": "your Teams administrator has disabled auditbot",
    "no_tenant": "they have never opened auditbot in Teams, and it cannot open a chat with "
    "them because AUDITBOT_TENANT_ID is not set",
}


def judge(error: ConnectorError, *, creating: bool) -> tuple[Verdict, str | None]:
    """What to do about a failed call, and for UNREACHABLE which reason (a key of the table above).

    Teams answers 403 BotNotInConversationRoster when the app is not installed
    for the user (creating the chat, or sending to one the user removed), 403
    with MessageWritesBlocked (as code or subCode) or ConversationBlockedByUser
    when the user blocked the bot, and 404 ConversationNotFound for a chat that
    no longer exists.
    """
    codes = {error.code, error.sub_code}
    if error.status is None or error.status in RETRYABLE_STATUSES:
        return Verdict.RETRY, None
    if error.status == 403 and codes & BLOCKED_CODES:
        return Verdict.UNREACHABLE, "blocked"
    if error.status == 403 and "BotDisabledByAdmin" in codes:
        return Verdict.UNREACHABLE, "disabled"
    if error.status == 403 and "BotNotInConversationRoster" in codes:
        return Verdict.UNREACHABLE, "not_installed"
    if error.status == 404:
        if creating:
            return Verdict.UNREACHABLE, "not_installed"
        return Verdict.CONVERSATION_GONE, None
    return Verdict.FAILED, None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter; Retry-After wins when given."""

    max_attempts: int = 6
    base_seconds: float = 2.0
    max_seconds: float = 600.0

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds before the next try after `attempts` tries, or None when they are used up."""
        if attempts >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after + rng.uniform(0, min(1.0, 0.1 + retry_after * 0.1))
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


async def queue_undelivered_notices(
    session: AsyncSession,
    row: Row,
    person: Staff | None,
    problem: str,
) -> int:
    """Tell the Audit Team that a message did not reach someone, and why; returns how many told.

    The Audit Team (its members and Audit Manager, as dialogs.access defines
    it) of every service the person holds a role in is told (of every
    service, when they hold none), except the person themselves. A
    notice about an undelivered notice is never queued, so an unreachable
    Audit Team member cannot start a loop. One notice per undelivered row,
    keyed by it, bundled per Audit Team member.
    """
    if row.kind == UNDELIVERED_KIND:
        return 0
    services = {held.service_id for held in await roles_of(session, person.id)} if person else set()
    if not services:
        services = {service.id for service in await list_services(session)}
    audit_team: dict[int, Staff] = {}
    for service_id in sorted(services):
        for role in sorted(AUDIT_TEAM_ROLES):
            for member in await list_staff_with_role(session, role, service_id):
                audit_team[member.id] = member
    who = person.display_name if person else "a conversation"
    told = 0
    for member in audit_team.values():
        if person is not None and member.id == person.id:
            continue
        told += 1
        await tell(
            session,
            member.id,
            UNDELIVERED_KIND,
            f"undelivered:{row.id}",
            summary=f"Not delivered to {who}: {row.summary}",
            text=(
                f"I couldn't deliver a message to {who}: {problem}. "
                f"It was: {row.summary}. Please let them know another way."
            ),
            bundle="undelivered",
        )
    return told
