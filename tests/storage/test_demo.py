from storage import repositories as repo
from storage.demo import load_demo
from storage.enums import ServiceKind
from tests.conftest import Database


async def test_the_demo_data_loads_cleanly_and_only_once(db: Database):
    async with db.sessions.begin() as session:
        teams, staff, attributes, cases = await load_demo(session)
    assert (teams.created, teams.rejected) == (5, [])
    assert (staff.created, staff.rejected, cases.created, cases.rejected) == (41, [], 70, [])
    assert (attributes.created, attributes.rejected) == (1, [])
    async with db.sessions.begin() as session:
        teams, staff, attributes, cases = await load_demo(session)
    assert (teams.unchanged, staff.unchanged, cases.unchanged) == (5, 41, 70)
    assert attributes.unchanged == 1
    async with db.sessions() as session:
        csc = await repo.get_service_by_code(session, "CSC")
        assert csc is not None and csc.kind is ServiceKind.CHILDRENS_SOCIAL_CARE
        assert len(await repo.list_open_cases(session, csc.id)) == 42
