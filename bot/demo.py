"""`auditbot demo`: a realistic organisation in SQLite and an open cycle, ready to try.

The demo is the product on the embedded defaults: the same migrations,
importers and cycle opening a council uses, with fictional staff and case
references only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings, load_rules
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.kloes import propose_cycle
from storage import repositories as repo
from storage.db import async_upgrade, check_database, make_engine, session_factory
from storage.demo import load_demo
from workflow.calendar import SystemClock
from workflow.programme import shipped_programme, shipped_programmes
from workflow.words import counted

DEMO_SEED = 20261122
DEMO_CYCLES = (
    ("CSC", {"CSC-CIN": 3, "CSC-CP": 3, "CSC-CLA": 3}),
    ("EH", {"EH-NORTH": 3, "EH-SOUTH": 3}),
)
DEMO_PROPOSER = "alex.wilber@demo-council.gov.uk"
NEXT_KLOES = (
    "Are family pledges reflected in the Early Help plan?",
    "Is the child's voice recorded in their own words?",
)
DEMO_KLOES = (
    "Is the child's lived experience visible in the record and the plan?",
    "Does management oversight drive the plan forward without drift?",
    "How well does practice understand and respond to the child's identity?",
)


async def prepare_demo(
    settings: Settings, *, fresh: bool = False, programme: str | None = None
) -> str:
    """Migrate, load the demo organisation (running `programme`, a shipped programme's id,
    if given) and open next month's cycles; say what is there."""
    database = Path(make_url(settings.database_url).database or "")
    if fresh and database.exists():
        database.unlink()
    await check_database(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        await async_upgrade(engine)
        async with session_factory(engine).begin() as session:
            await load_demo(session)
            loaded = await _load_programme(session, programme) if programme else []
            opened = loaded + await _open_cycles(session, settings)
        async with session_factory(engine)() as session:
            return await _summary(session, database, opened)
    finally:
        await engine.dispose()


async def _load_programme(session, programme_id: str) -> list[str]:
    """Put the shipped programme in force on the demo's two services: its first Children's
    Social Care service runs as the demo's CSC, its first Early Help (or Youth Justice)
    service as EH; any others are left out, and the summary says so."""
    from dialogs.programmes import load_programme, programmes_in_force_keys

    if programme_id in await programmes_in_force_keys(session):
        return [f"Programme {programme_id} is in force already."]
    programme = shipped_programme(programme_id)
    free = {"childrens_social_care": "CSC", "early_help": "EH", "youth_justice": "EH"}
    services_as: dict[str, str | None] = {}
    for service in programme.services:
        demo_code = free.get(service.kind.value)
        services_as[service.code] = demo_code
        if demo_code is not None:
            free = {kind: code for kind, code in free.items() if code != demo_code}
    text = shipped_programmes()[programme_id]
    loaded = await load_programme(
        session, text, actor="demo", now=SystemClock().now(), services_as=services_as
    )
    runs = ", ".join(f"{old} as {new}" for old, new in services_as.items() if new)
    left = [old for old, new in services_as.items() if new is None]
    words = f"Programme {loaded.programme.programme.name}: {runs}"
    return [words + (f"; left out: {', '.join(left)}." if left else ".")]


async def _open_cycles(session, settings: Settings) -> list[str]:
    """Next month's cycles, open, and the month after's Early Help cycle waiting for approval."""
    now = SystemClock().now()
    month = _next_month(date(now.year, now.month, 1))
    opened = []
    for service_code, quotas in DEMO_CYCLES:
        service = await repo.get_service_by_code(session, service_code)
        if service is None or await repo.list_cycles(session, service.id):
            continue
        request = CycleRequest(
            service_code=service_code, month=month, seed=DEMO_SEED, quotas=quotas, kloes=DEMO_KLOES
        )
        outcome = await open_cycle(
            session, request, rules=load_rules(settings), now=now, actor="demo"
        )
        opened.append(str(outcome))
        if service_code == "EH":
            proposer = await repo.get_staff_by_upn(session, DEMO_PROPOSER)
            following = _next_month(month)
            proposal = CycleRequest(
                service_code="EH", month=following, seed=DEMO_SEED, total=4, kloes=NEXT_KLOES
            )
            proposed = await propose_cycle(
                session, proposal, actor=proposer, now=now, rules=load_rules(settings)
            )
            opened.append(str(proposed))
    return opened


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


async def _summary(session, database: Path, opened: list[str]) -> str:
    services = await repo.list_services(session)
    lines = [f"Demo database: {database}"]
    for service in services:
        cycles = await repo.list_cycles(session, service.id)
        cases = await repo.list_open_cases(session, service.id)
        audits = sum([len(await repo.list_audits_in_cycle(session, c.id)) for c in cycles])
        lines.append(
            f"  {service.name}: {counted(len(cases), 'open case')}, "
            f"{counted(len(cycles), 'cycle')}, {counted(audits, 'audit')}"
        )
    lines.extend(f"  {line}" for line in opened)
    lines.append(
        "Talk to it with the Agents Playground: npx @microsoft/m365agentsplayground "
        "(see README, 'Try it in the Agents Playground')."
    )
    return "\n".join(lines)
