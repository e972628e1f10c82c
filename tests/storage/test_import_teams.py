"""Importing services and teams: idempotent, bad rows reported by number, the rest loaded."""

from __future__ import annotations

from storage import repositories as repo
from storage.enums import ServiceKind
from storage.imports import import_teams
from tests.conftest import Database

HEADER = "service_code,service_name,service_kind,team_code,team_name\n"
GOOD = (
    HEADER
    + "EH,Early Help,early_help,EH-N,Early Help North\n"
    + "EH,Early Help,early_help,EH-S,Early Help South\n"
    + "YJ,Youth Justice,youth_justice,YJ-1,Youth Justice Team\n"
)


async def test_teams_and_their_services_are_created_then_left_unchanged(db: Database):
    async with db.sessions.begin() as session:
        first = await import_teams(session, GOOD)
    async with db.sessions.begin() as session:
        second = await import_teams(session, GOOD)

    assert (first.created, first.rejected) == (3, [])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    async with db.sessions() as session:
        services = await repo.list_services(session)
        assert [(s.code, s.kind) for s in services] == [
            ("EH", ServiceKind.EARLY_HELP),
            ("YJ", ServiceKind.YOUTH_JUSTICE),
        ]
        assert [t.code for t in await repo.list_teams(session, services[0].id)] == ["EH-N", "EH-S"]


async def test_a_renamed_team_is_updated_and_recorded(db: Database):
    async with db.sessions.begin() as session:
        await import_teams(session, GOOD)
    async with db.sessions.begin() as session:
        report = await import_teams(session, GOOD.replace("Early Help South", "EH South & East"))

    assert (report.updated, report.unchanged) == (1, 2)
    async with db.sessions() as session:
        team = await repo.get_team_by_code(session, "EH-S")
        assert team is not None and team.name == "EH South & East"
        events = await repo.list_events(session, "team", team.id)
        assert [e.action for e in events] == ["created", "updated"]


async def test_bad_rows_are_rejected_by_number_and_good_ones_load(db: Database):
    text = (
        HEADER
        + "EH,Early Help,early_help,EH-N,Early Help North\n"  # row 2
        + "EH,Early Help,social_work,EH-X,Wrong kind\n"  # row 3
        + "EH,Other Name,early_help,EH-Y,Clashing service name\n"  # row 4
        + "EH,Early Help,early_help,EH-N,Duplicate\n"  # row 5
        + "EH,Early Help,early_help,bad code!,Bad code\n"  # row 6
        + "EH,Early Help,early_help,EH-S,\n"  # row 7
        + "EH,Early Help,early_help,EH-S,Early Help South\n"  # row 8
    )
    async with db.sessions.begin() as session:
        report = await import_teams(session, text)

    assert report.created == 2
    reasons = {row.row: row.reason for row in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert "service_kind must be one of" in reasons[3]
    assert "different name or kind on row 2" in reasons[4]
    assert "duplicate team_code: already on row 2" in reasons[5]
    assert "team_code must be letters" in reasons[6]
    assert "must not be empty" in reasons[7]


async def test_a_file_missing_a_column_loads_nothing(db: Database):
    async with db.sessions.begin() as session:
        report = await import_teams(session, "service_code,team_code\nEH,EH-N\n")

    assert report.created == 0
    assert report.rejected[0].row == 1
    assert "service_name" in report.rejected[0].reason


async def test_the_longest_codes_the_import_accepts_fit_their_columns(db: Database):
    service_code, team_code = "S" * 16, "T" * 32
    text = HEADER + f"{service_code},Long,early_help,{team_code},Longest team code\n"
    async with db.sessions.begin() as session:
        report = await import_teams(session, text)

    assert (report.created, report.rejected) == (1, [])
    async with db.sessions() as session:
        service = await repo.get_service_by_code(session, service_code)
        assert service is not None
        assert [t.code for t in await repo.list_teams(session, service.id)] == [team_code]


async def test_a_service_code_longer_than_its_column_is_rejected_by_row(db: Database):
    text = HEADER + f"{'S' * 17},Too long,early_help,EH-N,North\n"
    async with db.sessions.begin() as session:
        report = await import_teams(session, text)

    [rejected] = report.rejected
    assert rejected.row == 2
    assert "service_code must be letters, digits and hyphens, up to 16 long" in rejected.reason
    async with db.sessions() as session:
        assert await repo.list_services(session) == []
