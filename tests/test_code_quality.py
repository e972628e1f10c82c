"""The project's own checks run with the tests, so the one test command checks everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_finds_nothing():
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_workflow_storage_and_cards():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_imports_no_platform_code():
    forbidden = ("botbuilder", "aiohttp", "sqlalchemy", "msgraph", "azure")
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "workflow").rglob("*.py")
        for line in path.read_text().splitlines()
        if line.lstrip().startswith(("import ", "from "))
        and line.split()[1].split(".")[0] in forbidden
    ]
    assert offenders == []
