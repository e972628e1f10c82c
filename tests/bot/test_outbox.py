"""The outbox sender delivers queued messages to Teams over real HTTP (the connector stand-in).

These tests run the sender in-process on a manual clock: `drain` delivers
whatever is due, and time moves only when a test advances it, so a retry
thirty seconds away is checked without waiting thirty seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import build_adapter
from bot.connector import BotConnector
from bot.outbox import OutboxSender, SenderOptions
from bot.ratelimit import Clock, ManualClock, Window
from dialogs.notify import tell
from storage.enums import OutboxState
from storage.models import OutboxMessage, Staff
from storage.repositories.conversations import get_conversation_ref, save_conversation_ref
from storage.repositories.outbox import WAITING_FOR_A_CHAT, list_messages
from tests.conftest import Database
from tests.factories import create_service, create_staff
from tests.harness import TENANT_ID, bot_settings
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.roles import Role


@dataclass
class Outbox:
    db: Database
    connector: ConnectorStandIn
    sender: OutboxSender
    clock: Any

    async def drain(self, timeout: float = 60.0) -> None:
        await asyncio.wait_for(self.sender.drain(), timeout)

    async def messages(self) -> dict[str, OutboxMessage]:
        """Every outbox row by its idempotency key."""
        async with self.db.sessions() as session:
            return {m.idempotency_key: m for m in await list_messages(session)}

    def texts(self) -> Counter[str]:
        return Counter(sent.activity.get("text") for sent in self.connector.sent)


@asynccontextmanager
async def running_outbox(
    db: Database,
    connector: ConnectorStandIn,
    identity: IdentityStandIn,
    *,
    clock: Clock | None = None,
    **options: Any,
) -> AsyncIterator[Outbox]:
    """A sender pointed at the stand-in, signing with the managed identity's tokens, as
    `auditbot serve` builds it."""
    settings = bot_settings(db, identity)
    bot_connector = BotConnector(build_adapter(settings), settings.app_id, workers=8, timeout=30.0)
    options = {"tenant_id": TENANT_ID, "default_service_url": connector.url, **options}
    sender = OutboxSender(
        db.sessions,
        bot_connector,
        SenderOptions(**options),
        # Rows are queued at the real time; the manual clock starts a little after it.
        clock=clock or ManualClock(datetime.now(UTC) + timedelta(minutes=1)),
        rng=random.Random(7),
    )
    try:
        yield Outbox(db, connector, sender, sender.clock)
    finally:
        bot_connector.close()


@pytest.fixture
async def outbox(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[Outbox]:
    async with running_outbox(db, connector, identity) as running:
        yield running


def personal_chat(aad_object_id: str) -> str:
    return f"a:personal-{aad_object_id}"


async def create_person(
    session: AsyncSession,
    connector: ConnectorStandIn,
    *,
    has_chat: bool = True,
    **fields: Any,
) -> Staff:
    """Someone on the staff list; with has_chat, they have talked to the bot (reference stored)."""
    person = await create_staff(session, **fields)
    if has_chat:
        aad = person.aad_object_id
        reference = {
            "channelId": "msteams",
            "serviceUrl": connector.url,
            "conversation": {
                "id": personal_chat(aad),
                "conversationType": "personal",
                "tenantId": TENANT_ID,
            },
            "user": {"id": f"29:{aad}", "aadObjectId": aad},
            "bot": {"id": "28:auditbot"},
        }
        await save_conversation_ref(
            session, aad, TENANT_ID, personal_chat(aad), connector.url, reference
        )
    return person


async def queue_notice(
    session: AsyncSession, person: Staff, n: int, *, bundle: str | None = None, card: bool = False
) -> None:
    """A notice whose text says which one it is, so the stand-in can count each."""
    content = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}
    if card:
        content["body"][0]["text"] = f"notice {n}"
    await tell(
        session,
        person.id,
        "notice",
        f"notice:{n}",
        summary=f"notice {n}",
        text=None if card else f"notice {n}",
        card=content if card else None,
        bundle=bundle,
    )


def key(n: int, person: Staff) -> str:
    return f"notice:{n}:to:{person.id}"


async def test_a_message_is_delivered_to_the_persons_stored_chat(outbox: Outbox):
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)

    await outbox.drain()

    [sent] = outbox.connector.sent
    assert sent.conversation_id == personal_chat(person.aad_object_id)
    assert sent.activity["text"] == "notice 1"
    assert sent.activity["recipient"]["aadObjectId"] == person.aad_object_id
    assert sent.reply_to is None
    # Signed with the token the managed identity issued, as replies are.
    assert sent.authorization is not None and outbox.connector.tokens is not None
    assert sent.authorization.removeprefix("Bearer ") in outbox.connector.tokens
    message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.SENT
    assert message.sent_at == outbox.clock.now()
    assert message.attempts == 1 and message.claimed_by is None


async def test_a_channel_that_accepts_with_an_empty_answer_is_not_sent_to_twice(outbox: Outbox):
    outbox.connector.empty_answers = True  # as the Agents Playground answers
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)

    await outbox.drain()

    assert len(outbox.connector.sent) == 1
    message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.SENT and message.attempts == 1


async def test_a_chat_is_created_for_someone_who_never_talked_to_the_bot_and_then_reused(
    outbox: Outbox,
):
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector, has_chat=False)
        await queue_notice(session, person, 1)

    await outbox.drain()

    [created] = outbox.connector.created
    assert created.user_id == person.aad_object_id
    assert created.tenant_id == TENANT_ID
    [sent] = outbox.connector.sent
    assert sent.conversation_id == created.conversation_id
    async with outbox.db.sessions() as session:
        stored = await get_conversation_ref(session, person.aad_object_id, TENANT_ID)
    assert stored is not None and stored.conversation_id == created.conversation_id
    assert stored.service_url == outbox.connector.url

    async with outbox.db.sessions.begin() as session:
        await queue_notice(session, person, 2)
    await outbox.drain()

    assert len(outbox.connector.created) == 1
    assert [s.conversation_id for s in outbox.connector.sent] == [created.conversation_id] * 2


async def test_a_throttled_message_waits_for_retry_after_then_is_delivered_once(outbox: Outbox):
    outbox.connector.throttle_next = 1
    outbox.connector.retry_after_seconds = 30
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)
    started = outbox.clock.now()

    await outbox.drain()

    waiting = (await outbox.messages())[key(1, person)]
    assert outbox.connector.sent == []
    assert waiting.state is OutboxState.PENDING
    assert waiting.last_error == "HTTP 429 Throttled"
    assert started + timedelta(seconds=30) <= waiting.next_attempt_at
    assert waiting.next_attempt_at <= started + timedelta(seconds=31)

    outbox.clock.advance(29)
    await outbox.drain()
    assert outbox.connector.sent == []

    outbox.clock.advance(2)
    await outbox.drain()
    assert outbox.texts() == {"notice 1": 1}
    delivered = (await outbox.messages())[key(1, person)]
    assert delivered.state is OutboxState.SENT and delivered.attempts == 2


async def test_server_errors_are_retried_with_growing_backoff_then_delivered_once(
    outbox: Outbox,
):
    outbox.connector.fail_next = [503, 502]
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)

    delays = []
    for _ in range(2):
        before = outbox.clock.now()
        await outbox.drain()
        message = (await outbox.messages())[key(1, person)]
        assert message.state is OutboxState.PENDING
        delays.append((message.next_attempt_at - before).total_seconds())
        outbox.clock.advance(delays[-1])
    await outbox.drain()

    assert 1.0 <= delays[0] <= 2.0 and 2.0 <= delays[1] <= 4.0  # base 2 s, doubling, jittered
    assert outbox.texts() == {"notice 1": 1}
    assert (await outbox.messages())[key(1, person)].attempts == 3


async def test_retries_are_bounded_and_end_as_a_recorded_failure(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
):
    from bot.delivery import RetryPolicy

    connector.fail_next = [504] * 10
    async with running_outbox(db, connector, identity, retry=RetryPolicy(max_attempts=3)) as outbox:
        async with db.sessions.begin() as session:
            person = await create_person(session, connector)
            await queue_notice(session, person, 1)
        for _ in range(3):
            await outbox.drain()
            outbox.clock.advance(10)

        message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.FAILED
    assert message.attempts == 3
    assert message.last_error == "HTTP 504 ServiceError (gave up after 3 attempts)"
    assert connector.failed == 3 and connector.sent == []


async def test_a_permanent_refusal_is_recorded_at_once_with_status_and_code_only(
    outbox: Outbox,
):
    outbox.connector.fail_next = [413]
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)

    await outbox.drain()

    message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.FAILED
    assert message.attempts == 1
    assert message.last_error == "HTTP 413 ServiceError"
    assert "notice" not in message.last_error


async def audit_team_for(session: AsyncSession, connector: ConnectorStandIn):
    service = await create_service(session, name="Children's Social Care")
    member = await create_person(
        session, connector, display_name="Alex Audit", roles=[(Role.AUDIT_TEAM, service)]
    )
    return service, member


async def test_someone_who_blocked_the_bot_is_unreachable_and_the_audit_team_is_told(
    outbox: Outbox,
):
    async with outbox.db.sessions.begin() as session:
        service, audit_team = await audit_team_for(session, outbox.connector)
        person = await create_person(
            session,
            outbox.connector,
            display_name="Priya Shah",
            roles=[(Role.AUDITOR, service)],
        )
        await queue_notice(session, person, 1)
    outbox.connector.blocked.add(person.aad_object_id)

    await outbox.drain()

    messages = await outbox.messages()
    blocked = messages[key(1, person)]
    assert blocked.state is OutboxState.UNREACHABLE
    assert blocked.last_error == "HTTP 403 MessageWritesBlocked (blocked)"
    notice = messages[f"undelivered:{blocked.id}:to:{audit_team.id}"]
    assert notice.state is OutboxState.SENT
    [told] = outbox.connector.sent
    assert told.conversation_id == personal_chat(audit_team.aad_object_id)
    assert "Priya Shah" in told.activity["text"]
    assert "blocked auditbot" in told.activity["text"]
    assert "notice 1" in told.activity["text"]


async def test_someone_without_the_app_is_unreachable_and_the_audit_team_is_told(
    outbox: Outbox,
):
    async with outbox.db.sessions.begin() as session:
        service, audit_team = await audit_team_for(session, outbox.connector)
        person = await create_person(
            session,
            outbox.connector,
            has_chat=False,
            display_name="Sam Newstarter",
            roles=[(Role.PRACTITIONER, service)],
        )
        await queue_notice(session, person, 1)
    outbox.connector.not_installed.add(person.aad_object_id)

    await outbox.drain()

    messages = await outbox.messages()
    missing = messages[key(1, person)]
    assert missing.state is OutboxState.UNREACHABLE
    assert missing.last_error == "HTTP 403 BotNotInConversationRoster (not_installed)"
    assert outbox.connector.created == []
    [told] = outbox.connector.sent
    assert told.conversation_id == personal_chat(audit_team.aad_object_id)
    assert "Sam Newstarter" in told.activity["text"]
    assert "not installed" in told.activity["text"]


async def test_an_unreachable_audit_team_member_does_not_start_a_loop(outbox: Outbox):
    async with outbox.db.sessions.begin() as session:
        service, audit_team = await audit_team_for(session, outbox.connector)
        person = await create_person(session, outbox.connector, roles=[(Role.AUDITOR, service)])
        await queue_notice(session, person, 1)
    outbox.connector.blocked |= {person.aad_object_id, audit_team.aad_object_id}

    await outbox.drain()

    messages = await outbox.messages()
    assert [m.state for m in messages.values()] == [OutboxState.UNREACHABLE] * 2
    assert outbox.connector.sent == []


async def test_an_audit_team_member_is_not_told_about_themselves(outbox: Outbox):
    async with outbox.db.sessions.begin() as session:
        service, audit_team = await audit_team_for(session, outbox.connector)
        colleague = await create_person(
            session, outbox.connector, roles=[(Role.AUDIT_TEAM, service)]
        )
        await queue_notice(session, audit_team, 1)
    outbox.connector.blocked.add(audit_team.aad_object_id)

    await outbox.drain()

    [told] = outbox.connector.sent
    assert told.conversation_id == personal_chat(colleague.aad_object_id)


async def test_messages_sharing_a_bundle_key_go_as_one_message_and_are_all_marked_sent(
    outbox: Outbox,
):
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        for n in (1, 2, 3):
            await queue_notice(session, person, n, bundle="allocation:cycle:1", card=True)
        await queue_notice(session, person, 4)

    await outbox.drain()

    bundled, alone = outbox.connector.sent
    cards = [a["content"]["body"][0]["text"] for a in bundled.activity["attachments"]]
    assert cards == ["notice 1", "notice 2", "notice 3"]
    assert bundled.activity["attachmentLayout"] == "list"
    assert bundled.activity["text"] == "3 updates: notice 1; notice 2; notice 3"
    assert alone.activity["text"] == "notice 4"
    messages = await outbox.messages()
    assert {m.state for m in messages.values()} == {OutboxState.SENT}


async def test_a_chat_teams_no_longer_knows_is_created_again(outbox: Outbox):
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)
    outbox.connector.gone.add(personal_chat(person.aad_object_id))

    await outbox.drain()

    [created] = outbox.connector.created
    [sent] = outbox.connector.sent
    assert sent.conversation_id == created.conversation_id
    message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.SENT and message.attempts == 2


async def test_stopping_hands_back_claimed_rows_it_did_not_start_sending(outbox: Outbox):
    async with outbox.db.sessions.begin() as session:
        person = await create_person(session, outbox.connector)
        await queue_notice(session, person, 1)
        await queue_notice(session, person, 2)
    outbox.connector.stall_after_accepting(after=0)

    await outbox.sender.start()
    await outbox.connector.wait_until(lambda: outbox.connector.stalled == 1)
    stopping = asyncio.create_task(outbox.sender.stop())
    outbox.connector.drop_stalled()
    await stopping

    messages = await outbox.messages()
    assert messages[key(1, person)].state is OutboxState.SENT
    waiting = messages[key(2, person)]
    assert (waiting.state, waiting.attempts, waiting.claimed_by) == (OutboxState.PENDING, 0, None)


async def test_the_audit_manager_of_the_persons_service_is_told_too_and_other_services_are_not(
    outbox: Outbox,
):
    async with outbox.db.sessions.begin() as session:
        service, audit_team = await audit_team_for(session, outbox.connector)
        manager = await create_person(
            session, outbox.connector, roles=[(Role.AUDIT_MANAGER, service)]
        )
        elsewhere = await create_service(session)
        await create_person(session, outbox.connector, roles=[(Role.AUDIT_TEAM, elsewhere)])
        person = await create_person(session, outbox.connector, roles=[(Role.AUDITOR, service)])
        await queue_notice(session, person, 1)
    outbox.connector.blocked.add(person.aad_object_id)

    await outbox.drain()

    told = {sent.conversation_id for sent in outbox.connector.sent}
    assert told == {personal_chat(audit_team.aad_object_id), personal_chat(manager.aad_object_id)}


async def test_without_a_tenant_messages_wait_for_the_person_and_go_when_they_talk_to_the_bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
):
    async with running_outbox(db, connector, identity, tenant_id="") as outbox:
        async with db.sessions.begin() as session:
            person = await create_person(session, connector, has_chat=False)
            await queue_notice(session, person, 1)
        await outbox.drain()

        waiting = (await outbox.messages())[key(1, person)]
        assert waiting.state is OutboxState.PENDING
        assert waiting.last_error == WAITING_FOR_A_CHAT
        assert waiting.next_attempt_at >= outbox.clock.now() + timedelta(minutes=59)
        assert connector.created == [] and connector.sent == []

        async with db.sessions.begin() as session:  # they open the app: Teams tells the bot
            await save_conversation_ref(
                session,
                person.aad_object_id,
                TENANT_ID,
                personal_chat(person.aad_object_id),
                connector.url,
                {"conversation": {"id": personal_chat(person.aad_object_id)}},
                at=outbox.clock.now(),
            )
        await outbox.drain()

    [sent] = connector.sent
    assert sent.conversation_id == personal_chat(person.aad_object_id)


async def test_without_a_tenant_someone_who_never_opens_a_chat_is_in_the_end_unreachable(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
):
    from bot.delivery import RetryPolicy

    async with running_outbox(
        db, connector, identity, tenant_id="", retry=RetryPolicy(2)
    ) as outbox:
        async with db.sessions.begin() as session:
            service, audit_team = await audit_team_for(session, connector)
            person = await create_person(
                session, connector, has_chat=False, roles=[(Role.PRACTITIONER, service)]
            )
            await queue_notice(session, person, 1)
        await outbox.drain()
        outbox.clock.advance(3600)
        await outbox.drain()

        message = (await outbox.messages())[key(1, person)]
    assert message.state is OutboxState.UNREACHABLE
    assert message.last_error == "no conversation (no_tenant)"
    [told] = connector.sent
    assert told.conversation_id == personal_chat(audit_team.aad_object_id)
    assert "AUDITBOT_TENANT_ID" in told.activity["text"]


async def run_for(
    sender: OutboxSender, clock: ManualClock, seconds: float, step: float = 0.5
) -> None:
    """Let the running sender work while the manual clock moves on, `step` at a time. Time
    moves only once the sender has done all it can now (its loop and every delivery under
    way waiting on the clock), so what happens does not depend on the machine's speed."""
    for _ in range(int(seconds / step)):
        async with asyncio.timeout(60):
            while clock.waiting < sender.in_flight + 1:
                await asyncio.sleep(0.001)
        clock.advance(step)


