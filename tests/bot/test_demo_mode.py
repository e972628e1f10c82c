"""Demo mode (authentication off) starts only as a demo: on loopback, on SQLite, with no
tenant and no credentials. Anything else stops the start with one line naming the setting
in the way, before anything listens or any database is touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.harness import APP_ID, TENANT_ID, deployed_environment

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [
    ("AUDITBOT_HOST", "0.0.0.0"),
    ("AUDITBOT_HOST", "10.1.2.3"),
    ("AUDITBOT_HOST", "auditbot.council.gov.uk"),
    ("AUDITBOT_DATABASE_URL", "postgresql://auditbot@127.0.0.1:5432/auditbot"),
    ("AUDITBOT_DATABASE_URL", "postgres://auditbot@db.council.internal/auditbot"),
    ("AUDITBOT_TENANT_ID", TENANT_ID),
    ("AUDITBOT_APP_ID", APP_ID),
    ("AUDITBOT_APP_PASSWORD", "from-the-key-vault"),
    ("AUDITBOT_GRAPH_TENANT_ID", TENANT_ID),
    ("AUDITBOT_GRAPH_CLIENT_ID", APP_ID),
    ("AUDITBOT_GRAPH_CLIENT_SECRET", "from-the-key-vault"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AUDITBOT_HOST", "AUDITBOT_DATABASE_URL", *(v for v, _ in PRODUCTION)):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("spelling", ["true", "1", "on", "yes"])
@pytest.mark.parametrize(("variable", "value"), PRODUCTION)
def test_demo_mode_refuses_a_production_setting_naming_it(
    clean_env: pytest.MonkeyPatch, spelling: str, variable: str, value: str
):
    clean_env.setenv("AUDITBOT_DEMO", spelling)
    clean_env.setenv(variable, value)

    with pytest.raises(ConfigError) as refused:
        load_settings()

    message = str(refused.value)
    assert message.startswith(f"{variable}: demo mode (AUDITBOT_DEMO) has authentication off")
    assert "\n" not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_demo_mode_starts_on_loopback_with_its_own_sqlite_file(
    clean_env: pytest.MonkeyPatch, host: str
):
    clean_env.setenv("AUDITBOT_DEMO", "true")
    clean_env.setenv("AUDITBOT_HOST", host)
    clean_env.setenv("AUDITBOT_DATABASE_URL", "sqlite:///demo.sqlite3")

    assert load_settings().demo


def _auditbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it; a start that is not refused would serve until the
    timeout, and fail the test."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["serve"], "AUDITBOT_HOST", "0.0.0.0"),
        (["serve"], "AUDITBOT_TENANT_ID", TENANT_ID),
        (["demo"], "AUDITBOT_HOST", "0.0.0.0"),
        (["demo"], "AUDITBOT_GRAPH_CLIENT_SECRET", "from-the-key-vault"),
    ],
)
def test_the_commands_stop_before_touching_the_database(
    tmp_path: Path, command: list[str], variable: str, value: str
):
    database = tmp_path / "demo.sqlite3"
    env = deployed_environment(f"sqlite:///{database}")
    for name in ("AUDITBOT_APP_ID", "AUDITBOT_APP_TYPE", "AUDITBOT_TENANT_ID"):
        env.pop(name)
    env.update({"AUDITBOT_DEMO": "on", variable: value})
    if command == ["demo"]:
        command = ["demo", "--database", str(database)]

    result = _auditbot(*command, env=env, cwd=tmp_path)

    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"auditbot: configuration error: {variable}: demo mode")
    assert not database.exists()
