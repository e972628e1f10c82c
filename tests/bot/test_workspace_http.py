"""The Audit Team's workspace over HTTP: Teams single sign-on tokens checked against the
tenant's Entra keys before any data is read, the tracker showing each reader only what
DOMAIN.md lets them see, its CSV download an audit-trail event, and the demo's sign-in."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime

import jwt
import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from openpyxl.utils import get_column_letter
from sqlalchemy import or_, select

from dialogs.cycles import CycleRequest, open_cycle
from manifest.app import AppListing, build_manifest
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, AuditEvent, Case, Cycle, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, HOS, KLOES, PRACTITIONER, person
from tests.bot.test_messages import card_of
from tests.conftest import Database
from tests.factories import create_staff
from tests.harness import APP_ID, SQLITE_ONLY, TAB_DOMAIN, TENANT_ID, RunningBot
from workflow.calendar import SystemClock
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workspace.auth import DEMO_COOKIE

AUDIENCE = f"api://{TAB_DOMAIN}/{APP_ID}"


async def demo(db: Database) -> None:
    """The demo organisation with a cycle of six audits open in each of its services."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        for code in ("CSC", "EH"):
            await open_cycle(
                session,
                CycleRequest(service_code=code, month=date(2026, 12, 1), seed=3, total=6,
                             kloes=KLOES),
                rules=ProgrammeRules(),
                now=SystemClock().now(),
            )  # fmt: skip


def token_for(bot: RunningBot, staff: Staff, **claims) -> str:
    assert bot.identity is not None
    values = {"tenant": TENANT_ID, "audience": AUDIENCE, "oid": staff.aad_object_id, **claims}
    return bot.identity.issue_entra_token(**values)


async def get(bot: RunningBot, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await bot.http.get(f"{bot.url}{path}", headers=headers)


async def tracker(bot: RunningBot, staff: Staff, query: str = "") -> dict:
    response = await get(bot, f"/api/tab/tracker{query}", token_for(bot, staff))
    assert response.status == 200, await response.text()
    data = await response.json()
    return {"reader": data["reader"], **data["sheets"][0]}


async def refs(db: Database, where) -> set[str]:  # noqa: ANN001
    async with db.sessions() as session:
        query = (
            select(Case.case_ref)
            .join(Audit, Audit.case_id == Case.id)
            .join(Cycle, Cycle.id == Audit.cycle_id)
            .where(where)
        )
        return set((await session.scalars(query)).all())


def foreign_key_token(bot: RunningBot, staff: Staff) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return token_for(bot, staff, key=other)


def unsigned_token(staff: Staff) -> str:
    now = int(time.time())
    payload = {"aud": AUDIENCE, "tid": TENANT_ID, "oid": staff.aad_object_id, "exp": now + 600}
    return jwt.encode(payload, None, algorithm="none")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda bot, staff: None, id="missing"),
        pytest.param(lambda bot, staff: "not-a-token", id="garbage"),
        pytest.param(
            lambda bot, staff: token_for(bot, staff, exp=int(time.time()) - 3600), id="expired"
        ),
        pytest.param(
            lambda bot, staff: token_for(bot, staff, audience="api://elsewhere/other-app"),
            id="wrong-audience",
        ),
        pytest.param(
            lambda bot, staff: token_for(bot, staff, tenant="00000000-0000-0000-0000-000000000000"),
            id="wrong-tenant",
        ),
        pytest.param(
            lambda bot, staff: token_for(bot, staff, tid="00000000-0000-0000-0000-000000000000"),
            id="tid-of-another-tenant",
        ),
        pytest.param(lambda bot, staff: unsigned_token(staff), id="unsigned"),
        pytest.param(foreign_key_token, id="foreign-signed"),
        pytest.param(lambda bot, staff: token_for(bot, staff, oid="nobody"), id="unknown-person"),
    ],
)
async def test_a_token_that_is_not_good_gets_401_and_no_data(
    db: Database, teams_bot: RunningBot, make
):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    paths = ("/api/tab/tracker", "/api/tab/tracker.csv", "/api/tab/tracker.xlsx",
             "/api/tab/audits/1/history", "/api/tab/audits/1/history.csv")  # fmt: skip
    for path in paths:
        response = await get(teams_bot, path, make(teams_bot, audit_team))
        assert response.status == 401
        body = await response.text()
        assert "rows" not in body and "Case" not in body
    async with db.sessions() as session:
        downloads = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "workspace_downloaded")
        )
        assert list(downloads) == []


