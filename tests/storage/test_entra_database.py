"""Signing in to PostgreSQL with a Microsoft Entra token from the managed identity, as Azure
Database for PostgreSQL's Entra authentication takes it (infra/main.bicep): a database URL with
`?azure_entra=managed_identity` and no password. The identity stand-in is App Service's token
endpoint; the test cluster makes roles in `password_login` give a password (.ci/postgres)."""

from __future__ import annotations

import gc
import secrets
import warnings
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from tests.conftest import POSTGRES_ONLY, Database
from tests.standins.identity import POSTGRES_RESOURCE, IdentityStandIn


@pytest.fixture
async def entra_role(db: Database, identity: IdentityStandIn) -> AsyncIterator[str]:
    """A login role whose password is the token the managed identity will be given."""
    role, token = f"entra_{secrets.token_hex(4)}", secrets.token_urlsafe(32)
    admin = make_engine(db.url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = 'password_login'")
        )
        if not exists:
            await connection.execute(text("CREATE ROLE password_login NOLOGIN"))
        await connection.execute(
            text(f"CREATE ROLE {role} LOGIN PASSWORD '{token}' IN ROLE password_login")
        )
    identity.postgres_token = token
    try:
        yield role
    finally:
        identity.postgres_token = None
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP ROLE {role}"))
        await admin.dispose()


async def current_user(url) -> str:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return str(await connection.scalar(text("SELECT current_user")))
    finally:
        await engine.dispose()


@POSTGRES_ONLY
async def test_the_managed_identitys_token_is_the_database_password(
    db: Database, identity: IdentityStandIn, entra_role: str
):
    plain = make_url(db.url).set(username=entra_role, password=None)
    with pytest.raises(Exception, match="password"):
        await current_user(plain)  # the role must give a password: none is refused

    asked = len(identity.issued_for.get(POSTGRES_RESOURCE, []))
    entra = plain.update_query_dict({"azure_entra": "managed_identity"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await current_user(entra) == entra_role
        gc.collect()  # the engine is gone: whatever fetched its tokens must leave nothing open
    assert len(identity.issued_for[POSTGRES_RESOURCE]) > asked
    assert not [w.message for w in caught if issubclass(w.category, ResourceWarning)]

    identity.postgres_token = "not-the-password"
    with pytest.raises(Exception, match="password"):
        await current_user(entra)


def test_only_the_managed_identity_is_understood():
    with pytest.raises(ValueError, match="only managed_identity"):
        make_engine("postgresql://x@localhost/db?azure_entra=client_secret")
