"""Owners answer about late SMART actions: "done", "partly" with a note, "not yet" with a new
date, from the reminder card or by replying in chat; bad answers change nothing."""

from __future__ import annotations

from datetime import date

from cards.reminders import ACTION_PROGRESS
from storage import repositories as repo
from storage.enums import RecommendationLevel, RecommendationStatus
from storage.models import AuditEvent, Recommendation
from storage.repositories import reminders as due
from tests.conftest import Database
from tests.scheduler.helpers import (
    actor,
    cast_in,
    conversations,
    count,
    end_of,
    events,
    late_audit,
    london,
    messages,
    texts,
    tick_at,
)
from workflow.states import AuditState

MONDAY = london(2026, 11, 23, 10, 0)


async def _late_action(db: Database) -> tuple[object, int]:
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 12, 31)), state=AuditState.UOPP_HELD)
    async with db.sessions.begin() as session:
        action = await repo.add_recommendation(
            session, audit_id, RecommendationLevel.CHILD, "Review the plan with the family",
            None, cast.auditor.id, date(2026, 11, 18),
        )  # fmt: skip
    assert await tick_at(db, MONDAY) == 1
    return cast, action.id


async def _action(db: Database, action_id: int) -> Recommendation:
    async with db.sessions() as session:
        found = await repo.get_recommendation(session, action_id)
        assert found is not None
        return found


async def _say(db: Database, who, text: str, at=MONDAY) -> str:
    reply = await conversations(db, at).on_message(actor(who), text)
    assert reply.card is not None
    return texts(reply.card)


async def test_done_in_chat_records_it_and_ends_the_chasing(db: Database):
    cast, action_id = await _late_action(db)

    shown = await _say(db, cast.auditor, f"Done {action_id}")

    assert f"Action {action_id} recorded" in shown
    action = await _action(db, action_id)
    assert action.status is RecommendationStatus.DONE
    [event] = await events(db, "action_progress")
    assert (event.entity, event.entity_id, event.actor_id) == (
        "recommendation", action_id, cast.auditor.id,
    )  # fmt: skip
    assert event.before["status"] == "open" and event.after["via"] == "chat"
    async with db.sessions() as session:
        reminder = await due.get_reminder(session, "action", action_id)
        assert reminder is not None and reminder.done_at == MONDAY
    assert await tick_at(db, london(2026, 11, 24, 10)) == 0
    # Twice: nothing more changes (with no open action left, it is not taken as an answer).
    assert "recorded" not in await _say(db, cast.auditor, f"done {action_id}")
    assert len(await events(db, "action_progress")) == 1


async def test_not_yet_needs_a_future_working_day_and_restarts_the_ladder(db: Database):
    cast, action_id = await _late_action(db)

    for said, problem in (
        (f"not yet {action_id}", "Give the new date"),
        (f"not yet {action_id} 2026-11-28", "not a working day"),  # a Saturday
        (f"not yet {action_id} 2026-11-20", "Give a date after today"),
        (f"not yet {action_id} 2026-13-45", "is not a date"),
    ):
        assert problem in await _say(db, cast.auditor, said), said
    assert (await _action(db, action_id)).status is RecommendationStatus.OPEN
    assert await count(db, AuditEvent, AuditEvent.action == "action_progress") == 0

    shown = await _say(db, cast.auditor, f"not yet {action_id} 2026-12-02 waiting for the GP")
    assert "New date: Wed 2 Dec" in shown
    action = await _action(db, action_id)
    assert (action.status, action.due_on, action.note) == (
        RecommendationStatus.NOT_YET, date(2026, 12, 2), "waiting for the GP",
    )  # fmt: skip
    assert await tick_at(db, london(2026, 12, 2, 10)) == 0
    assert await tick_at(db, london(2026, 12, 3, 9, 0)) == 1
    async with db.sessions() as session:
        reminder = await due.get_reminder(session, "action", action_id)
        assert reminder is not None and reminder.rung == 1
        assert reminder.first_reminded_on == date(2026, 12, 3)


async def test_partly_needs_a_note(db: Database):
    cast, action_id = await _late_action(db)
    assert "needs a note" in await _say(db, cast.auditor, f"partly {action_id}")
    assert (await _action(db, action_id)).status is RecommendationStatus.OPEN

    await _say(db, cast.auditor, f"partly {action_id} Plan reviewed, family meeting booked")

    action = await _action(db, action_id)
    assert action.status is RecommendationStatus.PARTLY
    assert action.note == "Plan reviewed, family meeting booked"


async def test_someone_elses_action_is_refused_and_other_chat_still_works(db: Database):
    cast, action_id = await _late_action(db)

    # The team manager owns no actions: "done 12" is not an answer from them, and changes nothing.
    assert "recorded" not in await _say(db, cast.manager, f"done {action_id}")
    assert "You have no action 999999" in await _say(db, cast.auditor, "done 999999")
    assert (await _action(db, action_id)).status is RecommendationStatus.OPEN
    helped = await _say(db, cast.auditor, "help")
    assert "my actions" in helped and "not saved" not in helped


async def test_the_card_form_records_progress_only_for_the_owner(db: Database):
    cast, action_id = await _late_action(db)
    [message] = await messages(db, cast.auditor, "reminder")
    assert f"Report progress on action {action_id}" in texts(message.payload["card"])
    data = {"recommendation": action_id, f"progress_{action_id}": "partly"}

    refused = await conversations(db, MONDAY).on_card_action(
        actor(cast.manager), ACTION_PROGRESS, {**data, f"note_{action_id}": "x"}
    )
    assert "Only the action's owner" in texts(refused)
    missing = await conversations(db, MONDAY).on_card_action(
        actor(cast.auditor), ACTION_PROGRESS, data
    )
    assert "needs a note" in texts(missing)
    assert (await _action(db, action_id)).status is RecommendationStatus.OPEN

    done = await conversations(db, MONDAY).on_card_action(
        actor(cast.auditor), ACTION_PROGRESS, {**data, f"note_{action_id}": "Half done"}
    )
    assert "partly done" in texts(done)
    assert (await _action(db, action_id)).status is RecommendationStatus.PARTLY
