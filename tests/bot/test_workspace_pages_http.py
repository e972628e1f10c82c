"""The workspace's pages over HTTP, with Teams single sign-on tokens, on SQLite and
PostgreSQL: the recommendation and impact tracker and its monthly review, the learning
log, calibration and the board reports (with their downloads opened back and their figures
checked against what was recorded), and "I've seen this" on allocation notices feeding
the tracker.

The audits' grades, section grades, feedback and recommendations are written here as the
wizard and moderation write them (their own tests cover those turns), so each figure the
pages show can be worked out from the table below."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from cards.allocation import ACKNOWLEDGE
from dialogs.cycles import CycleRequest, open_cycle
from storage import repositories as repo
from storage.enums import GradeStage, RecommendationLevel, RecommendationStatus
from storage.models import (
    Acknowledgement,
    Audit,
    AuditEvent,
    Case,
    Cycle,
    LearningItem,
    Recommendation,
    RecommendationReview,
    ReportNote,
    Staff,
    Team,
)
from tests.bot.test_card_actions import AUDIT_TEAM, HOS, KLOES, person, press
from tests.bot.test_workspace_http import demo, get, token_for
from tests.conftest import Database
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workspace"
AUDIT_MANAGER = "daniel.kowalski@demo-council.gov.uk"
EH_HOS = "samuel.adeyemi@demo-council.gov.uk"
OUT, G, R, INAD = Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE

# The six December Early Help audits, in id order: the auditor's and the moderator's overall
# grade, and two sections each (auditor's, moderator's); the last two are not yet graded.
DECEMBER = [
    (G, G, {"relationship_and_direct_work": (G, G), "planning_and_impact": (G, R)}),
    (OUT, G, {"relationship_and_direct_work": (OUT, G), "planning_and_impact": (G, G)}),
    (R, R, {"relationship_and_direct_work": (R, R), "planning_and_impact": (R, INAD)}),
    (
        INAD,
        INAD,
        {"relationship_and_direct_work": (INAD, INAD), "planning_and_impact": (INAD, INAD)},
    ),
    None,
    None,
]
SEPTEMBER = [R, INAD, G, G]  # the earlier Early Help cycle's final grades


@dataclass
class World:
    december: list[Audit]
    september: list[Audit]
    eh_code: str = "EH"


async def graded_world(db: Database) -> World:
    """The demo with December's cycles open in CSC and EH, an earlier EH cycle in September,
    and EH's audits graded, moderated, given feedback, KLOE findings and recommendations."""
    await demo(db)
    async with db.sessions.begin() as session:
        await open_cycle(
            session,
            CycleRequest(service_code="EH", month=date(2026, 9, 1), seed=5, total=4, kloes=KLOES),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        eh = await repo.get_service_by_code(session, "EH")
        audits = select(Audit).order_by(Audit.id)
        cycles = (
            await session.scalars(
                select(Cycle).where(Cycle.service_id == eh.id).order_by(Cycle.month)
            )
        ).all()
        september, december = [
            list((await session.scalars(audits.where(Audit.cycle_id == c.id))).all())
            for c in cycles
        ]
        for audit, grade in zip(september, SEPTEMBER, strict=True):
            audit.initial_grade = audit.moderated_grade = audit.final_grade = grade
            audit.state = AuditState.CLOSED
        for index, (audit, plan) in enumerate(zip(december, DECEMBER, strict=True)):
            if plan is None:
                continue
            initial, moderated, sections = plan
            audit.initial_grade, audit.moderated_grade, audit.final_grade = (
                initial, moderated, moderated
            )  # fmt: skip
            audit.state = AuditState.MODERATED
            for section, (first, second) in sections.items():
                await repo.save_section_grade(
                    session, audit.id, section, GradeStage.INITIAL, audit.auditor_id, first
                )
                await repo.save_section_grade(
                    session, audit.id, section, GradeStage.MODERATED, audit.moderator_id,
                    second, agreed=first is second,
                )  # fmt: skip
            answers = {
                "key_lines_of_enquiry": {"kloe_1": "Seen." if index in (0, 2) else ""},
                "family_feedback": (
                    {"child_family_said": "Helpful", "child_family_method": "Telephone",
                     **({"practitioner_said": "Clear", "practitioner_method": "In person"}
                        if index == 0 else {})}
                    if index in (0, 1) else {}
                ),
            }  # fmt: skip
            audit.draft = {"wizard": {"step": "done", "rev": 1, "answers": answers}}
        # December's first two audits re-audit September's RI (now Good) and Inadequate
        # (now Inadequate: December's fourth).
        december[0].predecessor_id = september[0].id
        december[3].predecessor_id = september[1].id
        manager = await repo.get_staff_by_upn(session, AUDIT_MANAGER)
        await repo.add_recommendation(
            session, december[0].id, RecommendationLevel.CHILD, "Visit fortnightly",
            "The child is seen", december[0].practitioner_id, date(2026, 11, 30),
        )  # fmt: skip
        await repo.add_recommendation(
            session, december[1].id, RecommendationLevel.SERVICE, "Refresh oversight guidance",
            "Plans do not drift", manager.id, date(2027, 1, 29),
        )  # fmt: skip
    return World(december, september)


async def page(bot: RunningBot, staff: Staff, name: str, query: str = "") -> dict:
    response = await get(bot, f"/api/tab/{name}{query}", token_for(bot, staff))
    assert response.status == 200, await response.text()
    return await response.json()


async def post(bot: RunningBot, staff: Staff, path: str, body: object):
    return await bot.http.post(
        f"{bot.url}{path}", json=body, headers={"Authorization": f"Bearer {token_for(bot, staff)}"}
    )


async def count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def events(db: Database, action: str) -> list[AuditEvent]:
    async with db.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await session.scalars(query)).all())