async def test_each_reader_sees_only_what_they_may(db: Database, teams_bot: RunningBot):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    everything = await refs(db, Audit.id.is_not(None))
    assert len(everything) == 12
    seen = {row["case_ref"] for row in (await tracker(teams_bot, audit_team))["rows"]}
    assert seen == everything  # the Audit Team holds the role in both demo services

    head = await person(db, HOS)
    async with db.sessions() as session:
        [service_id] = {
            h.service_id
            for h in await repo.roles_of(session, head.id)
            if h.role is Role.HEAD_OF_SERVICE
        }
        eh = await repo.get_service_by_code(session, "EH")
        first = await session.scalar(select(Audit).order_by(Audit.id))
        practitioner = await repo.get_staff(session, first.practitioner_id)
    seen = {row["case_ref"] for row in (await tracker(teams_bot, head))["rows"]}
    assert seen == await refs(db, Cycle.service_id == service_id)
    assert seen and seen < everything

    seen = {row["case_ref"] for row in (await tracker(teams_bot, practitioner))["rows"]}
    assert seen == await refs(db, Audit.practitioner_id == practitioner.id)
    assert seen and seen < everything

    async with db.sessions() as session:
        [manager, *_] = await repo.list_staff_with_role(session, Role.TEAM_MANAGER, eh.id)
        teams = {h.team_id for h in await repo.roles_of(session, manager.id) if h.team_id}
    seen = {row["case_ref"] for row in (await tracker(teams_bot, manager))["rows"]}
    # Her teams' audits, and those she has a part in herself (she audits, too).
    own = or_(
        Audit.team_manager_id == manager.id,
        Audit.auditor_id == manager.id,
        Audit.moderator_id == manager.id,
    )
    assert seen == await refs(db, Case.team_id.in_(teams)) | await refs(db, own)
    assert seen < everything


async def test_filters_narrow_the_rows(db: Database, teams_bot: RunningBot):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    rows = (await tracker(teams_bot, audit_team, "?service=csc"))["rows"]
    assert rows and {row["service"] for row in rows} == {"CSC"}
    assert (await tracker(teams_bot, audit_team, "?state=closed"))["rows"] == []
    assert (await tracker(teams_bot, audit_team, "?state=bogus&grade=nope"))["rows"] == []
    allocated = (await tracker(teams_bot, audit_team, "?state=allocated"))["rows"]
    assert {row["state"] for row in allocated} == {"allocated and not yet started"}


async def test_the_csv_download_matches_the_rows_and_is_in_the_audit_trail(
    db: Database, teams_bot: RunningBot
):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    token = token_for(teams_bot, audit_team)
    shown = await tracker(teams_bot, audit_team, "?service=EH")
    response = await get(teams_bot, "/api/tab/tracker.csv?service=EH", token)
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    table = list(csv.reader(io.StringIO(await response.text())))
    assert table[0][:3] == ["Case", "Service", "Cycle"]
    assert [line[0] for line in table[1:]] == [row["case_ref"] for row in shown["rows"]]
    async with db.sessions() as session:
        [event] = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "workspace_downloaded")
            )
        ).all()
    assert event.entity_id == audit_team.id
    assert event.after["what"] == "tracker.csv" and event.after["rows"] == len(shown["rows"])


async def test_the_tab_page_is_served_and_the_demo_picker_is_off_when_deployed(
    db: Database, teams_bot: RunningBot
):
    page = await teams_bot.http.get(f"{teams_bot.url}/tab")
    assert page.status == 200
    html = await page.text()
    assert "const DEMO = false;" in html and "getAuthToken" in html
    assert (await teams_bot.http.get(f"{teams_bot.url}/tab/demo-sign-in")).status == 404
    configure = await teams_bot.http.get(f"{teams_bot.url}/tab/configure")
    assert configure.status == 200 and "registerOnSaveHandler" in await configure.text()


