"""Who may see an audit: the allocated, their managers in line, and the service's overseers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.access import (
    AUDIT_TEAM_ROLES,
    OVERSIGHT_ROLES,
    can_see_audit,
    covers,
    scopes_for,
)
from storage import repositories as repo
from storage.models import Audit, Service, Staff, Team
from tests.factories import create_audit, create_case, create_service, create_staff, create_team
from workflow.roles import Role
from workflow.states import AuditState


async def an_audit(session: AsyncSession) -> tuple[Audit, Service, Team]:
    service = await create_service(session)
    team = await create_team(session, service=service)
    case = await create_case(session, team=team)
    audit = await create_audit(session, case=case)
    return audit, service, team


async def sees(session: AsyncSession, staff: Staff | None, audit: Audit) -> bool:
    # Bounded, so a check that loops on bad data fails instead of hanging the suite.
    return await asyncio.wait_for(can_see_audit(session, staff, audit), timeout=60)


@pytest.mark.parametrize(
    "party", ["auditor_id", "moderator_id", "practitioner_id", "team_manager_id"]
)
async def test_should_let_each_allocated_person_see_the_audit(session: AsyncSession, party: str):
    audit, _, _ = await an_audit(session)
    person = await repo.get_staff(session, getattr(audit, party))

    assert await sees(session, person, audit)


async def test_should_refuse_a_colleague_in_the_same_service_who_is_not_allocated(
    session: AsyncSession,
):
    audit, service, team = await an_audit(session)
    colleague = await create_staff(
        session, roles=[(Role.PRACTITIONER, team), (Role.AUDITOR, service)]
    )

    assert not await sees(session, colleague, audit)


@pytest.mark.parametrize(
    "party", ["auditor_id", "moderator_id", "practitioner_id", "team_manager_id"]
)
async def test_should_let_the_line_manager_of_each_allocated_person_see_it(
    session: AsyncSession, party: str
):
    audit, _, _ = await an_audit(session)
    manager = await create_staff(session)
    person = await repo.get_staff(session, getattr(audit, party))
    person.line_manager_id = manager.id
    await session.flush()

    assert await sees(session, manager, audit)


async def test_should_let_managers_any_number_of_levels_up_see_it(session: AsyncSession):
    audit, _, _ = await an_audit(session)
    director = await create_staff(session)
    head = await create_staff(session, line_manager=director)
    group_manager = await create_staff(session, line_manager=head)
    team_manager = await repo.get_staff(session, audit.team_manager_id)
    team_manager.line_manager_id = group_manager.id
    await session.flush()

    for manager in (group_manager, head, director):
        assert await sees(session, manager, audit)


async def test_should_not_let_someone_see_the_audits_of_their_own_manager_s_reports_sideways(
    session: AsyncSession,
):
    audit, _, _ = await an_audit(session)
    manager = await create_staff(session)
    practitioner = await repo.get_staff(session, audit.practitioner_id)
    practitioner.line_manager_id = manager.id
    peer = await create_staff(session, line_manager=manager)
    await session.flush()

    assert not await sees(session, peer, audit)


async def test_should_end_the_check_when_the_line_management_data_has_a_loop(
    session: AsyncSession,
):
    audit, _, _ = await an_audit(session)
    first = await create_staff(session)
    second = await create_staff(session, line_manager=first)
    first.line_manager_id = second.id  # first and second manage each other
    stranger = await create_staff(session)
    stranger.line_manager_id = stranger.id  # and someone manages themselves
    practitioner = await repo.get_staff(session, audit.practitioner_id)
    practitioner.line_manager_id = first.id
    await session.flush()

    assert await sees(session, first, audit)
    assert await sees(session, second, audit)
    assert not await sees(session, stranger, audit)


@pytest.mark.parametrize("role", sorted(OVERSIGHT_ROLES))
async def test_should_let_the_case_s_service_overseers_see_it(session: AsyncSession, role: Role):
    audit, service, _ = await an_audit(session)
    overseer = await create_staff(session, roles=[(role, service)])

    assert await sees(session, overseer, audit)


@pytest.mark.parametrize("role", sorted(OVERSIGHT_ROLES))
async def test_should_refuse_another_service_s_overseers(session: AsyncSession, role: Role):
    audit, _, _ = await an_audit(session)
    elsewhere = await create_service(session)
    overseer = await create_staff(session, roles=[(role, elsewhere)])

    assert not await sees(session, overseer, audit)


async def test_should_limit_a_team_scoped_audit_team_role_to_that_team(session: AsyncSession):
    audit, service, team = await an_audit(session)
    other_team = await create_team(session, service=service)
    this_team_auditor = await create_staff(session, roles=[(Role.AUDIT_TEAM, team)])
    other_team_auditor = await create_staff(session, roles=[(Role.AUDIT_TEAM, other_team)])

    assert await sees(session, this_team_auditor, audit)
    assert not await sees(session, other_team_auditor, audit)


@pytest.mark.parametrize(
    "role",
    [
        Role.AUDITOR,
        Role.MODERATOR,
        Role.COORDINATOR,
        Role.DIVISIONAL_DIRECTOR,
        Role.HEAD_OF_SAFEGUARDING_QA,
        Role.TEAM_MANAGER,
    ],
)
async def test_should_not_let_a_role_in_the_service_alone_see_it(session: AsyncSession, role: Role):
    audit, service, _ = await an_audit(session)
    holder = await create_staff(session, roles=[(role, service)])

    assert not await sees(session, holder, audit)


async def test_should_let_the_coordinator_see_it_once_moderated(session: AsyncSession):
    audit, service, _ = await an_audit(session)
    coordinator = await create_staff(session, roles=[(Role.COORDINATOR, service)])
    elsewhere = await create_staff(
        session, roles=[(Role.COORDINATOR, await create_service(session))]
    )
    assert not await sees(session, coordinator, audit)

    audit.state = AuditState.MODERATED
    await session.flush()

    assert await sees(session, coordinator, audit)
    assert not await sees(session, elsewhere, audit)


async def test_should_refuse_someone_not_in_the_staff_list(session: AsyncSession):
    audit, _, _ = await an_audit(session)

    assert not await sees(session, None, audit)


async def test_should_refuse_deactivated_staff_even_when_allocated(session: AsyncSession):
    audit, _, _ = await an_audit(session)
    auditor = await repo.get_staff(session, audit.auditor_id)
    auditor.active = False
    await session.flush()

    assert not await sees(session, auditor, audit)


async def test_held_roles_passed_in_give_the_same_answer(session: AsyncSession):
    audit, service, _ = await an_audit(session)
    audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
    held = await repo.roles_of(session, audit_team.id)

    assert await can_see_audit(session, audit_team, audit, held=held)
    assert not await can_see_audit(session, audit_team, audit, held=[])


async def test_scopes_for_lets_a_service_wide_role_cover_every_team(session: AsyncSession):
    service = await create_service(session)
    team, other = (
        await create_team(session, service=service),
        await create_team(session, service=service),
    )
    person = await create_staff(
        session,
        roles=[(Role.AUDIT_TEAM, team), (Role.AUDIT_MANAGER, service), (Role.AUDITOR, service)],
    )
    held = await repo.roles_of(session, person.id)

    assert scopes_for(held, {Role.AUDIT_TEAM}) == {service.id: frozenset({team.id})}
    assert scopes_for(held, AUDIT_TEAM_ROLES) == {service.id: None}
    assert covers(scopes_for(held, AUDIT_TEAM_ROLES), service.id, other.id)
    assert not covers(scopes_for(held, {Role.AUDIT_TEAM}), service.id, other.id)
    assert scopes_for(held, {Role.HEAD_OF_SERVICE}) == {}
