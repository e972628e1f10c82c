"""Opening a cycle of 200 cases tells every person involved exactly once, while Teams throttles.

The whole path: select and allocate, queue the notices in the same transaction,
then the real sender delivers them (bundled per person) through a stand-in that
enforces Teams' limits and throttles besides.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from bot.delivery import RetryPolicy
from bot.ratelimit import SystemClock, Window
from dialogs.cycles import CycleRequest, open_cycle
from storage import repositories as repo
from storage.enums import OutboxState
from tests.bot.test_outbox import create_person, personal_chat, running_outbox
from tests.conftest import Database
from tests.factories import create_case, create_service, create_team
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.roles import Role
from workflow.rules import ProgrammeRules

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
TEAMS, PRACTITIONERS, CASES_EACH = 10, 3, 8  # 240 open cases
AUDITORS, MODERATORS = 30, 8


async def build_organisation(db: Database, connector: ConnectorStandIn) -> None:
    """Half the people have talked to the bot; the other half need a chat created."""
    async with db.sessions.begin() as session:
        service = await create_service(session, code="BIG")
        count = 0

        async def person(role: Role, scope, **fields):
            nonlocal count
            count += 1
            staff = await create_person(session, connector, has_chat=count % 2 == 0, **fields)
            team_id = scope.id if scope is not service else None
            await repo.assign_role(session, staff.id, role, service.id, team_id)
            return staff

        for _ in range(AUDITORS):
            await person(Role.AUDITOR, service, auditor_trained=True)
        for _ in range(MODERATORS):
            await person(Role.MODERATOR, service, auditor_trained=True)
        for n in range(TEAMS):
            team = await create_team(session, service=service, code=f"BIG-{n}")
            await person(Role.TEAM_MANAGER, team)
            for _ in range(PRACTITIONERS):
                practitioner = await person(Role.PRACTITIONER, team)
                for _ in range(CASES_EACH):
                    await create_case(session, team=team, practitioner=practitioner)


def headings(sent) -> list[str]:
    return [a["content"]["body"][0]["text"] for a in sent.activity.get("attachments") or []]


async def test_opening_a_cycle_of_200_tells_everyone_once_while_teams_throttles(
    db: Database, identity: IdentityStandIn
):
    # Tighter than the sender believes, so Teams throttles when sends come fast; and every
    # seventh send is throttled besides, so it throttles however slow this machine is today.
    limits = ((60, 1.0),)
    async with ConnectorStandIn(
        app_limits=limits, throttle_every=7, tokens=identity.issued
    ) as connector:
        await build_organisation(db, connector)
        async with db.sessions.begin() as session:
            opened = await open_cycle(
                session,
                CycleRequest(service_code="BIG", month=date(2026, 12, 1), seed=11, total=200),
                rules=ProgrammeRules(),
                now=NOW,
            )
            audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
            people = await repo.staff_by_ids(
                session,
                {p for a in audits for p in (a.auditor_id, a.moderator_id, a.practitioner_id,
                                              a.team_manager_id)},
            )  # fmt: skip
            cases = await repo.cases_by_ids(session, {a.case_id for a in audits})
            rows = await repo.list_messages(session)
        expected: Counter[tuple[str, str]] = Counter()
        for audit in audits:
            ref = cases[audit.case_id].case_ref
            expected[(people[audit.auditor_id].aad_object_id, f"You're auditing case {ref}")] += 1
            expected[
                (people[audit.moderator_id].aad_object_id, f"You're moderating case {ref}")
            ] += 1
            expected[
                (
                    people[audit.practitioner_id].aad_object_id,
                    f"Your work on case {ref} has been picked for audit",
                )
            ] += 1
            tm = people[audit.team_manager_id]
            expected[(tm.aad_object_id,
                      f"Copy: {people[audit.practitioner_id].display_name}'s case {ref} "
                      "picked for audit")] += 1  # fmt: skip
        assert len(audits) == 200 and len(rows) == 800

        options = {
            "app_windows": (Window(75, 1.0),),
            "margin_seconds": 0.0,
            "retry": RetryPolicy(max_attempts=12, base_seconds=0.2, max_seconds=2.0),
        }
        async with running_outbox(
            db, connector, identity, clock=SystemClock(), **options
        ) as outbox:
            await outbox.sender.start()
            await connector.wait_until(
                lambda: sum(len(headings(s)) for s in connector.sent) >= 800, timeout=90
            )
            await outbox.sender.stop()
            messages = await outbox.messages()

    created = {c.conversation_id: c.user_id for c in connector.created}
    received: Counter[tuple[str, str]] = Counter()
    for sent in connector.sent:
        user = created.get(sent.conversation_id) or sent.conversation_id.removeprefix(
            personal_chat("")
        )
        for heading in headings(sent):
            received[(user, heading)] += 1
    assert connector.throttled > 0
    assert received == expected  # every notice, to the right person, exactly once
    assert len(connector.sent) < 800  # several notices to one person went as one message
    assert {m.state for m in messages.values()} == {OutboxState.SENT}
