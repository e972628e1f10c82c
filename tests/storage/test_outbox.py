from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from storage import repositories as repo
from storage.enums import OutboxState
from storage.models import OutboxMessage
from storage.repositories.conversations import (
    forget_conversation_ref,
    get_conversation_ref,
    save_conversation_ref,
)
from storage.repositories.outbox import (
    WAITING_FOR_A_CHAT,
    claim_due_messages,
    count_due_messages,
    count_messages_by_state,
    release_claims,
)
from tests.conftest import POSTGRES_ONLY, Database
from tests.factories import create_staff

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


async def test_the_same_idempotency_key_queues_one_message(db: Database):
    async with db.sessions.begin() as session:
        person = await create_staff(session)
        first = await repo.enqueue_message(session, person.id, "allocation", {"n": 1}, "alloc:1")
    async with db.sessions.begin() as session:
        again = await repo.enqueue_message(session, person.id, "allocation", {"n": 2}, "alloc:1")
    async with db.sessions() as session:
        messages = await repo.list_messages(session)
    assert again.id == first.id
    assert [(m.id, m.payload) for m in messages] == [(first.id, {"n": 1})]


async def test_the_database_refuses_a_duplicate_idempotency_key(db: Database):
    async with db.sessions() as session:
        session.add(OutboxMessage(idempotency_key="k", kind="x", payload={}))
        await session.flush()
        session.add(OutboxMessage(idempotency_key="k", kind="x", payload={}))
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_claiming_takes_due_pending_messages_oldest_first(db: Database):
    async with db.sessions.begin() as session:
        for key, due in (
            ("late", NOW),
            ("early", NOW - timedelta(hours=1)),
            ("future", NOW + timedelta(minutes=1)),
        ):
            await repo.enqueue_message(session, None, "k", {}, key, not_before=due)
    async with db.sessions.begin() as session:
        claimed = await repo.claim_due_messages(session, "worker-1", NOW)
    assert [m.idempotency_key for m in claimed] == ["early", "late"]
    assert all(m.state is OutboxState.CLAIMED and m.attempts == 1 for m in claimed)
    async with db.sessions.begin() as session:
        assert await repo.claim_due_messages(session, "worker-2", NOW) == []


async def test_outcomes_are_recorded_only_for_claimed_messages(db: Database):
    async with db.sessions.begin() as session:
        for key in ("a", "b", "c", "d"):
            await repo.enqueue_message(session, None, "k", {}, key, not_before=NOW)
        a, b, c, d = await repo.claim_due_messages(session, "w", NOW)
    later = NOW + timedelta(seconds=30)
    async with db.sessions.begin() as session:
        assert await repo.mark_sent(session, a.id, NOW)
        assert not await repo.mark_sent(session, a.id, NOW)  # already sent
        assert await repo.retry_later(session, b.id, "HTTP 429", later)
        assert await repo.mark_failed(session, c.id, "HTTP 400")
        assert await repo.mark_unreachable(session, d.id, "no conversation reference")
    async with db.sessions() as session:
        states = {m.idempotency_key: m for m in await repo.list_messages(session)}
    assert states["a"].state is OutboxState.SENT and states["a"].sent_at == NOW
    assert (states["b"].state, states["b"].next_attempt_at) == (OutboxState.PENDING, later)
    assert states["b"].last_error == "HTTP 429" and states["b"].claimed_by is None
    assert states["c"].state is OutboxState.FAILED
    assert states["d"].state is OutboxState.UNREACHABLE


async def test_claims_left_by_a_dead_sender_are_released(db: Database):
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "old", not_before=NOW)
        (message,) = await repo.claim_due_messages(session, "dead", NOW)
    async with db.sessions.begin() as session:
        assert await repo.release_stale_claims(session, NOW + timedelta(minutes=5)) == 1
    async with db.sessions() as session:
        reloaded = await repo.get_message(session, message.id)
    assert reloaded is not None and reloaded.state is OutboxState.PENDING


@POSTGRES_ONLY
async def test_concurrent_senders_never_claim_the_same_message(db: Database):
    async with db.sessions.begin() as session:
        for number in range(6):
            await repo.enqueue_message(session, None, "k", {}, f"m{number}", not_before=NOW)
    async with db.sessions() as first, db.sessions() as second:
        mine = await repo.claim_due_messages(first, "w1", NOW, limit=4)
        theirs = await repo.claim_due_messages(second, "w2", NOW, limit=4)
        await first.commit()
        await second.commit()
    assert len(mine) == 4 and len(theirs) == 2
    assert not {m.id for m in mine} & {m.id for m in theirs}


async def test_claiming_skips_people_the_sender_cannot_message_yet(db: Database):
    async with db.sessions.begin() as session:
        busy = await create_staff(session)
        free = await create_staff(session)
        await repo.enqueue_message(session, busy.id, "k", {}, "busy", not_before=NOW)
        await repo.enqueue_message(session, free.id, "k", {}, "free", not_before=NOW)
        await repo.enqueue_message(session, None, "k", {}, "channel", not_before=NOW)
    async with db.sessions.begin() as session:
        claimed = await claim_due_messages(session, "w", NOW, skip_recipients={busy.id})
    assert [m.idempotency_key for m in claimed] == ["free", "channel"]


