"""`status CASE-REF` for those who may see the audit, and `cycle status` for the Audit Team."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from storage import repositories as repo
from storage.enums import CycleState, OutboxState
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
from workflow.grades import Grade
from workflow.roles import Role
from workflow.states import AuditState

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
NOT_FOUND = "I can't find an audit for that reference that you can see."


def facts_of(card: dict) -> list[dict[str, str]]:
    """Each audit's facts, in the order shown."""
    shown = []
    for container in card["body"]:
        if container["type"] == "Container":
            [fact_set] = [item for item in container["items"] if item["type"] == "FactSet"]
            shown.append({fact["title"]: fact["value"] for fact in fact_set["facts"]})
    return shown


async def test_status_shows_an_allocated_person_the_audit_with_dates_and_grades(db: Database):
    async with db.sessions.begin() as session:
        team = await create_team(session, name="Child Protection")
        practitioner = await create_staff(
            session, display_name="Hannah Cohen", roles=[(Role.PRACTITIONER, team)]
        )
        case = await create_case(
            session, team=team, practitioner=practitioner, case_ref="CSC-26-0042"
        )
        auditor = await create_staff(session, display_name="Megan Bowen")
        moderator = await create_staff(session, display_name="Kwame Asante")
        await create_audit(
            session,
            case=case,
            auditor=auditor,
            moderator=moderator,
            state=AuditState.SUBMITTED,
            initial_grade=Grade.REQUIRES_IMPROVEMENT,
            due_at=datetime(2026, 11, 27, 17, tzinfo=UTC),
            moderation_due_at=datetime(2026, 11, 30, 17, tzinfo=UTC),
        )

    card = await ask_as(db, practitioner, "status csc-26-0042", NOW)

    assert "Audit of CSC-26-0042" in texts_in(card)
    [facts] = facts_of(card)
    assert facts["State"] == "Submitted and waiting for moderation"
    assert facts["Team"] == "Child Protection"
    assert facts["Auditor"] == "Megan Bowen"
    assert facts["Moderator"] == "Kwame Asante"
    assert facts["Audit due"] == "Fri 27 Nov"  # done: its date has passed but it is not overdue
    assert facts["Moderation due"] == "Mon 30 Nov (Overdue)"
    assert facts["Auditor's grade"] == "Requires Improvement to be Good"


@pytest.mark.parametrize(
    "who", ["auditor", "moderator", "team manager", "line manager", "audit team", "head of service"]
)
async def test_status_is_shown_to_everyone_the_rule_allows(db: Database, who: str):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        team = await create_team(session, service=service)
        manager = await create_staff(session)
        auditor = await create_staff(session, line_manager=manager)
        audit = await create_audit(
            session, case=await create_case(session, team=team, case_ref="S-1"), auditor=auditor
        )
        people = {
            "auditor": auditor,
            "moderator": await repo.get_staff(session, audit.moderator_id),
            "team manager": await repo.get_staff(session, audit.team_manager_id),
            "line manager": manager,
            "audit team": await create_staff(session, roles=[(Role.AUDIT_TEAM, service)]),
            "head of service": await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)]),
        }

    card = await say(db, people[who], "status S-1")

    assert "Audit of S-1" in texts_in(card)


