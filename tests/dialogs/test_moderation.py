"""Moderation: the moderator's card, saving it, the result, and the urgent issues after
an Inadequate moderated grade."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialogs.moderation import ask_moderator
from storage import repositories as repo
from storage.enums import GradeStage
from storage.models import AuditEvent, Moderation, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    COL_DOMAINS,
    NOW,
    RULES,
    act,
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
from workflow.grades import Grade
from workflow.moderation import OVERALL, field_id
from workflow.states import AuditState


async def ask(db: Database, audit_id: int, now: datetime = NOW) -> None:
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, audit_id)
        await ask_moderator(session, audit, now=now, rules=RULES)


async def test_should_send_the_moderator_each_section_s_grade_and_rationale(db: Database):
    cast = await cast_in(db, overall=Grade.REQUIRES_IMPROVEMENT)

    await ask(db, cast.audit_id)

    [message] = await messages_to(db, cast.moderator, "moderation")
    card = message.payload["card"]
    shown = texts(card)
    assert card["version"] == "1.5"
    assert cast.case_ref in message.payload["summary"]
    for section_id in COL_DOMAINS:
        assert f"Evidence for {section_id}" in shown
    assert "Requires Improvement to be Good" in shown
    assert "Do you agree with the overall grading given?" in shown
    assert {"moderation.save", "escalate.safeguarding", "escalate.discrimination"} <= verbs(card)
    audit = await repo_audit(db, cast.audit_id)
    assert execute_data(card, "moderation.save") == {"audit_id": audit.id, "version": audit.version}


async def test_should_ask_once_per_version_of_the_audit(db: Database):
    cast = await cast_in(db)

    await ask(db, cast.audit_id)
    await ask(db, cast.audit_id)

    assert await count_rows(db, OutboxMessage, OutboxMessage.kind == "moderation") == 1


async def test_should_carry_the_version_the_audit_commits_at_when_changed_in_the_same_go(
    db: Database,
):
    cast = await cast_in(db)

    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.moderation_due_at = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
        await ask_moderator(session, audit, now=NOW, rules=RULES)

    [message] = await messages_to(db, cast.moderator, "moderation")
    audit = await repo_audit(db, cast.audit_id)
    assert execute_data(message.payload["card"], "moderation.save")["version"] == audit.version


async def repo_audit(db: Database, audit_id: int):
    async with db.sessions() as session:
        return await repo.get_audit(session, audit_id)


async def moderation_card_of(db: Database, cast) -> dict:
    await ask(db, cast.audit_id)
    [message] = await messages_to(db, cast.moderator, "moderation")
    return message.payload["card"]


async def test_should_record_a_moderation_that_changes_two_grades(db: Database):
    cast = await cast_in(db, overall=Grade.GOOD)
    card = await moderation_card_of(db, cast)
    data = execute_data(card, "moderation.save")
    answers = agree_all(
        also={
            **disagree("identity", Grade.REQUIRES_IMPROVEMENT, "Identity barely considered"),
            **disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, "Drift in planning"),
        }
    )

    shown = await act(db, cast.moderator, "moderation.save", **data, **answers)

    assert "changed the overall grade from Good to Requires Improvement" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED
    assert audit.moderated_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.moderated_at == NOW
    assert audit.urgent_issues_due_at is None
    assert audit.uopp_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 5 working days
    async with db.sessions() as session:
        moderated = {
            row.section_id: row
            for row in await repo.list_section_grades(session, audit.id, GradeStage.MODERATED)
        }
        [moderation] = await repo.list_moderations(session, audit.id)
    assert moderated["identity"].grade is Grade.REQUIRES_IMPROVEMENT
    assert moderated["identity"].agreed is False
    assert moderated["identity"].rationale == "Identity barely considered"
    assert moderated["journey_of_the_child"].agreed is True
    assert moderated["journey_of_the_child"].grade is Grade.GOOD
    assert moderated["summary"].grade is Grade.REQUIRES_IMPROVEMENT
    assert moderated["feedback"].agreed is True and moderated["feedback"].grade is None
    assert moderation.overall_agreed is False and moderation.rationale == "Drift in planning"
    assert await count_rows(db, AuditEvent, AuditEvent.action == "moderated") == 1


async def test_should_send_the_result_side_by_side_to_the_auditor_practitioner_tm_and_audit_team(
    db: Database,
):
    cast = await cast_in(db, overall=Grade.GOOD)
    card = await moderation_card_of(db, cast)
    answers = agree_all(also=disagree(OVERALL, Grade.REQUIRES_IMPROVEMENT, "Drift"))

    await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"), **answers
    )

    for person, may_dispute in (
        (cast.auditor, False),
        (cast.practitioner, True),
        (cast.team_manager, True),
        (cast.audit_team, False),
        (cast.audit_manager, False),
    ):
        [result] = await messages_to(db, person, "moderation")
        shown = texts(result.payload["card"])
        assert "Auditor" in shown and "Moderator" in shown
        assert "Requires Improvement to be Good" in shown and "Good" in shown
        assert ("dispute.raise" in verbs(result.payload["card"])) is may_dispute
    assert await messages_to(db, cast.moderator, "urgent_issues") == []


async def test_should_agree_with_requires_improvement_and_keep_the_grade(db: Database):
    cast = await cast_in(db, overall=Grade.REQUIRES_IMPROVEMENT)
    card = await moderation_card_of(db, cast)

    shown = await act(
        db,
        cast.moderator,
        "moderation.save",
        **execute_data(card, "moderation.save"),
        **agree_all(),
    )

    assert "agreed with the auditor's overall grade" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.moderated_grade is audit.final_grade is Grade.REQUIRES_IMPROVEMENT


async def test_should_show_each_problem_next_to_its_field_and_keep_what_was_typed(db: Database):
    cast = await cast_in(db, overall=Grade.GOOD)
    card = await moderation_card_of(db, cast)
    answers = agree_all(
        also={
            field_id("agree", "identity"): "disagree",
            field_id("why", "identity"): "Typed reason kept",
            **disagree(OVERALL, Grade.GOOD, ""),
        }
    )

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"), **answers
    )

    body = shown["body"]
    ids = [element.get("id") for element in _flatten(body)]
    texts_in_order = [element.get("text", "") for element in _flatten(body)]
    choice_at = ids.index(field_id("agree", "identity"))  # the grade is chosen with it
    assert "choose the grade you would give" in texts_in_order[choice_at + 1]
    assert _value(body, field_id("why", "identity")) == "Typed reason kept"
    assert "That is the auditor's grade" in texts(shown)
    assert "every disagreement needs one" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.SUBMITTED
    assert await count_rows(db, AuditEvent, AuditEvent.action == "moderated") == 0


async def test_should_refuse_good_overall_when_outcomes_are_not_met(db: Database):
    cast = await cast_in(db, overall=Grade.REQUIRES_IMPROVEMENT, outcomes_met=False)
    card = await moderation_card_of(db, cast)
    answers = agree_all(also=disagree(OVERALL, Grade.GOOD, "Better than it looks"))

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"), **answers
    )

    assert "outcomes as not met" in texts(shown)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED


async def test_should_change_nothing_for_anyone_but_the_moderator(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)

    for someone in (cast.auditor, cast.practitioner, cast.head_of_service, cast.outsider):
        shown = await act(
            db, someone, "moderation.save", **execute_data(card, "moderation.save"), **agree_all()
        )
        assert "moderator allocated to this audit" in texts(shown)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED
    assert await count_rows(db, Moderation) == 0


async def test_should_change_nothing_when_pressed_twice_or_from_a_stale_card(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)
    data = execute_data(card, "moderation.save")
    first = await act(db, cast.moderator, "moderation.save", **data, **agree_all())
    events = await count_rows(db, AuditEvent)
    messages = await count_rows(db, OutboxMessage)

    again = await act(db, cast.moderator, "moderation.save", **data, **agree_all())
    changed_mind = await act(
        db,
        cast.moderator,
        "moderation.save",
        **data,
        **agree_all(also=disagree(OVERALL, Grade.INADEQUATE, "Second thoughts")),
    )

    assert again == first
    assert changed_mind == first
    assert await count_rows(db, Moderation) == 1
    assert await count_rows(db, AuditEvent) == events
    assert await count_rows(db, OutboxMessage) == messages


async def test_should_keep_typed_answers_when_the_audit_changed_under_the_card(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.moderation_due_at = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    answers = agree_all(also=disagree("identity", Grade.INADEQUATE, "Kept when stale"))

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"), **answers
    )

    assert "nothing was saved" in texts(shown)
    assert _value(shown["body"], field_id("why", "identity")) == "Kept when stale"
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED
    audit = await load_audit(db, cast.audit_id)
    assert execute_data(shown, "moderation.save")["version"] == audit.version


@pytest.mark.parametrize(
    "tampered",
    [
        {"audit_id": "1; drop table audits"},
        {"version": -1},
        {"version": True},
        {field_id("why", OVERALL): ["not", "text"]},
        {field_id("why", OVERALL): "x" * 2001},
        {field_id("agree", OVERALL): "maybe"},
    ],
)
async def test_should_refuse_tampered_payloads_and_change_nothing(db: Database, tampered: dict):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)
    data = {**execute_data(card, "moderation.save"), **agree_all(), **tampered}

    await act(db, cast.moderator, "moderation.save", **data)

    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED
    assert await count_rows(db, Moderation) == 0


async def test_moderated_inadequate_asks_the_tm_to_confirm_urgent_issues_in_two_working_days(
    db: Database,
):
    friday = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=friday)
    card = await moderation_card_of(db, cast)

    await act(
        db,
        cast.moderator,
        "moderation.save",
        now=friday,
        **execute_data(card, "moderation.save"),
        **agree_all(),
    )

    audit = await load_audit(db, cast.audit_id)
    assert audit.urgent_issues_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Tue
    assert audit.uopp_due_at == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 3 working days
    [urgent] = await messages_to(db, cast.team_manager, "urgent_issues")
    urgent_card = urgent.payload["card"]
    assert "Tue 1 Dec 2026" in texts(urgent_card)
    data = execute_data(urgent_card, "moderation.urgent_confirmed")

    refused = await act(db, cast.practitioner, "moderation.urgent_confirmed", **data, note="x")
    empty = await act(db, cast.team_manager, "moderation.urgent_confirmed", **data, note=" ")
    done = await act(
        db, cast.team_manager, "moderation.urgent_confirmed", **data, note="Visit made, plan set"
    )
    again = await act(db, cast.team_manager, "moderation.urgent_confirmed", **data, note="Again")

    assert "team manager" in texts(refused)
    assert "Say briefly what was done" in texts(empty)
    assert "Confirmed by Tina Manager" in texts(done) and "Visit made, plan set" in texts(done)
    assert again == done
    assert await count_rows(db, AuditEvent, AuditEvent.action == "urgent_issues_confirmed") == 1
    assert len(await messages_to(db, cast.audit_manager, "urgent_issues")) == 1


def _flatten(elements: list) -> list[dict]:
    flat = []
    for element in elements:
        flat.append(element)
        flat += _flatten(element.get("items", []))
    return flat


def _value(body: list, input_id: str):
    return next(e.get("value") for e in _flatten(body) if e.get("id") == input_id)


# --- the moderation template: comments, the overall grade and actions arising -------------


async def test_should_ask_for_comments_on_every_section_and_for_actions_arising(db: Database):
    cast = await cast_in(db)

    card = await moderation_card_of(db, cast)

    labels = [node["label"] for node in _inputs(card["body"]) if node["id"].startswith("why__")]
    assert labels and all("optional if you agree" in label for label in labels)
    [arising] = [node for node in _inputs(card["body"]) if node["id"] == "actions_arising"]
    assert "Actions arising" in arising["label"] and arising["maxLength"] == 2000


async def test_should_keep_a_comment_made_when_agreeing_and_show_it_in_the_result(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)
    answers = agree_all(also={field_id("why", "identity"): "Identity well evidenced"})

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"), **answers
    )

    async with db.sessions() as session:
        [identity] = [
            row
            for row in await repo.list_section_grades(session, cast.audit_id, GradeStage.MODERATED)
            if row.section_id == "identity"
        ]
    assert identity.agreed is True and identity.rationale == "Identity well evidenced"
    assert "Moderator's comment: Identity well evidenced" in texts(shown)


async def test_should_record_actions_arising_and_send_them_with_the_result(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)
    arising = "Share the learning on chronologies at the next team meeting"

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"),
        **agree_all(), actions_arising=arising,
    )  # fmt: skip

    assert "Actions arising" in texts(shown) and arising in texts(shown)
    [result] = await messages_to(db, cast.practitioner, "moderation")
    assert arising in texts(result.payload["card"])
    async with db.sessions() as session:
        [moderated] = [
            event
            for event in await repo.list_events(session, "audit", cast.audit_id)
            if event.action == "moderated"
        ]
        [moderation] = await repo.list_moderations(session, cast.audit_id)
    assert moderated.after["actions_arising"] == arising
    assert moderation.actions_arising == arising


async def test_should_refuse_actions_arising_over_the_limit_and_save_nothing(db: Database):
    cast = await cast_in(db)
    card = await moderation_card_of(db, cast)

    shown = await act(
        db, cast.moderator, "moderation.save", **execute_data(card, "moderation.save"),
        **agree_all(), actions_arising="x" * 2001,
    )  # fmt: skip

    assert "That's too long" in texts(shown)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.SUBMITTED
    assert await count_rows(db, Moderation) == 0


def _inputs(node) -> list[dict]:
    found = []
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Input."):
            found.append(node)
        for value in node.values():
            found += _inputs(value)
    elif isinstance(node, list):
        for item in node:
            found += _inputs(item)
    return found


async def test_my_audits_takes_the_moderator_back_to_the_form_until_it_is_moderated(
    db: Database,
):
    from tests.dialogs.test_commands import ask_as

    cast = await cast_in(db)
    await moderation_card_of(db, cast)
    listing = await ask_as(db, cast.moderator, "my audits", NOW)
    assert "moderation.open" in verbs(listing)
    data = {"audit_id": cast.audit_id}

    stranger = await act(db, cast.practitioner, "moderation.open", **data)
    assert "isn't yours" in texts(stranger).lower()
    form = await act(db, cast.moderator, "moderation.open", **data)
    assert "moderation.save" in verbs(form)
    await act(
        db, cast.moderator, "moderation.save", **execute_data(form, "moderation.save"),
        **agree_all(),
    )  # fmt: skip

    assert (await load_audit(db, cast.audit_id)).state is AuditState.MODERATED
    assert "moderation.open" not in verbs(await ask_as(db, cast.moderator, "my audits", NOW))
    again = await act(db, cast.moderator, "moderation.open", **data)
    assert "moderation.save" not in verbs(again)


async def test_my_audits_offers_no_moderation_before_the_completeness_check(db: Database):
    from tests.dialogs.test_commands import ask_as

    cast = await cast_in(db)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.draft = {**(audit.draft or {}), "completeness": {"round": 1, "state": "waiting"}}

    listing = await ask_as(db, cast.moderator, "my audits", NOW)

    assert "moderation.open" not in verbs(listing)
    early = await act(db, cast.moderator, "moderation.open", audit_id=cast.audit_id)
    assert "Waiting for the completeness check" in texts(early)
