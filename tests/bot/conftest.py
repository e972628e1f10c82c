"""Fixtures for the bot's tests."""

from __future__ import annotations

import pytest

from tests.conftest import Database


@pytest.fixture
def operator_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The environment an operator would set: database and credentials."""
    for name in ("AUDITBOT_DEMO", "AUDITBOT_APP_PASSWORD", "AUDITBOT_APP_CERT_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AUDITBOT_DATABASE_URL", db.url)
    monkeypatch.setenv("AUDITBOT_APP_ID", "5d1c5f0e-2b7a-4b53-9d59-3f2f4a8c1e01")
    monkeypatch.setenv("AUDITBOT_APP_PASSWORD", "from-the-key-vault")
    monkeypatch.setenv("AUDITBOT_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    return db