async def test_the_recommendation_tracker_is_reviewed_monthly_by_who_may(
    db: Database, teams_bot: RunningBot
):
    world = await graded_world(db)
    audit_team = await person(db, AUDIT_TEAM)
    data = await page(teams_bot, audit_team, "recommendations")
    recommendations, reviews = data["sheets"]
    by_action = {row["action"]: row for row in recommendations["rows"]}
    child, service = by_action["Visit fortnightly"], by_action["Refresh oversight guidance"]
    assert (child["level"], child["status"], child["late"]) == ("Child", "Open", "yes")
    assert (service["level"], service["owner"], service["late"]) == (
        "Service",
        "Daniel Kowalski",
        "",
    )
    assert reviews["rows"] == [] and data["may_review"] is True
    # The practitioner whose audit it is sees theirs only; a CSC head of service sees none.
    async with db.sessions() as session:
        practitioner = await session.get(Staff, world.december[0].practitioner_id)
    mine = (await page(teams_bot, practitioner, "recommendations"))["sheets"][0]["rows"]
    theirs = {
        action
        for action, audit in (("Visit fortnightly", world.december[0]),
                              ("Refresh oversight guidance", world.december[1]))
        if audit.practitioner_id == practitioner.id
    }  # fmt: skip
    assert "Visit fortnightly" in theirs and {row["action"] for row in mine} == theirs
    csc_head = await person(db, HOS)
    assert (await page(teams_bot, csc_head, "recommendations"))["sheets"][0]["rows"] == []

    review = {
        "service": "eh", "meeting_on": "2026-12-01", "decided": "Keep the visits going.",
        "items": [{"id": child["id"], "status": "partly", "impact": "Seen twice since"},
                  {"id": service["id"], "status": "done", "impact": ""}],
    }  # fmt: skip
    # Refused, nothing changed: someone who does not review EH; a future meeting; a bad
    # status; a recommendation of another service; not JSON.
    refusals = [
        (csc_head, review, "Only the Audit Team, the Audit Manager or the Head of Service"),
        (audit_team, {**review, "meeting_on": "2027-01-05"}, "in the future"),
        (audit_team, {**review, "items": [{"id": child["id"], "status": "finished"}]},
         "open, done, partly or not yet"),
        (audit_team, {**review, "service": "CSC"}, "is not one of CSC's"),
        (audit_team, {**review, "items": []}, "at least one"),
        (audit_team, {**review, "items": [{"id": 10**12, "status": "done"}]}, "needs its id"),
    ]  # fmt: skip
    for who, body, words in refusals:
        response = await post(teams_bot, who, "/api/tab/recommendations/review", body)
        assert response.status == 400 and words in (await response.json())["error"]
    as_form = await teams_bot.http.post(
        f"{teams_bot.url}/api/tab/recommendations/review", data={"service": "EH"},
        headers={"Authorization": f"Bearer {token_for(teams_bot, audit_team)}"},
    )  # fmt: skip
    assert as_form.status == 415
    assert await count(db, RecommendationReview) == 0
    assert await events(db, "recommendation_reviewed") == []

    head = await person(db, EH_HOS)
    response = await post(teams_bot, head, "/api/tab/recommendations/review", review)
    assert response.status == 200, await response.text()
    data = await page(teams_bot, audit_team, "recommendations")
    by_action = {row["action"]: row for row in data["sheets"][0]["rows"]}
    assert by_action["Visit fortnightly"]["status"] == "Partly done"
    assert by_action["Visit fortnightly"]["impact_noted"] == "Seen twice since"
    assert by_action["Visit fortnightly"]["reviewed_on"] == "2026-12-01"
    assert by_action["Refresh oversight guidance"]["status"] == "Done"
    [row] = data["sheets"][1]["rows"]
    assert row == {
        "meeting_on": "2026-12-01",
        "service": "EH",
        "reviewed": 2,
        "decided": "Keep the visits going.",
        "recorded_by": head.display_name,
    }
    trail = await events(db, "recommendation_reviewed")
    assert {(e.entity_id, e.before["status"], e.after["status"]) for e in trail} == {
        (world.december[0].id, "open", "partly"),
        (world.december[1].id, "open", "done"),
    }
    assert all(e.actor_id == head.id for e in trail)
    async with db.sessions() as session:
        done = await session.get(Recommendation, service["id"])
    assert done.status is RecommendationStatus.DONE

    # Both sheets download, as a workbook with a sheet each and as CSV.
    response = await get(teams_bot, "/api/tab/recommendations.xlsx", token_for(teams_bot, head))
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames == ["Recommendations", "Monthly reviews"]
    assert book["Monthly reviews"]["A2"].value == datetime(2026, 12, 1)
    assert book["Recommendations"].max_row == 3
    response = await get(teams_bot, "/api/tab/recommendations.csv", token_for(teams_bot, head))
    text = await response.text()
    assert text.startswith("Recommendations\n") and "Monthly reviews\n" in text
    [download, _] = [e for e in await events(db, "workspace_downloaded")]
    assert download.after["what"] == "recommendations.xlsx" and download.actor_id == head.id


