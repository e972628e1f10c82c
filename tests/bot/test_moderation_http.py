"""Moderation, disputes, the Inadequate fast path and escalations, driven over real HTTP.

Each button is an `adaptiveCard/action` invoke posted to /api/messages, as Teams sends it,
answered with the card that replaces the pressed one. The bot's clock is fixed, so
deadlines in working days can be checked to the minute. The audits are set up as the
wizard leaves them at submission (initial section grades written directly).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dialogs.inadequate import on_submitted
from dialogs.moderation import ask_moderator
from storage import repositories as repo
from storage.models import AuditEvent, Dispute, Moderation, OutboxMessage, Staff
from tests.bot.test_card_actions import press
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    COL_DOMAINS,
    RULES,
    Cast,
    agree_all,
    cast_in,
    count_rows,
    disagree,
    execute_data,
    load_audit,
    messages_to,
    texts,
    verbs,
)
from tests.dialogs.test_wizard_cards import choices, inputs_of
from tests.harness import RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.moderation import OVERALL, field_id
from workflow.states import AuditState

TUESDAY = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
MAX_CARD_BYTES = 80 * 1024


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY)


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn, clock: FixedClock
) -> AsyncIterator[RunningBot]:
    """The bot on the test database, on a fixed clock."""
    server, running = await start_bot(bot_settings(db, identity), connector, identity, clock)
    yield running
    await running.http.close()
    await server.close()


async def ask(db: Database, cast: Cast, now: datetime) -> dict:
    """The Audit Team accepts the audit: the moderator's card, as queued."""
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await ask_moderator(session, audit, now=now, rules=RULES)
    [message] = await messages_to(db, cast.moderator, "moderation")
    return message.payload["card"]


def checked(card: dict) -> dict:
    """A card as Teams would accept it: 1.5, under 80 KB, every input labelled."""
    assert card["version"] == "1.5"
    assert len(json.dumps(card).encode()) < MAX_CARD_BYTES

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                assert node.get("label"), node.get("id")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return card


async def moderate(bot: RunningBot, db: Database, cast: Cast, card: dict, **answers) -> dict:
    return checked(
        await press(bot, cast.moderator, "moderation.save",
                    **execute_data(card, "moderation.save"), **answers)
    )  # fmt: skip


async def test_a_moderation_that_changes_two_grades(db: Database, bot: RunningBot):
    cast = await cast_in(db, overall=Grade.GOOD)
    card = checked(await ask(db, cast, TUESDAY))

    shown = await moderate(
        bot, db, cast, card,
        **agree_all(also={
            **disagree("management_oversight", Grade.REQUIRES_IMPROVEMENT, "No supervision"),
            **disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, "Oversight drives drift"),
        }),
    )  # fmt: skip

    assert "from Good to Requires Improvement to be Good" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED
    assert (audit.initial_grade, audit.moderated_grade, audit.final_grade) == (
        Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.REQUIRES_IMPROVEMENT,
    )  # fmt: skip
    assert audit.moderated_at == TUESDAY
    assert audit.uopp_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    for person in (cast.auditor, cast.practitioner, cast.team_manager, cast.audit_team):
        [result] = await messages_to(db, person, "moderation")
        checked(result.payload["card"])
        assert "No supervision" in texts(result.payload["card"])
    assert await messages_to(db, cast.team_manager, "urgent_issues") == []


async def test_requires_improvement_agreed(db: Database, bot: RunningBot):
    cast = await cast_in(db, overall=Grade.REQUIRES_IMPROVEMENT)
    card = await ask(db, cast, TUESDAY)

    shown = await moderate(bot, db, cast, card, **agree_all())

    assert "agreed with the auditor's overall grade" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.urgent_issues_due_at is None


async def test_inadequate_fast_path_then_urgent_issues(
    db: Database, bot: RunningBot, clock: FixedClock
):
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=FRIDAY)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await on_submitted(session, audit, now=FRIDAY, rules=RULES)

    told = {m.recipient_id for m in await _all(db) if m.kind == "inadequate"}
    assert told == {
        cast.practitioner.id, cast.team_manager.id, cast.coordinator.id,
        cast.audit_manager.id, cast.head_of_service.id,
    }  # fmt: skip
    assert (await load_audit(db, cast.audit_id)).moderation_due_at == datetime(
        2026, 11, 30, 17, 0, tzinfo=UTC
    )  # Friday -> Monday

    clock.set(FRIDAY)
    card = await ask(db, cast, FRIDAY)
    assert "moderate within 1 working day" in texts(card)
    await moderate(bot, db, cast, card, **agree_all())

    audit = await load_audit(db, cast.audit_id)
    assert audit.final_grade is Grade.INADEQUATE
    assert audit.urgent_issues_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 2 wd
    assert audit.uopp_due_at == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 3 wd
    [urgent] = await messages_to(db, cast.team_manager, "urgent_issues")
    urgent_card = checked(urgent.payload["card"])
    data = execute_data(urgent_card, "moderation.urgent_confirmed")

    refused = await press(bot, cast.auditor, "moderation.urgent_confirmed", **data, note="x")
    assert "This isn't yours to do" in texts(refused)
    done = await press(
        bot, cast.team_manager, "moderation.urgent_confirmed", **data, note="Safety plan agreed"
    )
    again = await press(bot, cast.team_manager, "moderation.urgent_confirmed", **data, note="y")

    assert "Confirmed by Tina Manager" in texts(done)
    assert again == done
    assert await count_rows(db, AuditEvent, AuditEvent.action == "urgent_issues_confirmed") == 1