async def test_a_claim_never_expires_under_its_live_sender_while_rows_wait_their_turn(
    db: Database,
    connector: ConnectorStandIn,
    identity: IdentityStandIn,
    caplog: pytest.LogCaptureFixture,
):
    """Reported on SQLite: a live sender let claims on rows waiting in its queue expire, its
    own sweep released them, it claimed them again, and an outcome recorded for the old
    claim undid the new one: five of 300 messages went twice, with no crash. Here Teams
    holds the person's chat for a minute (429, Retry-After 60), six times the claim
    timeout, while their other messages wait in the queue."""
    connector.throttle_next = 1
    connector.retry_after_seconds = 60
    async with db.sessions.begin() as session:
        person = await create_person(session, connector)
        for n in range(5):
            await queue_notice(session, person, n)
    caplog.set_level(logging.INFO, logger="bot.outbox")
    options = {
        "claim_timeout_seconds": 10.0,
        "request_timeout_seconds": 1.0,
        "database_wait_seconds": 1.0,
    }
    async with running_outbox(db, connector, identity, **options) as outbox:
        await outbox.sender.start()
        await run_for(outbox.sender, outbox.clock, 150)
        await outbox.sender.stop()
        messages = await outbox.messages()

    assert outbox.texts() == {f"notice {n}": 1 for n in range(5)}
    assert {m.state for m in messages.values()} == {OutboxState.SENT}
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [p for p in problems if "claimed by a sender that stopped" in p], problems
    assert not [p for p in problems if "claim was gone" in p], problems


