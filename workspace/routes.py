"""The Audit Team's workspace on the bot's own aiohttp app: the tab's page and its JSON API.

- `GET /tab`: the page Teams shows in the personal (and channel) tab; `GET /tab/configure`
  the page a team sees when pinning it to a channel. It asks the Teams JavaScript library
  for a single sign-on token and calls the API with it; in demo mode a visible picker signs
  in as a demo person instead (`/tab/demo-sign-in`).
- `GET /api/tab/{page}` for each page (tracker, recommendations, learning, calibration,
  reports): its sheets as JSON, filtered by `programme`, `service`, `cycle`, `team`,
  `state`, `grade` and `late`; `.csv` and `.xlsx` (and a report's `.pdf`) download the same
  sheets, and each download is an audit-trail event (who downloaded what).
- `GET /api/tab/choices`: what the filters offer this reader, and what they may write.
- `POST /api/tab/recommendations/review`, `POST /api/tab/learning` (and `/{id}`),
  `POST /api/tab/reports/note`: the writes, JSON only, each with its audit-trail row in one
  transaction; refused with a message and nothing changed otherwise.
- `GET /api/tab/audits/{id}/history` (and `.csv`, for inspectors): one audit's trail, for
  a reader who may see the audit (404 otherwise, as for one that does not exist).

Every API request is authenticated before any data is read (`workspace/auth.py`): 401 and
no data otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import Service, Staff
from workflow.calendar import Clock, WorkingCalendar
from workspace import scope
from workspace.auth import DEMO_COOKIE, TabAuth, Unauthorised
from workspace.calibration import calibration_sheets
from workspace.charts import svg
from workspace.learning import LearningRefused, learning_sheet, owners, save_item
from workspace.recommendations import ReviewRefused, recommendation_sheets, record_review
from workspace.reports import Report, ReportRefused, build_report, save_note
from workspace.sheets import Sheet, as_csv, as_xlsx
from workspace.tracker import Acknowledging, audit_history, tracker_sheet

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Handler = Callable[[web.Request, AsyncSession, Staff], Awaitable[web.Response]]
Refusals = (ReviewRefused, LearningRefused, ReportRefused)


@dataclass(frozen=True)
class Workspace:
    sessions: async_sessionmaker[AsyncSession]
    auth: TabAuth
    clock: Clock
    calendar: WorkingCalendar
    acknowledge_within_working_days: int  # AUDITBOT_ACKNOWLEDGE_WITHIN_WORKING_DAYS

    def today(self) -> date:
        return self.calendar.local_date(self.clock.now())


@dataclass
class PageData:
    sheets: list[Sheet]
    extra: dict[str, Any]
    report: Report | None = None


def json_text(value: Any) -> str:
    """JSON with dates as ISO dates (the sheets keep dates as dates for the workbooks)."""
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, date) else str(v))


def add_workspace_routes(app: web.Application, workspace: Workspace) -> None:
    sessions, auth, clock = workspace.sessions, workspace.auth, workspace.clock

    def signed_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            async with sessions() as session:
                try:
                    staff = await auth.person(session, request)
                except Unauthorised as refused:
                    log.info("workspace: refused %s: %s", request.path, refused)
                    return web.json_response({"error": "Unauthorized"}, status=401)
                return await handler(request, session, staff)

        return run

    async def tracker(request: web.Request, session: AsyncSession, staff: Staff) -> PageData:
        acknowledging = Acknowledging(workspace.calendar, workspace.acknowledge_within_working_days)
        sheet = await tracker_sheet(
            session, staff, now=clock.now(), acknowledging=acknowledging,
            filters=scope.Filters.from_query(request.query),
        )  # fmt: skip
        return PageData([sheet], {})

    async def recommendations(
        request: web.Request, session: AsyncSession, staff: Staff
    ) -> PageData:
        sheets = await recommendation_sheets(
            session, staff, today=workspace.today(), filters=scope.Filters.from_query(request.query)
        )
        reviewer = await scope.services_where(session, staff, scope.REVIEWERS)
        return PageData(sheets, {"may_review": bool(reviewer)})

    async def learning(request: web.Request, session: AsyncSession, staff: Staff) -> PageData:
        sheet = await learning_sheet(
            session, staff, filters=scope.Filters.from_query(request.query),
            zone=workspace.calendar.zone,
        )  # fmt: skip
        keeper = await scope.services_where(session, staff, scope.KEEPERS)
        return PageData([sheet], {"may_write": bool(keeper)})

    async def calibration(request: web.Request, session: AsyncSession, staff: Staff) -> PageData:
        sheets = await calibration_sheets(
            session, staff, filters=scope.Filters.from_query(request.query)
        )
        return PageData(sheets, {})

    async def reports(request: web.Request, session: AsyncSession, staff: Staff) -> PageData:
        report = await build_report(
            session, staff, period_key=request.query.get("period", "")[:32],
            filters=scope.Filters.from_query(request.query),
        )  # fmt: skip
        extra = {
            "period": {"key": report.period.key, "label": report.period.label},
            "periods": report.periods,
            "sections": [
                {"title": s.title, "note": s.note, "chart": svg(s.chart) if s.chart else None}
                for s in report.sections
            ],
            "note": {"text": report.note, "by": report.note_by, "may_write": report.may_write_note},
        }
        return PageData([s.sheet for s in report.sections], extra, report)

    pages: dict[str, Callable[[web.Request, AsyncSession, Staff], Awaitable[PageData]]] = {
        "tracker": tracker,
        "recommendations": recommendations,
        "learning": learning,
        "calibration": calibration,
        "reports": reports,
    }

    def page_route(name: str, kind: str) -> Handler:
        async def handle(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
            data = await pages[name](request, session, staff)
            if kind == "json":
                body = {
                    "reader": staff.display_name,
                    "sheets": [s.as_json() for s in data.sheets],
                    **data.extra,
                }
                return web.Response(text=json_text(body), content_type="application/json")
            filters = scope.Filters.from_query(request.query)
            what = {"what": f"{name}.{kind}", "rows": sum(len(s.rows) for s in data.sheets),
                    "filters": filters.described()}  # fmt: skip
            if data.report is not None:
                what["period"] = data.report.period.key
            await repo.record_event(
                session, staff, "staff", staff.id, "workspace_downloaded", None, what,
                at=clock.now(),
            )  # fmt: skip
            await session.commit()
            filename = f"{name}.{kind}" if name != "tracker" else f"audit-tracker.{kind}"
            headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
            if kind == "xlsx":
                return web.Response(body=as_xlsx(*data.sheets), content_type=XLSX, headers=headers)
            if kind == "pdf":
                from workspace.pdf import report_pdf  # fpdf2 loads when a PDF is asked for

                assert data.report is not None
                name_of = await _service_name(session, data.report.service)
                pdf = report_pdf(data.report, service_name=name_of, made_on=workspace.today())
                return web.Response(body=pdf, content_type="application/pdf", headers=headers)
            text = "\n".join(
                (f"{sheet.title}\n" if len(data.sheets) > 1 else "") + as_csv(sheet)
                for sheet in data.sheets
            )
            return web.Response(text=text, content_type="text/csv", headers=headers)

        return handle

    async def choices(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
        offered: dict[str, Any] = dict(await scope.choices(session, staff))
        offered["owner"] = await owners(session, staff)
        codes = await _codes(session)
        keeps = await scope.services_where(session, staff, scope.KEEPERS)
        reviews = await scope.services_where(session, staff, scope.REVIEWERS)
        offered["keeps"] = sorted(code for service_id, code in codes if service_id in keeps)
        offered["reviews"] = sorted(code for service_id, code in codes if service_id in reviews)
        body = json_text({"reader": staff.display_name, **offered})
        return web.Response(text=body, content_type="application/json")

    def write(act: Callable[[AsyncSession, Staff, Any], Awaitable[Any]], what: str) -> Handler:
        async def handle(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
            if request.content_type != "application/json":
                return web.json_response({"error": "Send JSON."}, status=415)
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "That is not JSON."}, status=400)
            try:
                saved = await act(session, staff, body)
            except Refusals as refused:
                await session.rollback()
                return web.json_response({"error": str(refused)}, status=400)
            await session.commit()
            log.info("workspace: %s %s by staff=%s", what, saved.id, staff.id)
            return web.json_response({"ok": True, "id": saved.id})

        return handle

    async def review(session: AsyncSession, staff: Staff, body: Any) -> Any:
        return await record_review(session, staff, body, now=clock.now(), today=workspace.today())

    async def add_learning(session: AsyncSession, staff: Staff, body: Any) -> Any:
        return await save_item(session, staff, body, item_id=None, now=clock.now())

    async def note(session: AsyncSession, staff: Staff, body: Any) -> Any:
        return await save_note(session, staff, body, now=clock.now())

    async def change_learning(
        request: web.Request, session: AsyncSession, staff: Staff
    ) -> web.Response:
        item = request.match_info["item_id"]
        item_id = int(item) if item.isdigit() and len(item) < 10 else 0

        async def act(session: AsyncSession, staff: Staff, body: Any) -> Any:
            return await save_item(session, staff, body, item_id=item_id, now=clock.now())

        return await write(act, "learning item changed")(request, session, staff)

    async def history(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
        audit_id = request.match_info["audit_id"]
        # An id that cannot be an audit's (not digits, or past the column's range) is none.
        wanted = int(audit_id) if audit_id.isdigit() and len(audit_id) < 10 else None
        sheet = await audit_history(session, staff, wanted) if wanted is not None else None
        if sheet is None:  # not found, or not theirs: the same answer, so nothing leaks
            return web.json_response({"error": "Not found"}, status=404)
        if request.path.endswith(".csv"):
            await repo.record_event(
                session, staff, "staff", staff.id, "workspace_downloaded", None,
                {"what": "audit_history.csv", "audit_id": wanted, "rows": len(sheet.rows)},
                at=clock.now(),
            )  # fmt: skip
            await session.commit()
            return web.Response(
                text=as_csv(sheet),
                content_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="audit-{audit_id}-trail.csv"'
                },
            )
        return web.json_response({"audit_id": wanted, "events": sheet.rows})

    async def page(request: web.Request) -> web.Response:
        html = resources.files("workspace").joinpath("tab.html").read_text(encoding="utf-8")
        return web.Response(
            text=html.replace("{{DEMO}}", "true" if auth.demo else "false"),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def demo_sign_in(request: web.Request) -> web.Response:
        """Demo only: sign in as a demo person (GET lists them, POST chooses one)."""
        if not auth.demo:
            raise web.HTTPNotFound()
        if request.method == "POST":
            form = await request.post()
            upn = str(form.get("upn", ""))
            response = web.HTTPSeeOther("/tab")
            response.set_cookie(DEMO_COOKIE, upn, httponly=True, samesite="Lax")
            raise response
        async with sessions() as session:
            people = (await session.scalars(select(Staff).order_by(Staff.display_name))).all()
        return web.json_response(
            [{"upn": p.upn, "name": p.display_name} for p in people if p.active]
        )

    async def configure(request: web.Request) -> web.Response:
        html = resources.files("workspace").joinpath("configure.html").read_text(encoding="utf-8")
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/tab", page)
    app.router.add_get("/tab/configure", configure)
    app.router.add_get("/tab/demo-sign-in", demo_sign_in)
    app.router.add_post("/tab/demo-sign-in", demo_sign_in)
    for name in pages:
        app.router.add_get(f"/api/tab/{name}", signed_in(page_route(name, "json")))
        for kind in ("csv", "xlsx", *(("pdf",) if name == "reports" else ())):
            app.router.add_get(f"/api/tab/{name}.{kind}", signed_in(page_route(name, kind)))
    app.router.add_get("/api/tab/choices", signed_in(choices))
    app.router.add_post("/api/tab/recommendations/review", signed_in(write(review, "review")))
    app.router.add_post("/api/tab/learning", signed_in(write(add_learning, "learning item")))
    app.router.add_post("/api/tab/learning/{item_id}", signed_in(change_learning))
    app.router.add_post("/api/tab/reports/note", signed_in(write(note, "report note")))
    app.router.add_get("/api/tab/audits/{audit_id}/history", signed_in(history))
    app.router.add_get("/api/tab/audits/{audit_id}/history.csv", signed_in(history))


async def _codes(session: AsyncSession) -> list[tuple[int, str]]:
    found = await session.execute(select(Service.id, Service.code))
    return [(service_id, code) for service_id, code in found]


async def _service_name(session: AsyncSession, code: str) -> str:
    if not code:
        return "All your services"
    service = await repo.get_service_by_code(session, code)
    return service.name if service else code


__all__ = ["Workspace", "add_workspace_routes"]
