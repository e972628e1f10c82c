"""Putting the service together: settings in, a runnable aiohttp app out."""

from __future__ import annotations

import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapter import build_adapter
from bot.app import create_app
from bot.config import Settings, load_rules
from bot.connector import BotConnector
from bot.election import Sender, SenderElection
from bot.outbox import OutboxSender, SenderOptions
from bot.teams import AuditBot
from dialogs.calendar_port import Calendar
from dialogs.conversation import Conversations
from dialogs.local_calendar import LocalCalendar
from scheduler.jobs import SCHEDULER, build_scheduler, schedule_options
from storage.db import async_url, make_engine, ping, session_factory
from storage.repositories.replay import replay_shift
from telemetry import otel
from workflow.calendar import Clock, ReplayClock, SystemClock, WorkingCalendar
from workspace.auth import TabAuth, tab_auth_settings
from workspace.links import tracker_link
from workspace.routes import Workspace, add_workspace_routes

if TYPE_CHECKING:
    from bot.graph import GraphCalendar

log = logging.getLogger(__name__)


def build_service(settings: Settings, clock: Clock | None = None) -> web.Application:
    """The whole bot over one database; the engine is closed when the app stops.

    In demo mode, with no clock given, the service runs on the demo's replay clock: the
    real time moved by what `auditbot tick --at` last replayed, read before each turn
    and each scheduled job, so card presses and ticks share one clock."""
    engine = make_engine(settings.database_url, busy_timeout=settings.database_busy_timeout_seconds)
    otel.instrument_engine(engine)
    sessions = session_factory(engine)
    refresh = None
    if clock is None and settings.demo:
        clock, refresh = replay_clock(sessions)
    rules = load_rules(settings)
    conversations = Conversations(
        sessions,
        rules=rules,
        clock=clock,
        before_turn=refresh,
        tracker_url=tracker_link(settings),
    )
    bot = AuditBot(conversations)
    adapter = build_adapter(settings)
    app = create_app(adapter, bot, lambda: ping(engine), require_token=not settings.demo)
    add_workspace_routes(
        app,
        Workspace(
            sessions,
            TabAuth(tab_auth_settings(settings)),
            clock or SystemClock(),
            WorkingCalendar.from_rules(rules),
            settings.acknowledge_within_working_days,
        ),
    )
    if settings.outbox_sender:
        _run_outbox_sender(app, settings, adapter, sessions)
    if settings.scheduler_enabled:
        _run_scheduler(app, settings, sessions, clock, refresh)

    async def close_database(_app: web.Application) -> None:
        await engine.dispose()

    app.on_cleanup.append(close_database)
    return app


async def settle_heap(_app: web.Application | None = None) -> None:
    """Once started, move everything loaded so far (the SDKs, the models, the programmes)
    out of the garbage collector's reach: a full collection then walks only what requests
    make, so a large page (the workspace's tracker of 5,000 audits) is not held up by
    walking every imported object (bench/tracker.py: p95 233 to 133 ms)."""
    gc.collect()
    gc.freeze()


def _run_outbox_sender(
    app: web.Application,
    settings: Settings,
    adapter: CloudAdapter,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Deliver the outbox in the background while the app runs; on shutdown, let sends under
    way finish and record before the database closes."""
    connector = BotConnector(
        adapter,
        settings.app_id,
        workers=settings.outbox_concurrency,
        timeout=settings.outbox_request_timeout_seconds,
    )
    options = SenderOptions.from_settings(settings)
    sender: Sender = OutboxSender(sessions, connector, options)
    if async_url(settings.database_url).get_backend_name() == "postgresql":
        # Instances share Teams' app-wide limit: one of them sends at a time.
        check = SenderElection.CHECK_SECONDS
        handover = settings.outbox_handover_seconds
        if handover is None:
            handover = check + max(window.seconds for window in options.app_windows)
        sender = SenderElection(settings.database_url, sender, quiet_seconds=handover)

    async def start(_app: web.Application) -> None:
        await sender.start()

    async def stop(_app: web.Application) -> None:
        await sender.stop()
        connector.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


def _run_scheduler(
    app: web.Application,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None,
    before_job: Callable[[], Awaitable[None]] | None,
) -> None:
    """Trigger the scheduled jobs (scheduler/jobs.py) while the app runs; app[SCHEDULER] is
    the registry, for jobs added after the service is built."""
    rules = load_rules(settings)
    calendar = calendar_for(settings, sessions)
    graph = cast("GraphCalendar", calendar) if settings.graph_configured else None
    scheduler = build_scheduler(
        schedule_options(settings),
        sessions,
        rules,
        clock or SystemClock(),
        calendar,
        before_job=before_job,
        tracker_url=tracker_link(settings),
    )
    app[SCHEDULER] = scheduler

    async def start(_app: web.Application) -> None:
        if graph is not None:
            await graph.warm_up()
        scheduler.start()

    async def stop(_app: web.Application) -> None:
        await scheduler.stop()
        if graph is not None:
            await graph.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


def replay_clock(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[ReplayClock, Callable[[], Awaitable[None]]]:
    """The demo's clock, and what brings it up to date with the replayed time."""
    clock = ReplayClock()

    async def refresh() -> None:
        async with sessions() as session:
            clock.shift = await replay_shift(session)

    return clock, refresh


def calendar_for(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Calendar:
    """Where UoPP meetings are booked: Microsoft Graph when a tenant is configured,
    otherwise auditbot's own calendar in its database (the demo, a council not yet
    consented)."""
    if settings.graph_configured:
        from bot.graph import build_calendar  # msgraph loads only where Graph is used

        graph = build_calendar(settings)
        assert graph is not None
        log.info("UoPP meetings are booked in Outlook through Microsoft Graph")
        return graph
    log.info("Graph is not configured: UoPP meetings are booked in auditbot's own calendar")
    return LocalCalendar(sessions, load_rules(settings))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("auditbot")
    except PackageNotFoundError:
        return ""


def serve(settings: Settings, *, reuse_port: bool = False, worker: str | None = None) -> None:
    """Run until interrupted; with reuse_port, as one of several workers on the port."""
    log.info(
        "auditbot%s listening on http://%s:%s/api/messages (database %s, demo=%s)",
        f" worker {worker}" if worker else "",
        settings.host,
        settings.port,
        settings.database_url.split("://", 1)[0],
        settings.demo,
    )
    stop_telemetry = otel.configure_telemetry(
        settings.telemetry, version=_version(), instance=f"{socket.gethostname()}:{os.getpid()}"
    )
    app = build_service(settings)

    async def flush_telemetry(_app: web.Application) -> None:
        stop_telemetry()

    app.on_cleanup.append(flush_telemetry)  # last: after the outbox and scheduler stop
    # Only the real process settles its heap: tests build many services in one process.
    app.on_startup.append(settle_heap)
    web.run_app(
        app, host=settings.host, port=settings.port, print=None, reuse_port=reuse_port or None
    )