async def test_a_dispute_revised_by_the_moderator(db: Database, bot: RunningBot):
    cast = await cast_in(db, overall=Grade.GOOD)
    await moderate(
        bot,
        db,
        cast,
        await ask(db, cast, TUESDAY),
        **agree_all(also=disagree(OVERALL, Grade.INADEQUATE, "Unsafe drift")),
    )
    [result] = await messages_to(db, cast.practitioner, "moderation")

    disputed = checked(await press(
        bot, cast.practitioner, "dispute.raise",
        **execute_data(result.payload["card"], "dispute.raise"), reason="Visits were made",
    ))  # fmt: skip
    assert "waiting for the moderator" in texts(disputed)
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    form = checked(await press(
        bot, cast.moderator, "dispute.open_revision",
        **execute_data(to_moderator.payload["card"], "dispute.open_revision"),
    ))  # fmt: skip
    revised = checked(await press(
        bot, cast.moderator, "dispute.revise", **execute_data(form, "dispute.revise"),
        **agree_all(also=disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, "Visits were made")),
        revision_note="Agreed: RI not Inadequate",
    ))  # fmt: skip

    assert "the moderator revised the grades" in texts(revised)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED
    assert audit.moderated_grade is audit.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.urgent_issues_due_at is None
    assert audit.uopp_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert await count_rows(db, Moderation) == 2
    results = await messages_to(db, cast.auditor, "moderation")
    assert len(results) == 2 and "Requires Improvement" in texts(results[-1].payload["card"])


async def test_a_dispute_decided_by_the_head_of_service(db: Database, bot: RunningBot):
    cast = await cast_in(db, overall=Grade.GOOD)
    await moderate(
        bot,
        db,
        cast,
        await ask(db, cast, TUESDAY),
        **agree_all(also=disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, "Drift")),
    )
    [result] = await messages_to(db, cast.team_manager, "moderation")
    await press(
        bot,
        cast.team_manager,
        "dispute.raise",
        **execute_data(result.payload["card"], "dispute.raise"),
        reason="Too harsh",
    )
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    await press(bot, cast.moderator, "dispute.stand_by",
                **execute_data(to_moderator.payload["card"], "dispute.stand_by"),
                note="The drift is clear")  # fmt: skip
    [stood_by] = await messages_to(db, cast.team_manager, "dispute")
    waiting = await press(
        bot,
        cast.team_manager,
        "dispute.escalate",
        **execute_data(stood_by.payload["card"], "dispute.escalate"),
    )
    assert "waiting for the Head of Service or Audit Team" in texts(waiting)
    [for_hos] = await messages_to(db, cast.head_of_service, "dispute")
    [for_team] = await messages_to(db, cast.audit_team, "dispute")
    grades = {field_id("grade", key): Grade.GOOD.value for key in (*COL_DOMAINS, OVERALL)}

    decided = checked(await press(
        bot, cast.head_of_service, "dispute.decide",
        **execute_data(checked(for_hos.payload["card"]), "dispute.decide"), **grades,
        **{field_id("why", OVERALL): "Good: the drift was addressed in supervision"},
    ))  # fmt: skip
    late = await press(
        bot, cast.audit_team, "dispute.decide",
        **execute_data(for_team.payload["card"], "dispute.decide"),
        **{**grades, field_id("grade", OVERALL): Grade.INADEQUATE.value},
        **{field_id("why", OVERALL): "Inadequate"},
    )  # fmt: skip

    assert "Decision by Helen Head" in texts(decided)
    assert "Decision by Helen Head" in texts(late) and "dispute.decide" not in verbs(late)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.DECIDED and audit.final_grade is Grade.GOOD
    assert await count_rows(db, AuditEvent, AuditEvent.action == "dispute_decided") == 1
    for person in (cast.auditor, cast.practitioner, cast.moderator, cast.audit_team):
        assert any(
            m.idempotency_key.startswith("dispute:") and "decided" in m.idempotency_key
            for m in await messages_to(db, person, "moderation")
        ), person.display_name


