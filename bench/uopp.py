"""How long booking a day's UoPP meetings takes through Microsoft Graph, and how many calls.

Fifty audits are moderated on one day; their meetings draw on 150 people (each meeting a
random auditor, practitioner and team manager from the pool, so people sit in several
meetings), whose Outlook calendars in the local Graph stand-in are already 40% full, some
in other time zones. The booker runs as the scheduler would run it, tick after tick,
with GraphCalendar on the real msgraph-sdk and azure-identity over HTTP on 127.0.0.1, and
every meeting it books shows up busy in later getSchedule answers. Run:

    python bench/uopp.py

Prints a table, then `BENCH uopp_50_meetings <seconds> s` (all 50 meetings found a time
and were booked or offered), `BENCH uopp_graph_calls_per_booked_meeting <n> calls` (every
Graph call, tokens aside, over the meetings actually booked: the calls spent on meetings
that found no common slot count against the booked ones) and
`BENCH uopp_get_schedule_calls_per_booked_meeting <n> calls` (the aim: about one, not one
per attendee).
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings  # noqa: E402
from bot.graph import build_calendar  # noqa: E402
from dialogs.uopp_booking import book_due_meetings  # noqa: E402
from dialogs.uopp_planning import plan_uopp_meeting  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.enums import MeetingState  # noqa: E402
from tests.factories import (  # noqa: E402
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from tests.standins.graph import GraphStandIn  # noqa: E402
from workflow.calendar import FixedClock, WorkingCalendar  # noqa: E402
from workflow.grades import Grade  # noqa: E402
from workflow.roles import Role  # noqa: E402
from workflow.rules import ProgrammeRules  # noqa: E402
from workflow.states import AuditState  # noqa: E402

MEETINGS, PEOPLE, TEAMS, BUSY_SHARE, SEED = 50, 150, 10, 0.4, 20261123
MODERATED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
ZONES = ("GMT Standard Time",) * 8 + ("W. Europe Standard Time", "Eastern Standard Time")
RULES = ProgrammeRules()


async def build(sessions, graph: GraphStandIn, rng: random.Random) -> None:
    """150 people with busy calendars; 50 audits moderated today, their meetings planned."""
    async with sessions.begin() as session:
        service = await create_service(session, name="Children's Social Care")
        teams = [await create_team(session, service=service) for _ in range(TEAMS)]
        pool = [
            await create_staff(
                session,
                roles=[(Role.PRACTITIONER, teams[n % TEAMS]), (Role.AUDITOR, service)],
                auditor_trained=True,
            )
            for n in range(PEOPLE)
        ]
        moderator = await create_staff(session, roles=[(Role.MODERATOR, service)])
        cycle = await create_cycle(session, service=service)
        for number in range(MEETINGS):
            auditor, practitioner, manager = rng.sample(pool, 3)
            case = await create_case(session, team=teams[number % TEAMS], practitioner=practitioner)
            audit = await create_audit(
                session,
                cycle=cycle,
                case=case,
                auditor=auditor,
                moderator=moderator,
                team_manager=manager,
                state=AuditState.MODERATED,
                initial_grade=Grade.GOOD,
                moderated_grade=Grade.GOOD,
                final_grade=Grade.GOOD,
                moderated_at=MODERATED_AT,
            )
            await plan_uopp_meeting(session, audit, now=MODERATED_AT, rules=RULES)
    working = WorkingCalendar.from_rules(RULES)
    days = [MODERATED_AT.date() + timedelta(days=n) for n in range(1, 8)]
    for person in pool:
        graph.add_person(person.email, time_zone=rng.choice(ZONES))
        for day in days:
            if not working.is_working_day(day):
                continue
            start = working.start_of_working_day(day)
            for half_hour in range(16):
                if rng.random() < BUSY_SHARE:
                    at = start + timedelta(minutes=30 * half_hour)
                    graph.add_busy(person.email, at, at + timedelta(minutes=30))


async def count_states(sessions) -> Counter[str]:
    async with sessions() as session:
        meetings = []
        for audit in await repo.list_audits_in_states(session, list(AuditState)):
            meetings += await repo.list_meetings(session, audit.id)
    return Counter(str(m.state) for m in meetings)


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="bench-uopp-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await async_upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        async with GraphStandIn() as graph:
            await build(sessions, graph, rng)
            settings = load_settings(
                app_id=graph.client_id,
                app_type="UserAssignedMSI",
                tenant_id=graph.tenant_id,
                **graph.settings(),
            )
            calendar = build_calendar(settings)
            assert calendar is not None
            await calendar.warm_up()
            graph.calls.clear()
            clock = FixedClock(MODERATED_AT + timedelta(minutes=5))
            ticks, started = 0, time.perf_counter()
            while (await count_states(sessions))[MeetingState.PROPOSED] and ticks < 20:
                await book_due_meetings(sessions, calendar, clock, RULES)
                clock.advance(timedelta(minutes=1))
                ticks += 1
            elapsed = time.perf_counter() - started
            await calendar.close()
            states = await count_states(sessions)
            calls = Counter(graph.calls)
        await engine.dispose()
    schedules, creates = calls["getSchedule"], calls["createEvent"]
    graph_calls = sum(v for k, v in calls.items() if k != "token")
    # Per meeting actually booked: the calls spent on meetings that found no common slot
    # (offered to the organiser instead) are a cost of the ones that were booked.
    booked = max(1, states[MeetingState.BOOKED])
    rows = [
        ("meetings", MEETINGS),
        ("people in the pool", PEOPLE),
        ("booked", states[MeetingState.BOOKED]),
        ("no common slot (organiser offered options)", states[MeetingState.NEEDS_ORGANISER]),
        ("still proposed", states[MeetingState.PROPOSED]),
        ("booker ticks", ticks),
        ("total time (s)", f"{elapsed:.2f}"),
        ("time per meeting (ms)", f"{1000 * elapsed / MEETINGS:.1f}"),
        ("getSchedule calls", schedules),
        ("createEvent calls", creates),
        ("Graph calls in all (tokens aside)", graph_calls),
        ("token requests", calls["token"]),
        ("getSchedule calls per meeting booked", f"{schedules / booked:.2f}"),
        ("Graph calls per meeting booked", f"{graph_calls / booked:.2f}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'UoPP booking, 50 meetings through the Graph stand-in':<{width}}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")
    print(f"BENCH uopp_50_meetings {elapsed:.3f} s")
    print(f"BENCH uopp_graph_calls_per_booked_meeting {graph_calls / booked:.2f} calls")
    print(f"BENCH uopp_get_schedule_calls_per_booked_meeting {schedules / booked:.2f} calls")


if __name__ == "__main__":
    asyncio.run(main())
