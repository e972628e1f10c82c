"""`auditbot programme check | load | show`, as a council's operator uses them: a broken
file is refused with every problem on its line and nothing changed; a good one is put in
force in one transaction with its audit-trail row; a cycle already running keeps the
version of the programme it started under."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from dialogs.programmes import cycle_rules, programme_of_version
from storage.db import make_engine, session_factory
from storage.models import AuditEvent, Cycle, ProgrammeVersion, Service
from tests.bot.test_cli import CASES, STAFF, TEAMS, write
from tests.conftest import Database
from workflow.programme import shipped_programmes
from workflow.programme.model import SampleModeration
from workflow.rules import ProgrammeRules

T = TypeVar("T")
HILLINGDON = shipped_programmes()["hillingdon-csc"]


def read(db: Database, reading: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """What `reading` finds in the database the command wrote, on a loop of its own (the
    command ran its own, as a terminal would)."""

    async def run() -> T:
        engine = make_engine(db.url)
        try:
            async with session_factory(engine)() as session:
                return await reading(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def counts(db: Database) -> tuple[int, int, int]:
    """How many programme versions, services and audit-trail rows are stored."""

    async def count(session: AsyncSession) -> tuple[int, int, int]:
        return (
            await session.scalar(select(func.count(ProgrammeVersion.id))) or 0,
            await session.scalar(select(func.count(Service.id))) or 0,
            await session.scalar(select(func.count(AuditEvent.id))) or 0,
        )

    return read(db, count)


def test_check_reports_every_problem_with_its_line_and_needs_no_database(tmp_path, capsys):
    broken = HILLINGDON.replace("percent = 10", "percent = 110").replace(
        'mode = "sample"', 'mode = "sample"\nmoderator = "anyone"'
    )
    assert main(["programme", "check", write(tmp_path, "broken.toml", broken)]) == 1
    out = capsys.readouterr().out
    assert "2 problems" in out
    assert "moderation.moderator: moderator is not a setting here" in out
    assert "moderation.sample.percent: input should be less than or equal to 100" in out
    assert all(line.lstrip().startswith("line ") for line in out.splitlines()[1:])

    assert main(["programme", "check", "hillingdon-csc"]) == 0
    assert "no problems" in capsys.readouterr().out


def test_a_broken_file_is_not_loaded_and_changes_nothing(operator_env, tmp_path, capsys):
    before = counts(operator_env)
    broken = HILLINGDON.replace('route = "none"', 'route = "the director"')

    assert main(["programme", "load", write(tmp_path, "broken.toml", broken)]) == 1

    err = capsys.readouterr().err
    assert "was not loaded; nothing changed" in err and "disputes.route" in err
    assert counts(operator_env) == before


def test_loading_puts_the_programme_in_force_with_an_audit_trail_row(operator_env, capsys):
    assert main(["programme", "show"]) == 0
    assert "No programme file is in force" in capsys.readouterr().out

    assert main(["programme", "load", "hillingdon-csc"]) == 0
    out = capsys.readouterr().out
    assert "version 1: in force now" in out and "Services added: CSC." in out

    async def stored(session: AsyncSession) -> tuple[Service, AuditEvent]:
        service = await session.scalar(select(Service).where(Service.code == "CSC"))
        event = await session.scalar(select(AuditEvent).where(AuditEvent.entity == "programme"))
        return service, event

    service, event = read(operator_env, stored)
    assert service.name == "Children's Social Care"
    assert event.action == "loaded" and event.after["programme"] == "hillingdon-csc"

    assert main(["programme", "show"]) == 0
    shown = capsys.readouterr().out
    assert "Version 1, loaded" in shown and "by cli" in shown
    assert "a sample of 10%" in shown and "part B at the next supervision" in shown


def test_a_service_belongs_to_one_programme_at_a_time(operator_env, capsys):
    assert main(["programme", "load", "th-early-help"]) == 0
    before = counts(operator_env)

    assert main(["programme", "load", "th-qaf-csc-yjs"]) == 1

    assert "EH is already run by the programme 'th-early-help'" in capsys.readouterr().err
    assert counts(operator_env) == before


def test_a_programme_changed_while_a_cycle_runs_does_not_change_that_cycle(
    operator_env, tmp_path, capsys
):
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF)])
    main(["import", "cases", write(tmp_path, "cases.csv", CASES)])
    assert main(["programme", "load", "hillingdon-csc"]) == 0
    opening = ["cycle", "open", "--service", "CSC", "--cases", "1", "--seed", "5",
               "--kloes-approved-elsewhere", "SMT, 3 Nov"]  # fmt: skip
    assert main([*opening, "--month", "2026-12"]) == 0

    changed = HILLINGDON.replace("[rules]\n", "[rules]\naudit_due_working_days = 25\n").replace(
        "percent = 10", "percent = 20"
    )
    assert main(["programme", "load", write(tmp_path, "hillingdon.toml", changed)]) == 0
    assert "1 running cycle keeps the earlier version" in capsys.readouterr().out
    assert main([*opening, "--month", "2027-01"]) == 0

    async def cycles(session: AsyncSession) -> list[tuple[int, int | None, int]]:
        """Per cycle: its programme version, its sample's size, its audits' working days."""
        found = []
        for cycle in await session.scalars(select(Cycle).order_by(Cycle.month)):
            version = await session.get(ProgrammeVersion, cycle.programme_version_id)
            programme = await programme_of_version(session, version.id)
            moderation = programme.moderation_for("CSC")
            assert isinstance(moderation, SampleModeration)
            rules = await cycle_rules(session, cycle, ProgrammeRules())
            found.append((version.version, moderation.sample.percent, rules.audit_due_working_days))
        return found

    assert read(operator_env, cycles) == [(1, 10, 15), (2, 20, 25)]

    assert main(["programme", "show"]) == 0
    shown = capsys.readouterr().out
    assert "Version 2, loaded" in shown and "still running under version 1: 1 cycle" in shown


def test_a_programme_with_no_kloe_approval_opens_the_cycle_when_proposed(
    operator_env, tmp_path, capsys
):
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF)])
    main(["import", "cases", write(tmp_path, "cases.csv", CASES)])
    assert main(["programme", "load", "hillingdon-csc"]) == 0
    capsys.readouterr()

    code = main(["cycle", "propose", "--service", "CSC", "--month", "2026-12", "--cases", "1",
                 "--seed", "5", "--kloe", "Are the child's outcomes met?"])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "need no approval in this programme and the cycle is open: 1 audit allocated" in out

    async def cycle_state(session: AsyncSession) -> str:
        cycle = await session.scalar(select(Cycle))
        return cycle.state.value

    assert read(operator_env, cycle_state) == "open"


def test_the_programmes_approvers_are_the_ones_asked(operator_env, tmp_path, capsys):
    head = (
        "66666666-6666-6666-6666-666666666666,hs@c.gov.uk,H S,hs@c.gov.uk,head_of_service@CSC,no,\n"
    )
    main(["import", "teams", write(tmp_path, "teams.csv", TEAMS)])
    main(["import", "staff", write(tmp_path, "staff.csv", STAFF + head)])
    main(["import", "cases", write(tmp_path, "cases.csv", CASES)])
    only_the_head = HILLINGDON.replace(
        "[kloes]\n", '[kloes]\napproval = ["head_of_service"]\n'
    ).replace("approval = []\n", "")
    assert main(["programme", "load", write(tmp_path, "p.toml", only_the_head)]) == 0
    capsys.readouterr()

    code = main(["cycle", "propose", "--service", "CSC", "--month", "2026-12", "--cases", "1",
                 "--kloe", "Are the child's outcomes met?"])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "went for approval to H S (Head of Service); cases are picked when they approve" in out