async def test_the_learning_log_is_written_by_the_audit_team_and_read_by_the_service(
    db: Database, teams_bot: RunningBot
):
    world = await graded_world(db)
    audit_team, head = await person(db, AUDIT_TEAM), await person(db, EH_HOS)
    async with db.sessions() as session:
        case_ref = await session.scalar(
            select(Case.case_ref).where(Case.id == world.december[2].case_id)
        )
        practitioner = await session.get(Staff, world.december[2].practitioner_id)
    item = {
        "service": "EH", "theme": "Planning", "learning": "Plans lack timescales",
        "rag": "red", "source": "moderation", "case_ref": case_ref, "owner": AUDIT_MANAGER,
    }  # fmt: skip
    for who, body, words in [
        (head, item, "Only the Audit Team or the Audit Manager"),
        (audit_team, {**item, "rag": "purple"}, "red, amber or green"),
        (audit_team, {**item, "theme": ""}, "theme"),
        (audit_team, {**item, "case_ref": "NOPE-1"}, "No audit of case NOPE-1 in EH"),
        (audit_team, {**item, "owner": "nobody@x.test"}, "Nobody active"),
        (audit_team, {**item, "status": "embedded"}, "evidence of change"),
        (audit_team, {**item, "source": "cycle", "cycle": "99999999999"}, "not one of EH's"),
    ]:
        response = await post(teams_bot, who, "/api/tab/learning", body)
        assert response.status == 400 and words in (await response.json())["error"], words
    assert await count(db, LearningItem) == 0

    first = await post(teams_bot, audit_team, "/api/tab/learning", item)
    assert first.status == 200
    green = {**item, "theme": "Direct work", "learning": "Voice of the child is strong",
             "rag": "green", "source": "cycle", "case_ref": ""}  # fmt: skip
    assert (await post(teams_bot, audit_team, "/api/tab/learning", green)).status == 200
    rows = (await page(teams_bot, head, "learning"))["sheets"][0]["rows"]
    assert [(r["rag"], r["theme"]) for r in rows] == [("Red", "Planning"), ("Green", "Direct work")]
    assert rows[0]["source"] == f"Moderation of {case_ref}"
    assert rows[0]["owner"] == "Daniel Kowalski" and rows[0]["status"] == "Open"
    # The practitioner (no service-wide role) sees no log; the Head of Service reads but
    # does not write; the Audit Team marks it embedded with its evidence.
    assert (await page(teams_bot, practitioner, "learning"))["sheets"][0]["rows"] == []
    assert (await page(teams_bot, head, "learning"))["may_write"] is False
    item_id = (await first.json())["id"]
    change = {"rag": "amber", "status": "embedded", "evidence": "Re-audits show timescales"}
    assert (await post(teams_bot, head, f"/api/tab/learning/{item_id}", change)).status == 400
    assert (await post(teams_bot, audit_team, f"/api/tab/learning/{item_id}", change)).status == 200
    [changed] = [r for r in (await page(teams_bot, head, "learning"))["sheets"][0]["rows"]
                 if r["id"] == item_id]  # fmt: skip
    assert (changed["rag"], changed["status"], changed["evidence"], changed["owner"]) == (
        "Amber",
        "Embedded",
        "Re-audits show timescales",
        "",
    )
    assert [e.action for e in await _trail(db, "learning_item", item_id)] == ["added", "updated"]
    response = await get(teams_bot, "/api/tab/learning.xlsx", token_for(teams_bot, head))
    sheet = openpyxl.load_workbook(io.BytesIO(await response.read()))["Learning log"]
    assert [c.value for c in sheet[2]][:3] == ["Amber", "Planning", "Plans lack timescales"]


