"""The Audit Team's workspace on the bot's own aiohttp app: the tab's page and its JSON API.

- `GET /tab`: the page Teams shows in the personal (and channel) tab; `GET /tab/configure`
  the page a team sees when pinning it to a channel. It asks the Teams
  JavaScript library for a single sign-on token and calls the API with it; in demo mode a
  visible picker signs in as a demo person instead (`/tab/demo-sign-in`).
- `GET /api/tab/tracker`: the tracker's rows the reader may see, filtered by `service`,
  `cycle`, `state`, `grade` and `late`.
- `GET /api/tab/tracker.csv` and `.xlsx`: the same as CSV or an Excel workbook; each
  download is an audit-trail event (who downloaded what).
- `GET /api/tab/audits/{id}/history` (and `.csv`, for inspectors): one audit's trail, for
  a reader who may see the audit (404 otherwise, as for one that does not exist).

Every API request is authenticated before any data is read (`workspace/auth.py`): 401 and
no data otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import Staff
from workflow.calendar import Clock
from workspace.auth import DEMO_COOKIE, TabAuth, Unauthorised
from workspace.tracker import (
    Filters,
    as_csv,
    as_json,
    audit_history,
    history_csv,
    tracker_rows,
)
from workspace.xlsx import tracker_xlsx

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Handler = Callable[[web.Request, AsyncSession, Staff], Awaitable[web.StreamResponse]]


def add_workspace_routes(
    app: web.Application,
    sessions: async_sessionmaker[AsyncSession],
    auth: TabAuth,
    clock: Clock,
    timezone: str,
) -> None:
    def signed_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            async with sessions() as session:
                try:
                    staff = await auth.person(session, request)
                except Unauthorised as refused:
                    log.info("workspace: refused %s: %s", request.path, refused)
                    return web.json_response({"error": "Unauthorized"}, status=401)
                return await handler(request, session, staff)

        return run

    async def tracker(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
        rows = await tracker_rows(
            session, staff, now=clock.now(), timezone=timezone, filters=_filters(request)
        )
        return web.json_response({"reader": staff.display_name, **as_json(rows)})

    async def tracker_download(
        request: web.Request, session: AsyncSession, staff: Staff
    ) -> web.Response:
        filters = _filters(request)
        rows = await tracker_rows(
            session, staff, now=clock.now(), timezone=timezone, filters=filters
        )
        kind = "xlsx" if request.path.endswith(".xlsx") else "csv"
        await repo.record_event(
            session, staff, "staff", staff.id, "workspace_downloaded", None,
            {"what": f"tracker.{kind}", "rows": len(rows), "filters": filters.__dict__},
            at=clock.now(),
        )  # fmt: skip
        await session.commit()
        disposition = {"Content-Disposition": f'attachment; filename="audit-tracker.{kind}"'}
        if kind == "xlsx":
            return web.Response(body=tracker_xlsx(rows), content_type=XLSX, headers=disposition)
        return web.Response(text=as_csv(rows), content_type="text/csv", headers=disposition)

    async def history(request: web.Request, session: AsyncSession, staff: Staff) -> web.Response:
        audit_id = request.match_info["audit_id"]
        # An id that cannot be an audit's (not digits, or past the column's range) is none.
        wanted = int(audit_id) if audit_id.isdigit() and len(audit_id) < 10 else None
        rows = await audit_history(session, staff, wanted) if wanted is not None else None
        if rows is None:  # not found, or not theirs: the same answer, so nothing leaks
            return web.json_response({"error": "Not found"}, status=404)
        if request.path.endswith(".csv"):
            await repo.record_event(
                session, staff, "staff", staff.id, "workspace_downloaded", None,
                {"what": "audit_history.csv", "audit_id": int(audit_id), "rows": len(rows)},
                at=clock.now(),
            )  # fmt: skip
            await session.commit()
            return web.Response(
                text=history_csv(rows),
                content_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="audit-{audit_id}-trail.csv"'
                },
            )
        return web.json_response({"audit_id": int(audit_id), "events": [r.__dict__ for r in rows]})

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
    app.router.add_get("/api/tab/tracker", signed_in(tracker))
    app.router.add_get("/api/tab/tracker.csv", signed_in(tracker_download))
    app.router.add_get("/api/tab/tracker.xlsx", signed_in(tracker_download))
    app.router.add_get("/api/tab/audits/{audit_id}/history", signed_in(history))
    app.router.add_get("/api/tab/audits/{audit_id}/history.csv", signed_in(history))


def _filters(request: web.Request) -> Filters:
    query: Any = request.query
    cycle = query.get("cycle", "")
    return Filters(
        service=query.get("service", "")[:16].upper(),
        cycle=int(cycle) if cycle.isdigit() else None,
        state=query.get("state", "")[:32],
        grade=query.get("grade", "")[:32],
        late_only=query.get("late", "") in ("1", "true", "on"),
    )
