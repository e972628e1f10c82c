"""Queueing messages to people: the one way flows say something to someone.

A message is an outbox row in the caller's transaction (save, then send): it
commits with the change that causes it, or not at all. The sender in
`bot/outbox.py` delivers it later. The payload is platform-neutral:

    {"text": str | None,      # plain text (markdown), when there is no card
     "card": dict | None,     # an Adaptive Card (cards/*), when there is one
     "summary": str,          # one line saying what it is, for bundling and logs;
                              # case references only, never content
     "bundle": str | None}    # messages to one person with the same bundle key,
                              # due together, may be sent as one message
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo


@dataclass(frozen=True)
class Message:
    """One message of a batch for `tell_all`: the same fields as `tell`'s."""

    recipient_id: int
    kind: str
    key: str
    summary: str
    text: str | None = None
    card: dict[str, Any] | None = None
    bundle: str | None = None


async def tell_all(session: AsyncSession, messages: Sequence[Message]) -> None:
    """Queue many messages at once (a cycle's allocation notices): one statement per few
    hundred, each message still once per key and recipient, in the caller's transaction."""
    for message in messages:
        if message.text is None and message.card is None:
            raise ValueError("a message needs text or a card")
    await repo.enqueue_messages(
        session,
        [
            {
                "recipient_id": m.recipient_id,
                "kind": m.kind,
                "payload": {"text": m.text, "card": m.card, "summary": m.summary,
                            "bundle": m.bundle},
                "idempotency_key": f"{m.key}:to:{m.recipient_id}",
            }
            for m in messages
        ],
    )  # fmt: skip


async def tell(
    session: AsyncSession,
    recipient_id: int,
    kind: str,
    key: str,
    *,
    summary: str,
    text: str | None = None,
    card: dict[str, Any] | None = None,
    bundle: str | None = None,
) -> None:
    """Queue one message to a person, once per `key` (a retried transaction queues nothing new).

    `key` names the reason, e.g. "allocated:audit:42:auditor"; the recipient is
    added, so the same reason can reach several people. One INSERT, nothing read back.
    """
    await tell_all(session, [Message(recipient_id, kind, key, summary, text, card, bundle)])
