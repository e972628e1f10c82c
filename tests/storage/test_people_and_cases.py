from datetime import date

from storage import repositories as repo
from storage.enums import CaseStatus
from tests.conftest import Database
from tests.factories import create_case, create_service, create_staff, create_team
from workflow.roles import Role
from workflow.states import AuditState


async def test_roles_of_lists_each_role_with_its_scope(db: Database):
    async with db.sessions.begin() as session:
        csc = await create_service(session, code="CSC")
        team = await create_team(session, service=csc, code="CSC-T1")
        person = await create_staff(
            session, roles=["auditor@CSC", (Role.TEAM_MANAGER, team), "moderator@CSC"]
        )
    async with db.sessions() as session:
        held = await repo.roles_of(session, person.id)
    assert [(h.role, h.scope_code) for h in held] == [
        (Role.AUDITOR, "CSC"),
        (Role.MODERATOR, "CSC"),
        (Role.TEAM_MANAGER, "CSC-T1"),
    ]
    assert held[2].service_code == "CSC" and held[2].team_id == team.id


async def test_staff_are_found_by_aad_object_id_whatever_its_case(db: Database):
    async with db.sessions.begin() as session:
        person = await create_staff(
            session, aad_object_id="3F2504E0-4F89-11D3-9A0C-0305E82C3301", upn="A.B@Council.gov.uk"
        )
    async with db.sessions() as session:
        found = await repo.get_staff_by_aad_id(session, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        by_upn = await repo.get_staff_by_upn(session, "a.b@council.GOV.uk")
    assert found is not None and found.id == person.id
    assert by_upn is not None and by_upn.id == person.id
    assert found.aad_object_id == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


async def test_teams_of_are_the_teams_where_someone_holds_a_team_role(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        first = await create_team(session, service=service)
        second = await create_team(session, service=service)
        person = await create_staff(
            session,
            roles=[(Role.PRACTITIONER, first), (Role.TEAM_MANAGER, first), (Role.AUDITOR, service)],
        )
        await create_staff(session, roles=[(Role.PRACTITIONER, second)])
    async with db.sessions() as session:
        assert [team.id for team in await repo.teams_of(session, person.id)] == [first.id]


async def test_assigning_a_role_twice_keeps_one_and_revoking_removes_it(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        person = await create_staff(session)
        first = await repo.assign_role(session, person.id, Role.AUDITOR, service.id)
        again = await repo.assign_role(session, person.id, Role.AUDITOR, service.id)
        assert first.id == again.id
        assert await repo.revoke_role(session, person.id, Role.AUDITOR, service.id) is True
        assert await repo.revoke_role(session, person.id, Role.AUDITOR, service.id) is False
        assert await repo.roles_of(session, person.id) == []


async def test_list_staff_with_role_finds_active_holders_in_the_service(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        other = await create_service(session)
        team = await create_team(session, service=service)
        wide = await create_staff(session, roles=[(Role.AUDITOR, service)])
        in_team = await create_staff(session, roles=[(Role.AUDITOR, team)])
        await create_staff(session, roles=[(Role.AUDITOR, service)], active=False)
        await create_staff(session, roles=[(Role.AUDITOR, other)])
    async with db.sessions() as session:
        everyone = await repo.list_staff_with_role(session, Role.AUDITOR, service.id)
        team_only = await repo.list_staff_with_role(
            session, Role.AUDITOR, service.id, team_id=team.id
        )
    assert [s.id for s in everyone] == [wide.id, in_team.id]
    assert [s.id for s in team_only] == [in_team.id]


async def test_people_and_role_holders_in_one_read_answer_as_the_two_reads_do(db: Database):
    """The wizard's merged read: the audit's people by id (active or not) and the service's
    active holders of the owner roles, in role order, each once, as the separate reads."""
    roles = (Role.COORDINATOR, Role.HEAD_OF_SERVICE, Role.AUDIT_MANAGER)
    async with db.sessions.begin() as session:
        service = await create_service(session)
        other = await create_service(session)
        left = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)], active=False)
        plain = await create_staff(session)
        both = await create_staff(
            session, roles=[(Role.AUDIT_MANAGER, service), (Role.COORDINATOR, service)]
        )
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, other)])
        await create_staff(session, roles=[(Role.AUDITOR, service)])
    async with db.sessions() as session:
        people, holders = await repo.staff_and_role_holders(
            session, {left.id, plain.id, head.id}, roles, service.id
        )
        separate = await repo.staff_holding_roles(session, roles, service.id)
        by_id = await repo.staff_by_ids(session, {left.id, plain.id, head.id})
    assert set(people) == set(by_id) == {left.id, plain.id, head.id}
    assert [(s.id, r) for s, r in holders] == [(s.id, r) for s, r in separate]
    assert [(s.id, r) for s, r in holders] == [
        (both.id, Role.COORDINATOR),
        (head.id, Role.HEAD_OF_SERVICE),
        (both.id, Role.AUDIT_MANAGER),
    ]