async def test_only_the_sender_holding_the_claim_records_the_outcome(db: Database):
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "a", not_before=NOW)
        (message,) = await claim_due_messages(session, "mine", NOW)
    async with db.sessions.begin() as session:
        assert not await repo.mark_sent(session, message.id, NOW, claim="someone-else")
        assert await repo.mark_sent(session, message.id, NOW, claim="mine")


async def test_an_outcome_for_an_old_claim_never_touches_a_newer_claim_of_the_same_row(
    db: Database,
):
    later = NOW + timedelta(minutes=5)
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "a", not_before=NOW)
        await claim_due_messages(session, "sender#1", NOW)
        assert await repo.release_stale_claims(session, later) == 1
        (again,) = await claim_due_messages(session, "sender#2", later)
    async with db.sessions.begin() as session:
        assert await release_claims(session, [again.id], "sender#1") == 0
        assert not await repo.retry_later(session, again.id, "HTTP 503", later, claim="sender#1")
        assert not await repo.mark_sent(session, again.id, later, claim="sender#1")
    async with db.sessions() as session:
        held = await repo.get_message(session, again.id)
    assert held is not None and (held.state, held.claimed_by) == (OutboxState.CLAIMED, "sender#2")


async def test_a_bundle_is_recorded_sent_together(db: Database):
    async with db.sessions.begin() as session:
        for key in ("a", "b", "c"):
            await repo.enqueue_message(session, None, "k", {}, key, not_before=NOW)
        claimed = await claim_due_messages(session, "w", NOW)
    async with db.sessions.begin() as session:
        assert await repo.mark_sent(session, [m.id for m in claimed], NOW, claim="w")
    async with db.sessions() as session:
        assert await count_messages_by_state(session) == {OutboxState.SENT: 3}


async def test_handing_back_an_unsent_claim_does_not_count_as_an_attempt(db: Database):
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "a", not_before=NOW)
        (message,) = await claim_due_messages(session, "w", NOW)
    async with db.sessions.begin() as session:
        assert await release_claims(session, [message.id], "other") == 0
        assert await release_claims(session, [message.id], "w") == 1
    async with db.sessions() as session:
        reloaded = await repo.get_message(session, message.id)
        assert await count_due_messages(session, NOW) == 1
    assert reloaded is not None
    assert (reloaded.state, reloaded.attempts, reloaded.claimed_by) == (
        OutboxState.PENDING,
        0,
        None,
    )


async def test_a_conversation_reference_is_forgotten_only_if_it_still_names_that_chat(
    db: Database,
):
    async with db.sessions.begin() as session:
        await save_conversation_ref(session, "AAD-1", "T", "a:old", "https://s/", {})
    async with db.sessions.begin() as session:
        assert not await forget_conversation_ref(session, "aad-1", "t", "a:newer")
        assert await forget_conversation_ref(session, "aad-1", "t", "a:old")
    async with db.sessions() as session:
        assert await get_conversation_ref(session, "aad-1", "t") is None


async def test_a_person_opening_a_chat_brings_forward_only_their_messages_waiting_for_one(
    db: Database,
):
    later = NOW + timedelta(hours=1)
    async with db.sessions.begin() as session:
        person = await create_staff(session, aad_object_id="AAAAAAAA-0000-0000-0000-000000000001")
        other = await create_staff(session)
        for key, who in (("waiting", person), ("backing-off", person), ("someone-else", other)):
            await repo.enqueue_message(session, who.id, "k", {}, key, not_before=NOW)
        claimed = {m.idempotency_key: m for m in await claim_due_messages(session, "w", NOW)}
        await repo.retry_later(session, claimed["waiting"].id, WAITING_FOR_A_CHAT, later)
        await repo.retry_later(session, claimed["backing-off"].id, "HTTP 503", later)
        await repo.retry_later(session, claimed["someone-else"].id, WAITING_FOR_A_CHAT, later)
    async with db.sessions.begin() as session:
        await save_conversation_ref(
            session, person.aad_object_id, "T", "a:chat", "https://s/", {}, at=NOW
        )
    async with db.sessions() as session:
        due = {m.idempotency_key: m.next_attempt_at for m in await repo.list_messages(session)}
    assert due == {"waiting": NOW, "backing-off": later, "someone-else": later}


async def test_many_messages_are_queued_in_bulk_once_each(db: Database):
    """A cycle's allocation notices go in as one statement sent with every row (more rows
    than a driver puts in one batch): a repeat of the same keys adds nothing, new keys among
    old ones are added, order and payloads are kept whole."""
    async with db.sessions.begin() as session:
        staff = await create_staff(session)
    wanted = 2207

    def messages(numbers: range) -> list[dict]:
        return [
            {"recipient_id": staff.id, "kind": "allocation", "idempotency_key": f"bulk:{n}",
             "payload": {"text": f"message {n}", "card": None, "summary": "s", "bundle": "b"}}
            for n in numbers
        ]  # fmt: skip

    for numbers in (range(wanted - 7), range(wanted)):  # a retry, with seven more
        async with db.sessions.begin() as session:
            await repo.enqueue_messages(session, messages(numbers))
    async with db.sessions() as session:
        queued = await repo.list_messages(session, recipient_id=staff.id)
    assert len(queued) == wanted
    assert [m.idempotency_key for m in queued] == [f"bulk:{n}" for n in range(wanted)]
    assert queued[-1].payload["text"] == f"message {wanted - 1}"
    assert {m.state for m in queued} == {OutboxState.PENDING}