async def test_escalations_are_routed_to_the_right_people(db: Database, bot: RunningBot):
    cast = await cast_in(db)

    safeguarding = await press(
        bot,
        cast.auditor,
        "escalate.safeguarding",
        audit_id=cast.audit_id,
        safeguarding_concern="Risk at home not acted on",
    )
    discrimination = await press(
        bot,
        cast.moderator,
        "escalate.discrimination",
        audit_id=cast.audit_id,
        discrimination_concern="Ethnicity ignored in plan",
    )
    outsider = await press(bot, cast.outsider, "escalate.safeguarding",
                           audit_id=cast.audit_id, safeguarding_concern="Nosy")  # fmt: skip

    assert "Tina Manager" in texts(safeguarding)
    assert "Sent" in texts(discrimination)
    assert "This isn't yours to do" in texts(outsider)
    messages = await _all(db)
    assert {m.recipient_id for m in messages if m.kind == "safeguarding_concern"} == {
        cast.team_manager.id, cast.audit_manager.id,
    }  # fmt: skip
    assert {m.recipient_id for m in messages if m.kind == "discrimination_concern"} == {
        cast.head_of_safeguarding.id
    }


async def test_wrong_person_stale_card_and_repeat_change_nothing(db: Database, bot: RunningBot):
    cast = await cast_in(db)
    card = await ask(db, cast, TUESDAY)
    data = execute_data(card, "moderation.save")

    wrong = await press(bot, cast.auditor, "moderation.save", **data, **agree_all())
    assert "moderator allocated to this audit" in texts(wrong)
    assert await count_rows(db, Moderation) == 0

    first = await press(bot, cast.moderator, "moderation.save", **data, **agree_all())
    state = await _state(db, cast)
    twice = await press(bot, cast.moderator, "moderation.save", **data, **agree_all())
    assert twice == first
    assert await _state(db, cast) == state

    [result] = await messages_to(db, cast.practitioner, "moderation")
    dispute = execute_data(result.payload["card"], "dispute.raise")
    await press(bot, cast.practitioner, "dispute.raise", **dispute, reason="Disagree")
    state = await _state(db, cast)
    stale = await press(bot, cast.moderator, "moderation.save", **data, **agree_all())
    stranger: Staff = cast.outsider
    refused = await press(bot, stranger, "dispute.raise", **dispute, reason="Me")

    assert "disputed the moderated grade" in texts(stale)
    assert "This isn't yours to do" in texts(refused)
    assert await _state(db, cast) == state


async def _state(db: Database, cast: Cast) -> tuple:
    audit = await load_audit(db, cast.audit_id)
    return (
        audit.version,
        audit.state,
        await count_rows(db, AuditEvent),
        await count_rows(db, OutboxMessage),
        await count_rows(db, Dispute),
        await count_rows(db, Moderation),
    )


async def _all(db: Database) -> list[OutboxMessage]:
    async with db.sessions() as session:
        return await repo.list_messages(session)


async def test_every_count_on_the_form_agrees_in_number(db: Database, bot: RunningBot):
    """Reported: "1 answers need your attention"."""
    cast = await cast_in(db, overall=Grade.GOOD)
    card = await ask(db, cast, TUESDAY)

    one = await moderate(
        bot, db, cast, card,
        **agree_all(also=disagree("management_oversight", Grade.REQUIRES_IMPROVEMENT, "")),
    )  # fmt: skip
    two = await moderate(
        bot, db, cast, card,
        **agree_all(also={
            **disagree("management_oversight", Grade.REQUIRES_IMPROVEMENT, ""),
            **disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, ""),
        }),
    )  # fmt: skip

    assert "1 answer needs your attention" in texts(one)
    assert "2 answers need your attention; each is explained" in texts(two)
    assert "1 answer needs your attention; it is explained" in texts(one)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED


async def test_the_grade_follows_the_choice_and_every_rationale_reaches_the_result(
    db: Database, bot: RunningBot
):
    """Reported: a disagreement about the key lines of enquiry (not graded) never reached
    the result card, and a grade picked while answering Agree was dropped without a word."""
    cast = await cast_in(db, overall=Grade.GOOD)
    card = await ask(db, cast, TUESDAY)
    inputs = inputs_of(card)
    assert field_id("grade", "management_oversight") not in inputs
    assert "disagree:requires_improvement" in choices(
        card, field_id("agree", "management_oversight")
    )

    old_card = agree_all(also={field_id("grade", "identity"): Grade.INADEQUATE.value})
    refused = await moderate(bot, db, cast, card, **old_card)
    assert "You agreed, so the grade stays Good, but you also chose Inadequate" in texts(refused)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED

    shown = await moderate(
        bot, db, cast, card,
        **agree_all(also={
            field_id("agree", "management_oversight"): "disagree:requires_improvement",
            field_id("why", "management_oversight"): "No supervision since June",
            field_id("agree", OVERALL): "disagree:requires_improvement",
            field_id("why", OVERALL): "Oversight lets the plan drift",
            field_id("agree", "feedback"): "disagree",
            field_id("why", "feedback"): "The family's own view is missing",
        }),
    )  # fmt: skip

    audit = await load_audit(db, cast.audit_id)
    assert audit.moderated_grade is Grade.REQUIRES_IMPROVEMENT
    [result] = await messages_to(db, cast.practitioner, "moderation")
    for said in ("No supervision since June", "The family's own view is missing"):
        assert said in texts(result.payload["card"]) and said in texts(shown)
    assert "Moderator's rationale: The family's own view is missing" in texts(shown)
