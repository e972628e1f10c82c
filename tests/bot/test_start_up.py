"""What an operator meets when the database, a file or a setting is wrong: one line saying
what is wrong and what to do, exit status 2, and nothing changed. Run as processes, as
the operator runs them."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.config import load_settings
from bot.outbox import OutboxSender, SenderOptions
from bot.ratelimit import ManualClock
from bot.service import build_service
from storage.db import make_engine, session_factory
from tests.bot.test_outbox import run_for
from tests.conftest import SQLITE_ONLY, Database
from tests.harness import deployed_environment
from tests.storage.test_db_failures import damaged_copy

ROOT = Path(__file__).resolve().parents[2]


def auditbot(*args: str, database_url: str, cwd: Path, **variables: str):
    env = {**deployed_environment(database_url), "PYTHONPATH": str(ROOT), **variables}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,  # a start that is not refused serves until this, and fails the test
    )


def one_line(result: subprocess.CompletedProcess[str], starts: str) -> str:
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(f"auditbot: {starts}"), line
    return line


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_serve_stops_on_a_damaged_file_and_leaves_it_as_it_was(
    sqlite_template: Path, tmp_path: Path
):
    path = damaged_copy(sqlite_template, tmp_path)
    before = digest(path)

    result = auditbot("serve", database_url=f"sqlite:///{path}", cwd=tmp_path)

    line = one_line(result, "database error: the SQLite file")
    assert "is damaged" in line and line.endswith("restore it from a backup")
    assert digest(path) == before


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve"], ["tick"]])
def test_a_file_that_is_not_a_database_is_named(tmp_path: Path, command: list[str]):
    path = tmp_path / "auditbot.sqlite3"
    path.write_bytes(b"PK\x03\x04 a zip file, not a database" * 50)
    before = digest(path)

    result = auditbot(*command, database_url=f"sqlite:///{path}", cwd=tmp_path)

    assert "is not a SQLite database" in one_line(result, "database error:")
    assert digest(path) == before


def test_a_truncated_database_is_named(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "truncated.sqlite3"
    path.write_bytes(sqlite_template.read_bytes()[:10000])

    result = auditbot("db", "upgrade", database_url=f"sqlite:///{path}", cwd=tmp_path)

    one_line(result, "database error: the SQLite file")


def test_a_database_folder_that_does_not_exist_is_named(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'missing' / 'auditbot.sqlite3'}"

    result = auditbot("db", "upgrade", database_url=url, cwd=tmp_path)

    assert "does not exist; create it" in one_line(result, "database error: the folder")
    assert not (tmp_path / "missing").exists()


def test_an_unreachable_postgresql_is_named(tmp_path: Path):
    url = "postgresql://auditbot:s3cret@127.0.0.1:9/auditbot"

    result = auditbot("serve", database_url=url, cwd=tmp_path)

    line = one_line(result, "database error: cannot reach PostgreSQL at 127.0.0.1:9/auditbot")
    assert "s3cret" not in line


def test_a_csv_that_is_not_utf8_is_named_and_nothing_is_loaded(db: Database, tmp_path: Path):
    cases = tmp_path / "cases.csv"
    cases.write_bytes(
        "case_ref,team_code,practitioner_upn,status,opened_on,involved_upns\n"
        "CSC-0001,CSC-A,sin\u00e9ad@c.gov.uk,open,2026-01-05,\n".encode("cp1252")
    )

    result = auditbot("import", "cases", str(cases), database_url=db.url, cwd=tmp_path)

    line = one_line(result, "cannot import: cases.csv is not UTF-8 text (byte 0xe9")
    assert line.endswith('save it as "CSV UTF-8" and import it again')


def test_a_bad_rule_setting_is_refused_before_the_database_is_created(tmp_path: Path):
    path = tmp_path / "auditbot.sqlite3"

    result = auditbot(
        "serve",
        database_url=f"sqlite:///{path}",
        cwd=tmp_path,
        AUDITBOT_RULE_UOPP_WORKING_DAYS="-3",
    )

    line = one_line(result, "configuration error: AUDITBOT_RULE_UOPP_WORKING_DAYS: ")
    assert "0 or more" in line
    assert not path.exists()


async def test_healthz_says_unavailable_for_a_damaged_file(sqlite_template: Path, tmp_path: Path):
    path = damaged_copy(sqlite_template, tmp_path, ("outbox",))
    settings = load_settings(demo=True, database_url=f"sqlite:///{path}", outbox_sender=False)
    server = TestServer(build_service(settings), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            response = await http.get(server.make_url("/healthz"))
            assert response.status == 503
            assert await response.json() == {"status": "unavailable", "database": False}
    finally:
        await server.close()


@SQLITE_ONLY
async def test_a_sender_on_a_failing_database_backs_off_and_logs_at_a_bounded_rate(
    db: Database, sqlite_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Reported: about 1,600 log lines in 20 s, one a second. On a fixed clock, 20 minutes of
    a damaged database now give one traceback, a handful of reminders, and tries that
    spread out to a minute apart."""
    engine = make_engine(f"sqlite:///{damaged_copy(sqlite_template, tmp_path)}")
    clock = ManualClock()
    sender = OutboxSender(session_factory(engine), None, SenderOptions(), clock=clock)  # type: ignore[arg-type]
    caplog.set_level(logging.INFO, logger="bot.outbox")
    try:
        await sender.start()
        await run_for(sender, clock, 20 * 60, step=1.0)
        tries = sender._outage.failures
    finally:
        await sender.stop()
        await engine.dispose()

    records = [r for r in caplog.records if r.name == "bot.outbox"]
    tracebacks = [r for r in records if r.exc_info]
    assert len(tracebacks) == 1
    assert len(records) <= 1 + 20 * 60 // 300 + 1
    assert 10 <= tries <= 7 + 20 * 60 // 60  # doubling from 1 s to a minute, then a minute
