from datetime import UTC, datetime

import pytest

from storage import repositories as repo
from storage.errors import StaleRecord
from tests.conftest import Database

AAD = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


async def test_saving_a_conversation_ref_again_replaces_it(db: Database):
    first_at = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    async with db.sessions.begin() as session:
        first = await repo.save_conversation_ref(
            session, AAD, TENANT, "a:1", "https://smba/emea/", {"v": 1}, at=first_at
        )
    async with db.sessions.begin() as session:
        second = await repo.save_conversation_ref(
            session, AAD.upper(), TENANT, "a:2", "https://smba/uk/", {"v": 2}
        )
    async with db.sessions() as session:
        found = await repo.get_conversation_ref(session, AAD, TENANT)
        any_tenant = await repo.get_conversation_ref(session, AAD)
    assert second.id == first.id
    assert found is not None and any_tenant is not None and found.id == any_tenant.id
    assert (found.conversation_id, found.service_url, found.reference) == (
        "a:2",
        "https://smba/uk/",
        {"v": 2},
    )
    assert found.created_at == first_at and found.updated_at > first_at


async def test_a_person_without_a_conversation_ref_has_none(db: Database):
    async with db.sessions() as session:
        assert await repo.get_conversation_ref(session, AAD) is None


async def test_bot_state_versions_guard_against_lost_updates(db: Database):
    async with db.sessions.begin() as session:
        assert await repo.write_bot_state(session, "conv/1", {"step": 1}) == 1
        assert await repo.write_bot_state(session, "conv/1", {"step": 2}, expected_version=1) == 2
        with pytest.raises(StaleRecord):
            await repo.write_bot_state(session, "conv/1", {"step": 9}, expected_version=1)
        assert await repo.write_bot_state(session, "conv/1", {"step": 3}) == 3
        assert await repo.write_bot_state(session, "new", {"x": 1}, expected_version=5) == 1
    async with db.sessions.begin() as session:
        stored = await repo.read_bot_state(session, ["conv/1", "new", "absent"])
        assert {k: (v.document, v.version) for k, v in stored.items()} == {
            "conv/1": ({"step": 3}, 3),
            "new": ({"x": 1}, 1),
        }
        await repo.delete_bot_state(session, ["conv/1"])
    async with db.sessions() as session:
        assert set(await repo.read_bot_state(session, ["conv/1", "new"])) == {"new"}
