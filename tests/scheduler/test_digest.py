"""The Heads of Service's weekly digest, from a realistic programme (tests/scheduler/dataset.py)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from cards.digest import NOTHING_NEEDS_YOU, OPEN_DECISION
from dialogs import flows  # noqa: F401 (declares every card action)
from dialogs.actions import ActionContext, ActionRefused, run_action
from scheduler.digest import build_digest, digest_readers, send_weekly_digests
from scheduler.follow_up import run_follow_ups
from storage.models import ExemptionRequest, OutboxMessage, Staff
from tests.conftest import Database
from tests.factories import (
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from tests.render.checks import card_bytes, card_problems, execute_verbs
from tests.scheduler.dataset import NOW, Dataset, build_dataset
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

RULES = ProgrammeRules()
CASE_REF = re.compile(r"\b(?:EH|CSC)-26-\d{4}\b")


@pytest.fixture
async def world(db: Database) -> Dataset:
    async with db.sessions.begin() as session:
        return await build_dataset(session)


async def digests(db: Database) -> dict[int, OutboxMessage]:
    async with db.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
        return {row.recipient_id: row for row in rows if row.recipient_id is not None}


async def view_for(db: Database, head_id: int):
    async with db.sessions() as session:
        [reader] = [r for r in await digest_readers(session) if r.staff.id == head_id]
        return await build_digest(session, reader, now=NOW, rules=RULES)


async def test_each_head_of_service_gets_one_card_about_their_own_service_only(
    db: Database, world: Dataset
):
    assert await send_weekly_digests(db.sessions, FixedClock(NOW), RULES) == 2

    sent = await digests(db)
    assert set(sent) == {data.head.id for data in world.services.values()}
    for data in world.services.values():
        text = json.dumps(sent[data.head.id].payload["card"])
        refs = set(CASE_REF.findall(text))
        assert refs, "the digest names the cases that need attention"
        assert refs <= data.expected.case_refs
        assert data.service.name in text


async def test_digest_counts_are_those_of_the_week_and_the_cycles(db: Database, world: Dataset):
    for data in world.services.values():
        expected = data.expected
        view = await view_for(db, data.head.id)

        assert view.current is not None and view.previous is not None
        assert view.current.cycle == "November 2026" and view.previous.cycle == "October 2026"
        assert {k: v for k, v in view.current.counts.items() if v} == {
            grade.label: n for grade, n in expected.grades_current.items()
        }
        assert {k: v for k, v in view.previous.counts.items() if v} == {
            grade.label: n for grade, n in expected.grades_previous.items()
        }
        assert (view.changes.raised, view.changes.lowered, view.changes.unchanged) == (
            expected.raised,
            expected.lowered,
            expected.unchanged,
        )
        assert (view.allocated, view.submitted, view.moderated) == (
            expected.allocated,
            expected.submitted,
            expected.moderated,
        )
        assert (view.uopps_booked, view.uopps_held) == (expected.booked, expected.held)
        assert view.inadequate_total == expected.inadequate_open
        assert view.decisions_total == expected.decisions
        assert len(view.overdue) == min(view.owners_total, 10)
        for owner in view.overdue:
            assert len(owner.items) == min(owner.total, 5)
        assert view.overdue_total == sum(expected.overdue.values())
        shown = {"UoPP" if item.what.startswith("UoPP") else item.what
                 for owner in view.overdue for item in owner.items}  # fmt: skip
        assert shown <= set(expected.overdue)


async def test_decisions_waiting_are_buttons_that_open_their_cards(db: Database, world: Dataset):
    data = world.services["EH"]
    view = await view_for(db, data.head.id)
    kinds = sorted(decision.kind for decision in view.decisions)
    assert kinds == ["dispute"] * 3 + ["exemption"] * 2 + ["kloe"]

    async with db.sessions.begin() as session:
        head = await session.get(type(data.head), data.head.id)
        for decision in view.decisions:
            context = ActionContext(
                session=session,
                staff=head,
                data={"item": decision.kind, "item_id": decision.item_id},
                now=NOW,
                rules=RULES,
            )
            answer = await run_action(context, OPEN_DECISION)
            verbs = execute_verbs(answer)
            assert {"exemption": "exemption.decide", "dispute": "dispute.decide",
                    "kloe": "kloe.decide"}[decision.kind] in verbs  # fmt: skip
            assert card_problems(answer) == []


async def test_a_decision_card_is_opened_only_by_that_services_head(db: Database, world: Dataset):
    eh_head = world.services["CSC"].head
    async with db.sessions() as session:
        request_id = await session.scalar(select(ExemptionRequest.id).limit(1))
        csc_request = await session.scalar(
            select(ExemptionRequest.id).order_by(ExemptionRequest.id.desc()).limit(1)
        )
    assert request_id != csc_request
    async with db.sessions.begin() as session:
        head = await session.get(type(eh_head), eh_head.id)
        context = ActionContext(
            session=session, staff=head, data={"item": "exemption", "item_id": request_id},
            now=NOW, rules=RULES,
        )  # fmt: skip
        with pytest.raises(ActionRefused) as refused:
            await run_action(context, OPEN_DECISION)
    assert "Head of Service for Early Help" in str(refused.value)


async def test_running_twice_in_a_week_sends_once_and_next_week_again(db: Database, world: Dataset):
    clock = FixedClock(NOW)
    assert await send_weekly_digests(db.sessions, clock, RULES) == 2
    clock.advance(timedelta(hours=3))
    assert await send_weekly_digests(db.sessions, clock, RULES) == 0
    assert len(await digests(db)) == 2

    clock.advance(timedelta(days=7))
    assert await send_weekly_digests(db.sessions, clock, RULES) == 2
    async with db.sessions() as session:
        count = len(list(await session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.kind == "digest"))))  # fmt: skip
    assert count == 4


async def test_the_realistic_digest_is_fit_to_send(db: Database, world: Dataset):
    await send_weekly_digests(db.sessions, FixedClock(NOW), RULES)
    for message in (await digests(db)).values():
        card = message.payload["card"]
        assert card_problems(card) == []
        assert card_bytes(card) < 80 * 1024
        assert NOTHING_NEEDS_YOU not in json.dumps(card)


async def test_a_quiet_service_reads_nothing_needs_you(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Youth Justice")
        team = await create_team(session, service=service)
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        other = await create_service(session, name="Elsewhere")
        # Late work in another service is not this Head of Service's business.
        await create_audit(
            session,
            case=None,
            cycle=None,
            due_at=NOW - timedelta(days=3),
            state=AuditState.ALLOCATED,
        )
        del other, team
    assert await send_weekly_digests(db.sessions, FixedClock(NOW), RULES) == 1

    sent = await digests(db)
    card = sent[head.id].payload["card"]
    assert NOTHING_NEEDS_YOU in json.dumps(card)
    assert card_problems(card) == []
    view = await view_for(db, head.id)
    assert not view.needs_you and view.current is None


async def test_reaudits_falling_due_and_samples_drawn_are_named(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Early Help")
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        cycle = await create_cycle(session, service=service, month=date(2026, 5, 1), title="May")
        for _ in range(5):
            await create_audit(
                session, cycle=cycle, state=AuditState.UOPP_HELD,
                final_grade=Grade.REQUIRES_IMPROVEMENT, moderated_at=NOW - timedelta(days=180),
            )  # fmt: skip
        # Nobody may audit these cases again: every auditor here audited one already.
        await session.execute(update(Staff).values(auditor_trained=False))

    view = await view_for(db, head.id)
    assert view.reaudits == [
        "May: 5 audits below Good; at least 10% are re-audited from Mon 30 Nov."
    ]

    monday = NOW + timedelta(days=7)
    await run_follow_ups(db.sessions, FixedClock(monday - timedelta(hours=2)), RULES)
    async with db.sessions() as session:
        [reader] = await digest_readers(session)
        later = await build_digest(session, reader, now=monday, rules=RULES)
    assert later.reaudits == [
        "May: 1 case picked for re-audit, could not be allocated; the Audit Team has the reasons."
    ]


async def test_a_head_of_one_team_reads_about_that_team_only(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Children's Social Care")
        mine = await create_team(session, service=service)
        theirs = await create_team(session, service=service)
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, mine)])
        for team, ref in ((mine, "CSC-26-0001"), (theirs, "CSC-26-0002")):
            case = await create_case(session, team=team, case_ref=ref)
            await create_audit(session, case=case, due_at=NOW - timedelta(days=2))

    await send_weekly_digests(db.sessions, FixedClock(NOW), RULES)

    text = json.dumps((await digests(db))[head.id].payload["card"])
    assert "CSC-26-0001" in text and "CSC-26-0002" not in text


async def test_two_instances_at_once_queue_one_digest_each(db: Database, world: Dataset):
    clock = FixedClock(NOW)

    await asyncio.gather(
        send_weekly_digests(db.sessions, clock, RULES),
        send_weekly_digests(db.sessions, clock, RULES),
    )

    async with db.sessions() as session:
        keys = list(
            await session.scalars(
                select(OutboxMessage.idempotency_key).where(OutboxMessage.kind == "digest")
            )
        )
    assert sorted(keys) == sorted(
        f"digest:2026-W48:to:{data.head.id}" for data in world.services.values()
    )


def test_the_week_is_named_by_the_seven_days_it_counts():
    from scheduler.digest import _week_label

    assert _week_label(date(2026, 11, 23)) == "Week 48, 2026: the seven days since Mon 16 Nov"


async def test_the_digest_links_to_the_workspace_tracker_when_it_is_deployed(
    db: Database, world: Dataset
):
    link = "https://teams.microsoft.com/l/entity/5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01/audit-tracker"
    await send_weekly_digests(db.sessions, FixedClock(NOW), RULES, tracker_url=link)

    for message in (await digests(db)).values():
        tracker, reports = [
            a for a in message.payload["card"]["actions"] if a["type"] == "Action.OpenUrl"
        ]
        assert tracker == {"type": "Action.OpenUrl", "title": "Open the audit tracker", "url": link}
        # The reports page: the same tab, opened at its sub-entity (see workspace/tab.html).
        assert reports["title"] == "Open the reports"
        assert reports["url"] == link + "?context=%7B%22subEntityId%22%3A%22reports%22%7D"