async def test_list_open_cases_covers_the_services_teams_in_reference_order(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        team_a = await create_team(session, service=service)
        team_b = await create_team(session, service=service)
        await create_case(session, team=team_b, case_ref="B-2")
        await create_case(session, team=team_a, case_ref="A-9")
        await create_case(session, team=team_a, case_ref="A-1", status=CaseStatus.CLOSED)
        await create_case(session, case_ref="Z-1")  # another service
    async with db.sessions() as session:
        cases = await repo.list_open_cases(session, service.id)
    assert [case.case_ref for case in cases] == ["A-9", "B-2"]


async def test_involved_staff_include_the_practitioner(db: Database):
    async with db.sessions.begin() as session:
        helper = await create_staff(session)
        other = await create_staff(session)
        case = await create_case(session, involved=[helper, other])
        await repo.set_involvements(session, case.id, [helper.id])
    async with db.sessions() as session:
        involved = await repo.involved_staff_ids(session, case.id)
        assert await repo.list_involvements(session, case.id) == [helper.id]
        found = await repo.get_case_by_ref(session, case.case_ref)
    assert involved == {helper.id, case.practitioner_id}
    assert found is not None and found.opened_on == date(2025, 1, 6)


async def test_allocation_lookups_answer_for_many_people_in_one_go(db: Database):
    from tests.factories import create_audit

    async with db.sessions.begin() as session:
        service = await create_service(session)
        team = await create_team(session, service=service)
        manager = await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
        auditor = await create_staff(session, roles=[(Role.AUDITOR, service)])
        helper = await create_staff(session)
        case = await create_case(session, team=team, involved=[helper])
        await create_audit(session, case=case, auditor=auditor)
        ended = await create_audit(session, auditor=auditor, state=AuditState.REALLOCATED)
    async with db.sessions() as session:
        involved = await repo.involvements_by_case(session, [case.id])
        loads = await repo.live_allocation_loads(session, Role.AUDITOR, [auditor.id, helper.id])
        memberships = await repo.team_ids_by_staff(session, [manager.id, auditor.id])
        managers = await repo.team_managers_by_team(session, [team.id])
        teams = await repo.list_teams(session, service.id)
    assert involved == {case.id: {helper.id, case.practitioner_id}}
    assert loads == {auditor.id: 1} and ended.auditor_id == auditor.id
    assert memberships == {manager.id: {team.id}}
    assert managers == {team.id: manager.id}
    assert [t.id for t in teams] == [team.id]


async def test_holds_role_answers_for_active_people_in_that_service_only(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        other = await create_service(session)
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        leaver = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)], active=False)
    async with db.sessions() as session:
        assert await repo.holds_role(session, head.id, [Role.HEAD_OF_SERVICE], service.id)
        assert not await repo.holds_role(session, head.id, [Role.HEAD_OF_SERVICE], other.id)
        assert not await repo.holds_role(session, head.id, [Role.AUDIT_TEAM], service.id)
        assert not await repo.holds_role(session, leaver.id, [Role.HEAD_OF_SERVICE], service.id)