async def _trail(db: Database, entity: str, entity_id: int) -> list[AuditEvent]:
    async with db.sessions() as session:
        return await repo.list_events(session, entity, entity_id)


async def test_calibration_shows_how_often_moderation_agrees_with_each_auditor(
    db: Database, teams_bot: RunningBot
):
    world = await graded_world(db)
    audit_team = await person(db, AUDIT_TEAM)
    data = await page(teams_bot, audit_team, "calibration", "?service=EH")
    by_auditor, by_section, both, over_time = data["sheets"]
    # Worked out from DECEMBER: per auditor, the sections compared and agreed.
    async with db.sessions() as session:
        names = {
            a.id: (await session.get(Staff, a.auditor_id)).display_name for a in world.december
        }
    expected: dict[str, list[int]] = {}
    for audit, plan in zip(world.december, DECEMBER, strict=True):
        if plan is None:
            continue
        tally = expected.setdefault(names[audit.id], [0, 0])
        for first, second in plan[2].values():
            tally[0] += 1
            tally[1] += first is second
    shown = {row["auditor"]: [row["compared"], row["agreed"]] for row in by_auditor["rows"]}
    assert shown == expected
    sections = {row["section"]: row for row in by_section["rows"]}
    planning = sections["Planning, intervention and impact on outcomes"]
    assert (planning["compared"], planning["regraded"], planning["down"]) == (4, 2, 2)
    relationships = sections["Relationship-based practice and direct work"]
    assert (relationships["regraded"], relationships["down"]) == (1, 1)
    assert by_section["rows"][0]["section"] == planning["section"]  # most regraded first
    assert sum(row["compared"] for row in both["rows"]) == 8
    december, *each = over_time["rows"]
    assert december["auditor"] == "All auditors"
    assert (december["audits"], december["compared"], december["share"]) == (4, 8, 62.5)
    assert {row["auditor"]: [row["compared"], round(row["share"] * row["compared"] / 100)]
            for row in each} == expected  # fmt: skip
    # Someone without a service-wide role sees nothing to calibrate.
    async with db.sessions() as session:
        practitioner = await session.get(Staff, world.december[0].practitioner_id)
    assert (await page(teams_bot, practitioner, "calibration"))["sheets"][0]["rows"] == []