async def test_a_sender_taking_over_keeps_each_chats_limits_from_its_first_request(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
):
    """Seen in the three-instance run: an instance that took over sending did not know what
    the one before it had sent to each chat in the last hour, so its first requests broke a
    chat's limit and Teams answered 429. Here a chat takes 2 messages in 10 s; one sender
    sends 2 and stops; the next, starting at once, waits out the rest of those 10 s."""
    clock = ManualClock(datetime.now(UTC) + timedelta(minutes=1))
    connector.conversation_limits = ((2, 10.0),)
    connector.clock = clock.monotonic
    windows = {"conversation_windows": (Window(2, 10),), "app_windows": (Window(50, 1),)}
    async with db.sessions.begin() as session:
        person = await create_person(session, connector)
        for n in range(2):
            await queue_notice(session, person, n)
    async with running_outbox(db, connector, identity, clock=clock, **windows) as first:
        await first.sender.drain()
    assert len(connector.sent) == 2
    started = clock.monotonic()
    async with db.sessions.begin() as session:
        await queue_notice(session, person, 2)
    async with running_outbox(db, connector, identity, clock=clock, **windows) as second:
        await second.sender.start()
        await run_for(second.sender, clock, 15)
        await second.sender.stop()
    assert second.texts() == {f"notice {n}": 1 for n in range(3)}
    assert connector.throttled == 0  # no 429: the chat's limit was kept
    assert connector.sent[-1].at >= started + 10 - 1  # after the first two left the window