@SQLITE_ONLY
async def test_in_the_demo_a_visible_picker_signs_in_as_a_demo_person(
    db: Database, demo_bot: RunningBot
):
    await demo(db)
    html = await (await demo_bot.http.get(f"{demo_bot.url}/tab")).text()
    assert "const DEMO = true;" in html and "Demo sign-in as" in html
    assert (await demo_bot.http.get(f"{demo_bot.url}/api/tab/tracker")).status == 401
    people = await (await demo_bot.http.get(f"{demo_bot.url}/tab/demo-sign-in")).json()
    practitioner = await person(db, PRACTITIONER)
    assert practitioner.upn in {p["upn"] for p in people}

    chosen = await demo_bot.http.post(
        f"{demo_bot.url}/tab/demo-sign-in", data={"upn": practitioner.upn}, allow_redirects=False
    )
    assert chosen.status == 303
    # (aiohttp's client keeps no cookies for an IP address; a browser does.)
    cookie = chosen.cookies[DEMO_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    response = await demo_bot.http.get(
        f"{demo_bot.url}/api/tab/tracker", cookies={DEMO_COOKIE: cookie.value}
    )
    assert response.status == 200
    data = await response.json()
    assert data["reader"] == practitioner.display_name
    assert {row["case_ref"] for row in data["sheets"][0]["rows"]} == await refs(
        db, Audit.practitioner_id == practitioner.id
    )


async def test_an_audits_history_is_shown_and_downloaded_only_to_who_may_see_it(
    db: Database, teams_bot: RunningBot
):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    async with db.sessions.begin() as session:
        first = await session.scalar(select(Audit).order_by(Audit.id))
        # A practitioner of another team with no part in it.
        stranger = await create_staff(session, roles=["practitioner@EH-SOUTH"])
    path = f"/api/tab/audits/{first.id}/history"
    response = await get(teams_bot, path, token_for(teams_bot, audit_team))
    assert response.status == 200
    events = (await response.json())["events"]
    assert events and events[0]["action"] == "allocated"

    refused = await get(teams_bot, path, token_for(teams_bot, stranger))
    assert refused.status == 404
    assert (await get(teams_bot, path + ".csv", token_for(teams_bot, stranger))).status == 404
    for wrong in ("999999", "99999999999999999999", "1e3"):
        missing = await get(
            teams_bot, f"/api/tab/audits/{wrong}/history", token_for(teams_bot, audit_team)
        )
        assert missing.status == 404

    download = await get(teams_bot, path + ".csv", token_for(teams_bot, audit_team))
    table = list(csv.reader(io.StringIO(await download.text())))
    assert table[0] == ["When (UTC)", "Who", "What", "Before", "After"]
    assert [line[2] for line in table[1:]] == [e["action"] for e in events]
    async with db.sessions() as session:
        [event] = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "workspace_downloaded")
            )
        ).all()
    assert event.after == {"what": "audit_history.csv", "audit_id": first.id, "rows": len(events)}


async def test_the_excel_download_is_a_real_workbook_with_the_rows_dates_and_filters(
    db: Database, teams_bot: RunningBot
):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    shown = (await tracker(teams_bot, audit_team))["rows"]
    response = await get(teams_bot, "/api/tab/tracker.xlsx", token_for(teams_bot, audit_team))
    assert response.status == 200
    assert response.content_type.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    sheet = book["Tracker"]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Case", "Service", "Cycle"] and sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(header))}{len(shown) + 1}"
    lines = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [line[0] for line in lines] == [row["case_ref"] for row in shown]
    due = header.index("Audit due")
    for line, row in zip(lines, shown, strict=True):
        assert isinstance(line[due], datetime)  # a date, not text
        assert line[due].date().isoformat() == row["audit_due"]
    async with db.sessions() as session:
        [event] = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "workspace_downloaded")
            )
        ).all()
    assert event.after["what"] == "tracker.xlsx" and event.after["rows"] == len(shown)


async def test_cycle_status_links_to_the_tracker_tab(db: Database, teams_bot: RunningBot):
    await demo(db)
    audit_team = await person(db, AUDIT_TEAM)
    status = card_of(await teams_bot.say(audit_team.aad_object_id, "cycle status"))
    [button] = [a for a in status.get("actions", []) if a["type"] == "Action.OpenUrl"]
    assert button["url"] == f"https://teams.microsoft.com/l/entity/{APP_ID}/audit-tracker"
    assert build_manifest_entity() == "audit-tracker"


def build_manifest_entity() -> str:
    """The personal tab's entityId in the manifest the link names."""
    listing = AppListing(
        app_id=APP_ID, developer_name="Council", website_url="https://council.example/a",
        privacy_url="https://council.example/p", terms_url="https://council.example/t",
        version="1.0.0", tab_domain=TAB_DOMAIN,
    )  # fmt: skip
    return build_manifest(listing)["staticTabs"][0]["entityId"]
