"""`my audits` and `my actions`: a person's own work, soonest due first, overdue said in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage import repositories as repo
from storage.enums import CycleState, RecommendationLevel, RecommendationStatus
from tests.bot.test_messages import texts_in
from tests.conftest import Database
from tests.dialogs.test_commands import ask_as, say
from tests.factories import (
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from workflow.roles import Role
from workflow.states import AuditState

NOW = datetime.now(UTC)


def days(n: int) -> datetime:
    return NOW + timedelta(days=n)


def position(text: str, *parts: str) -> list[int]:
    return [text.index(part) for part in parts]


def overdue_blocks(card: dict) -> list[dict]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "TextBlock" and node.get("color") == "Attention":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_my_audits_lists_every_part_i_play_soonest_due_first(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        team = await create_team(session, service=service)
        me = await create_staff(
            session,
            roles=[(Role.PRACTITIONER, team), (Role.AUDITOR, service), (Role.MODERATOR, service)],
            auditor_trained=True,
        )
        cycle = await create_cycle(session, service=service)
        other_team = await create_team(session, service=service)
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=other_team, case_ref="AUD-1"),
            auditor=me,
            due_at=days(10),
        )
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=team, practitioner=me, case_ref="MINE-2"),
            due_at=days(3),
        )
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=other_team, case_ref="MOD-3"),
            moderator=me,
            state=AuditState.SUBMITTED,
            moderation_due_at=days(-2),
        )

    card = await say(db, me, "My audits")
    text = texts_in(card)

    assert position(text, "MOD-3", "MINE-2", "AUD-1") == sorted(
        position(text, "MOD-3", "MINE-2", "AUD-1")
    )
    assert "Moderator: moderate the audit" in text
    assert "Practitioner: your work is being audited; write your own section" in text
    assert "Auditor: start the audit" in text
    assert "The audit is submitted and waiting for moderation." in text
    assert "3 things for you, 1 of them overdue, soonest due first." in text
    [late] = overdue_blocks(card)
    assert late["text"].startswith("Overdue: was due ")


async def test_my_audits_shows_a_team_manager_their_practitioners_audits_by_name(db: Database):
    async with db.sessions.begin() as session:
        team = await create_team(session)
        manager = await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
        practitioner = await create_staff(
            session, display_name="Nadia Hussain", roles=[(Role.PRACTITIONER, team)]
        )
        case = await create_case(session, team=team, practitioner=practitioner, case_ref="TM-1")
        await create_audit(session, case=case, team_manager=manager, due_at=days(5))

    text = texts_in(await say(db, manager, "my audits"))

    assert "TM-1" in text
    assert "Team manager: Nadia Hussain's work is being audited" in text


async def test_my_audits_leaves_out_ended_audits_and_closed_cycles(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        auditor = await create_staff(session, roles=[(Role.AUDITOR, service)], auditor_trained=True)
        closed = await create_cycle(session, service=service, state=CycleState.CLOSED)
        await create_audit(
            session,
            cycle=closed,
            case=await create_case(session, case_ref="OLD-1"),
            auditor=auditor,
        )
        live = await create_cycle(session, service=service)
        for ref, state in [("GONE-2", AuditState.REALLOCATED), ("BAD-3", AuditState.INVALIDATED)]:
            await create_audit(
                session,
                cycle=live,
                case=await create_case(session, case_ref=ref),
                auditor=auditor,
                state=state,
            )

    text = texts_in(await say(db, auditor, "my audits"))

    assert "Nothing to do right now" in text
    for ref in ("OLD-1", "GONE-2", "BAD-3"):
        assert ref not in text


async def test_my_audits_is_friendly_when_there_is_nothing_to_do(db: Database):
    async with db.sessions.begin() as session:
        auditor = await create_staff(session)
        await create_audit(session, auditor=auditor, state=AuditState.SUBMITTED)

    text = texts_in(await say(db, auditor, "my audits"))

    assert "Nothing to do right now" in text


async def test_my_audits_for_someone_not_in_the_staff_list_says_ask_the_audit_team(db: Database):
    text = texts_in(await say(db, None, "my audits"))

    assert "ask your Audit Team to add you" in text


async def test_my_audits_gives_due_dates_as_days_in_london(db: Database):
    async with db.sessions.begin() as session:
        auditor = await create_staff(session)
        # 23:30 UTC on Sunday 29 March 2026 is 00:30 on Monday 30 March in London (BST).
        await create_audit(
            session,
            auditor=auditor,
            case=await create_case(session, case_ref="BST-1"),
            due_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC),
        )
        await create_audit(
            session,
            auditor=auditor,
            case=await create_case(session, case_ref="GMT-2"),
            due_at=datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
        )

    text = texts_in(await ask_as(db, auditor, "my audits", datetime(2026, 4, 1, 9, tzinfo=UTC)))

    assert "Overdue: was due Mon 30 Mar" in text
    assert "Due Mon 30 Nov" in text
    later = texts_in(await ask_as(db, auditor, "my audits", datetime(2027, 1, 4, 9, tzinfo=UTC)))
    assert "Overdue: was due Mon 30 Nov 2026" in later


async def test_my_actions_lists_what_i_own_and_have_not_finished_overdue_first(db: Database):
    async with db.sessions.begin() as session:
        owner = await create_staff(session)
        someone_else = await create_staff(session)
        audit = await create_audit(session, case=await create_case(session, case_ref="ACT-1"))
        today = date.today()
        wanted = [
            (
                "Review the plan with the family",
                today + timedelta(days=20),
                RecommendationStatus.OPEN,
            ),
            (
                "Hold supervision fortnightly",
                today - timedelta(days=5),
                RecommendationStatus.NOT_YET,
            ),
            ("Update the chronology", today + timedelta(days=2), RecommendationStatus.PARTLY),
            ("Already done", today - timedelta(days=9), RecommendationStatus.DONE),
        ]
        for action, due_on, status in wanted:
            rec = await repo.add_recommendation(
                session, audit.id, RecommendationLevel.CHILD, action, None, owner.id, due_on
            )
            rec.status = status
        await repo.add_recommendation(
            session, audit.id, RecommendationLevel.SERVICE, "Not mine", None, someone_else.id, today
        )

    card = await say(db, owner, "my actions")
    text = texts_in(card)

    order = position(text, "Hold supervision", "Update the chronology", "Review the plan")
    assert order == sorted(order)
    assert "Already done" not in text
    assert "Not mine" not in text
    assert "ACT-1" in text
    assert "Child-level action, not yet done." in text
    assert "Child-level action, partly done." in text
    assert "You own 3 open actions, 1 of them overdue." in text
    [late] = overdue_blocks(card)
    assert late["text"].startswith("Overdue: was due")


async def test_my_actions_is_friendly_when_there_are_none(db: Database):
    async with db.sessions.begin() as session:
        person = await create_staff(session)

    assert "No open actions" in texts_in(await say(db, person, "my actions"))
    assert "ask your Audit Team" in texts_in(await say(db, None, "my actions"))


async def test_my_audits_offers_the_auditor_the_way_into_the_wizard(db: Database):
    async with db.sessions.begin() as session:
        allocated = await create_audit(session, due_at=days(5))
        auditor = await repo.get_staff(session, allocated.auditor_id)
        started = await create_audit(
            session, auditor=auditor, state=AuditState.IN_PROGRESS, due_at=days(9)
        )

    card = await say(db, auditor, "my audits")

    buttons = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                buttons.append((node["title"], node["verb"], node["data"]["audit_id"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    assert buttons == [
        ("Start audit", "audit.start", allocated.id),
        ("Continue audit", "wizard.resume", started.id),
    ]


async def test_my_actions_numbers_each_action_so_the_owner_can_answer_in_chat(db: Database):
    async with db.sessions.begin() as session:
        owner = await create_staff(session)
        audit = await create_audit(session, case=await create_case(session, case_ref="ACT-2"))
        rec = await repo.add_recommendation(
            session, audit.id, RecommendationLevel.CHILD, "Review the plan", None, owner.id,
            date.today() - timedelta(days=1),
        )  # fmt: skip

    text = texts_in(await say(db, owner, "my actions"))
    assert f"ACT-2: action {rec.id}" in text
    assert f"done {rec.id}" in text

    await say(db, owner, f"done {rec.id}")

    async with db.sessions() as session:
        assert (await repo.get_recommendation(session, rec.id)).status is RecommendationStatus.DONE
    assert "No open actions" in texts_in(await say(db, owner, "my actions"))