async def test_a_report_compares_periods_and_downloads_as_pdf_and_excel(
    db: Database, teams_bot: RunningBot
):
    world = await graded_world(db)
    audit_team = await person(db, AUDIT_TEAM)
    period = f"cycle:{world.december[0].cycle_id}"
    data = await page(teams_bot, audit_team, "reports", f"?service=EH&period={period}")
    assert data["period"]["key"] == period
    assert {f"cycle:{world.september[0].cycle_id}", "quarter:2026-Q4", "quarter:2026-Q3",
            "year:2026"} <= {p["value"] for p in data["periods"]}  # fmt: skip
    sections = {
        s["title"]: (s, sheet) for s, sheet in zip(data["sections"], data["sheets"], strict=True)
    }

    _, grades = sections["Grades compared with previous periods"]
    now, before = grades["rows"]
    shown = [now[key] for key in ("Outstanding", "Good", "Requires Improvement", "Inadequate")]
    assert shown == [0, 2, 1, 1]
    assert (now["Not yet graded"], now["total"], now["good_share"]) == (2, 6, 50.0)
    assert (before["Good"], before["Requires Improvement"], before["Inadequate"]) == (2, 1, 1)
    chart, _ = sections["Grades compared with previous periods"]
    assert chart["chart"].startswith("<svg") and 'role="img"' in chart["chart"]

    _, moderation = sections["How moderation changed grades"]
    matrix = {row["initial"]: row for row in moderation["rows"]}
    assert matrix["Outstanding"]["Good"] == 1 and matrix["Good"]["Good"] == 1
    assert sum(row["total"] for row in moderation["rows"]) == 4

    _, impact = sections["Impact of the last period's audits"]
    outcomes = {row["outcome"]: row["count"] for row in impact["rows"]}
    assert outcomes["Improved"] == 1 and outcomes["Same grade"] == 1
    assert sum(outcomes.values()) == 2  # September's two below Good

    _, kloes = sections["The KLOEs and what was found"]
    first = next(row for row in kloes["rows"] if row["kloe"] == KLOES[0])
    assert (first["audits"], first["commented"], first["good"]) == (6, 2, 1)

    _, themes = sections["Strengths and areas for development by theme"]
    by_theme = {row["theme"]: row for row in themes["rows"]}
    planning = by_theme["Planning, intervention and impact on outcomes"]
    assert (planning["Strength"], planning["Area for development"]) == (1, 3)

    _, feedback = sections["Feedback from children, families and practitioners"]
    by_source = {row["source"]: row for row in feedback["rows"]}
    family = by_source["Child, young person, parent or carer"]
    practitioners = by_source["Audit conversation with the practitioner and/or manager"]
    assert (family["audits"], family["methods"]) == (2, "Telephone: 2")
    assert (practitioners["audits"], practitioners["methods"]) == (1, "In person: 1")

    _, actions = sections["The improvement actions"]
    assert [row["action"] for row in actions["rows"]] == ["Refresh oversight guidance"]

    # The top ten note: written by the Audit Team for this service and period, read back.
    note = {"service": "EH", "period": period, "text": "1. Plans need timescales."}
    head = await person(db, EH_HOS)
    refused = await post(teams_bot, head, "/api/tab/reports/note", note)
    assert refused.status == 400 and await count(db, ReportNote) == 0
    assert (await post(teams_bot, audit_team, "/api/tab/reports/note", note)).status == 200
    again = await page(teams_bot, head, "reports", f"?service=EH&period={period}")
    assert again["note"] == {"text": "1. Plans need timescales.", "by": "Alex Wilber",
                             "may_write": False}  # fmt: skip

    # A quarter and a year have the same sections (December falls in Q4 2026).
    quarter = await page(teams_bot, audit_team, "reports", "?service=EH&period=quarter:2026-Q4")
    assert quarter["sheets"][0]["rows"][0]["period"] == "Q4 2026"
    assert quarter["sheets"][0]["rows"][0]["total"] == 6

    response = await get(
        teams_bot, f"/api/tab/reports.xlsx?service=EH&period={period}",
        token_for(teams_bot, audit_team),
    )  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert [cell.value for cell in book["Grades"][2]][1:] == [0, 2, 1, 1, 2, 6, 50]
    assert book.sheetnames[:2] == ["Grades", "Moderation"]

    response = await get(
        teams_bot, f"/api/tab/reports.pdf?service=EH&period={period}",
        token_for(teams_bot, audit_team),
    )  # fmt: skip
    assert response.status == 200 and response.content_type == "application/pdf"
    pdf = await response.read()
    pages, text = rasterise(pdf)
    assert pages >= 1
    assert "Top ten findings and learning" in text and "1. Plans need timescales." in text
    assert "Grades compared with previous periods" in text
    assert "Refresh oversight guidance" in text
    what = [e.after["what"] for e in await events(db, "workspace_downloaded")]
    assert what == ["reports.xlsx", "reports.pdf"]