async def test_status_refused_reads_exactly_like_an_unknown_reference(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        await create_audit(
            session,
            case=await create_case(
                session, team=await create_team(session, service=service), case_ref="HIDDEN-1"
            ),
        )
        other_service = await create_service(session)
        outsider = await create_staff(session, roles=[(Role.AUDIT_TEAM, other_service)])

    refused = await say(db, outsider, "status HIDDEN-1")
    unknown = await say(db, outsider, "status NOSUCH-1")

    assert NOT_FOUND in texts_in(refused)
    assert refused == unknown
    assert "HIDDEN" not in texts_in(refused)


async def test_status_of_a_case_not_being_audited_is_not_found(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
        await create_case(session, team=await create_team(session, service=service), case_ref="N-1")

    assert NOT_FOUND in texts_in(await say(db, audit_team, "status N-1"))


@pytest.mark.parametrize(
    "typed", ["status John Smith", "status Smith", "status CSC 26 1", "status <b>1"]
)
async def test_status_with_a_malformed_reference_says_so_without_echoing_it(db: Database, typed):
    async with db.sessions.begin() as session:
        person = await create_staff(session)

    text = texts_in(await say(db, person, typed))

    assert "That doesn't look like a case reference" in text
    assert "Smith" not in text and "<b>" not in text


async def test_status_without_a_reference_asks_for_one(db: Database):
    async with db.sessions.begin() as session:
        person = await create_staff(session)

    assert "Type **status** and the case reference" in texts_in(await say(db, person, "status"))


async def test_status_puts_the_live_audit_in_the_open_cycle_first(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        case = await create_case(
            session, team=await create_team(session, service=service), case_ref="TWICE-1"
        )
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
        last_year = await create_cycle(
            session,
            service=service,
            title="Last year",
            month=date(2025, 11, 1),
            state=CycleState.CLOSED,
        )
        this_month = await create_cycle(
            session, service=service, title="This month", month=date(2026, 12, 1)
        )
        await create_audit(
            session, cycle=last_year, case=case, state=AuditState.CLOSED, final_grade=Grade.GOOD
        )
        first = await create_audit(
            session, cycle=this_month, case=case, state=AuditState.REALLOCATED
        )
        await create_audit(session, cycle=this_month, case=case, predecessor_id=first.id)

    card = await say(db, audit_team, "status TWICE-1")
    titles = [c["items"][0]["text"] for c in card["body"] if c["type"] == "Container"]

    assert titles == ["This month", "Last year (cycle closed)"]  # the reallocated one is left out
    assert facts_of(card)[1]["Final grade"] == "Good"


async def test_status_is_not_shown_to_the_auditor_it_was_reallocated_from(db: Database):
    async with db.sessions.begin() as session:
        case = await create_case(session, case_ref="MOVED-1")
        first = await create_audit(session, case=case, state=AuditState.REALLOCATED)
        cycle = await repo.get_cycle(session, first.cycle_id)
        await create_audit(session, cycle=cycle, case=case, predecessor_id=first.id)
        former = await repo.get_staff(session, first.auditor_id)

    assert NOT_FOUND in texts_in(await say(db, former, "status MOVED-1"))


async def an_open_cycle(db: Database):
    """A CSC cycle with audits in several states, one overdue of each kind, and another service."""
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Children's Social Care")
        team = await create_team(session, service=service)
        other_team = await create_team(session, service=service)
        cycle = await create_cycle(session, service=service, title="CSC December")
        moderation = datetime(2026, 12, 31, 17, tzinfo=UTC)
        late_auditor = await create_staff(session, display_name="Megan Bowen")
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=team, case_ref="LATE-1"),
            auditor=late_auditor,
            due_at=NOW - timedelta(days=2),
            moderation_due_at=moderation,
        )
        late_moderator = await create_staff(session, display_name="Kwame Asante")
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=other_team, case_ref="LATE-2"),
            moderator=late_moderator,
            state=AuditState.SUBMITTED,
            moderation_due_at=NOW - timedelta(days=1),
        )
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=team, case_ref="OK-3"),
            state=AuditState.IN_PROGRESS,
            due_at=NOW + timedelta(days=5),
            moderation_due_at=moderation,
        )
        await create_audit(
            session,
            cycle=cycle,
            case=await create_case(session, team=team, case_ref="GONE-4"),
            state=AuditState.INVALIDATED,
            due_at=NOW - timedelta(days=9),
        )
        elsewhere = await create_service(session, name="Early Help")
        await create_audit(
            session,
            cycle=await create_cycle(session, service=elsewhere, title="EH December"),
            case=await create_case(session, team=await create_team(session, service=elsewhere)),
        )
    return service, team, late_auditor, late_moderator


async def test_cycle_status_counts_by_state_in_words_and_lists_what_is_overdue(db: Database):
    service, _, _, _ = await an_open_cycle(db)
    async with db.sessions.begin() as session:
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])

    card = await ask_as(db, audit_team, "cycle status", NOW)
    text = texts_in(card)

    assert "CSC December (Children's Social Care)" in text
    assert "EH December" not in text
    assert "4 audits. Moderation due Thu 31 Dec." in text
    [counts] = facts_of(card)
    assert counts == {
        "Allocated and not yet started": "1",
        "In progress": "1",
        "Submitted and waiting for moderation": "1",
        "Invalidated": "1",
    }
    assert "Overdue: 2 audits" in text
    assert "- LATE-1: audit was due Mon 30 Nov (auditor Megan Bowen)" in text
    assert "- LATE-2: moderation was due Tue 1 Dec (moderator Kwame Asante)" in text
    assert "OK-3" not in text and "GONE-4" not in text


async def test_cycle_status_says_who_could_not_be_reached_and_why(db: Database):
    service, _, late_auditor, late_moderator = await an_open_cycle(db)
    async with db.sessions.begin() as session:
        audit_manager = await create_staff(session, roles=[(Role.AUDIT_MANAGER, service)])
        outsider = await create_staff(session, display_name="Not In This Cycle")
        for person, key, state, error in [
            (late_auditor, "a", OutboxState.UNREACHABLE, "403 MessageWritesBlocked"),
            (late_moderator, "b", OutboxState.UNREACHABLE, "no conversation reference"),
            (late_moderator, "c", OutboxState.SENT, None),  # reached since: not listed
            (outsider, "d", OutboxState.UNREACHABLE, "no conversation reference"),
        ]:
            message = await repo.enqueue_message(session, person.id, "notice", {"text": "x"}, key)
            message.state, message.last_error = state, error
            message.created_at = NOW - timedelta(hours=1 if state is OutboxState.SENT else 2)

    text = texts_in(await ask_as(db, audit_manager, "cycle status", NOW))

    assert "Could not reach 1 person" in text
    assert "- Megan Bowen: has blocked auditbot in Teams" in text
    assert "Kwame Asante:" not in text
    assert "Not In This Cycle" not in text


async def test_cycle_status_for_a_team_scoped_audit_team_role_covers_that_team(db: Database):
    _, team, _, _ = await an_open_cycle(db)
    async with db.sessions.begin() as session:
        team_auditor = await create_staff(session, roles=[(Role.AUDIT_TEAM, team)])

    card = await ask_as(db, team_auditor, "cycle status", NOW)
    text = texts_in(card)

    assert "3 audits." in text
    assert "LATE-1" in text and "LATE-2" not in text


async def test_cycle_status_with_no_open_cycle_says_so(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        await create_cycle(session, service=service, state=CycleState.CLOSED)
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])

    assert "No open cycles" in texts_in(await say(db, audit_team, "cycle status"))