def rasterise(pdf: bytes) -> tuple[int, str]:
    """The PDF's pages drawn as PNGs by pdftoppm (each must have ink on it), and its text."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must check PDFs: install poppler-utils")
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "report.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), f"{scratch}/page"],
                       check=True)  # fmt: skip
        pngs = sorted(Path(scratch).glob("page*.png"))
        SHOTS.mkdir(parents=True, exist_ok=True)
        for number, png in enumerate(pngs, 1):
            assert png.stat().st_size > 2_000  # not a blank page
            shutil.copy(png, SHOTS / f"report-pdf-page-{number}.png")  # kept, to be looked at
        text = subprocess.run(
            ["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True
        ).stdout.decode()
    return len(pngs), text


async def test_ive_seen_this_is_pressed_once_and_the_tracker_lists_who_has_not(
    db: Database, teams_bot: RunningBot
):
    await demo(db)
    async with db.sessions.begin() as session:
        eh = await repo.get_service_by_code(session, "EH")
        audit = await session.scalar(
            select(Audit).join(Cycle).where(Cycle.service_id == eh.id).order_by(Audit.id)
        )
        # Allocated a week ago: past the two working days the tracker allows.
        audit.created_at = datetime.now(audit.created_at.tzinfo) - timedelta(days=7)
        practitioner = await session.get(Staff, audit.practitioner_id)
        auditor = await session.get(Staff, audit.auditor_id)
        case_ref = (await session.get(Case, audit.case_id)).case_ref
    card = await press(teams_bot, practitioner, ACKNOWLEDGE, audit_id=audit.id, part="practitioner")
    assert "You said you'd seen this on" in str(card)
    assert all(a.get("verb") != ACKNOWLEDGE for a in card.get("actions", []))
    again = await press(
        teams_bot, practitioner, ACKNOWLEDGE, audit_id=audit.id, part="practitioner"
    )
    assert "You said you'd seen this on" in str(again)
    # Someone else pressing it (or claiming another part) is refused, and nothing is kept.
    refused = await press(teams_bot, auditor, ACKNOWLEDGE, audit_id=audit.id, part="practitioner")
    assert "This isn't yours to do" in str(refused)
    async with db.sessions() as session:
        kept = (await session.scalars(select(Acknowledgement))).all()
    assert [(k.audit_id, k.staff_id) for k in kept] == [(audit.id, practitioner.id)]
    assert len(await events(db, "allocation_acknowledged")) == 1

    auditor_card = await press(teams_bot, auditor, ACKNOWLEDGE, audit_id=audit.id, part="auditor")
    assert "You said you'd seen this on" in str(auditor_card)
    assert any(a.get("title") == "Start audit" for a in auditor_card["actions"])

    audit_team = await person(db, AUDIT_TEAM)
    rows = (await page(teams_bot, audit_team, "tracker", "?service=EH"))["sheets"][0]["rows"]
    [row] = [r for r in rows if r["case_ref"] == case_ref]
    waiting = row["not_acknowledged"]
    assert practitioner.display_name not in waiting and auditor.display_name not in waiting
    assert "(team manager)" in waiting and "(moderator)" in waiting
    # The other audits were allocated today: nobody is late to acknowledge them yet.
    assert all(r["not_acknowledged"] == "" for r in rows if r["case_ref"] != case_ref)


async def test_the_filters_choose_by_programme_and_team_and_offer_what_the_reader_sees(
    db: Database, teams_bot: RunningBot
):
    await demo(db)
    audit_team, csc_head = await person(db, AUDIT_TEAM), await person(db, HOS)
    offered = await page(teams_bot, audit_team, "choices")
    assert {s["value"] for s in offered["service"]} == {"CSC", "EH"}
    assert offered["keeps"] == ["CSC", "EH"] and len(offered["cycle"]) == 2
    assert {s["value"] for s in (await page(teams_bot, csc_head, "choices"))["service"]} == {"CSC"}
    team = offered["team"][0]["value"]
    rows = (await page(teams_bot, audit_team, "tracker", f"?team={team}"))["sheets"][0]["rows"]
    async with db.sessions() as session:
        team_id = select(Team.id).where(Team.code == team).scalar_subquery()
        query = select(Case.case_ref).join(Audit, Audit.case_id == Case.id)
        expected = set((await session.scalars(query.where(Case.team_id == team_id))).all())
    assert rows and {row["case_ref"] for row in rows} == expected
    unknown = await page(teams_bot, audit_team, "tracker", "?programme=no-such-programme")
    assert unknown["sheets"][0]["rows"] == []
