"""`auditbot serve --workers N`: several processes answering on one port, on PostgreSQL.

Each worker is a process of its own with its own event loop, listening on the same
address with SO_REUSEPORT, so the kernel spreads connections between them and
throughput grows with cores. Worker 1 also runs the outbox sender and the
scheduler; the others only answer requests (Teams' per-tenant message limit is
kept by one sender, and a tick does not run N times over).

The parent migrates nothing and serves nothing: it starts the workers, restarts
one that dies, and on SIGTERM or Ctrl-C stops them all (each finishes what it is
doing, as a single `serve` does). A worker that keeps dying within seconds of
starting (the port taken, the database refusing) stops the lot, with exit code 1.

SQLite lets one process write at a time, so there `serve` runs one worker and says so.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from types import FrameType

from bot.config import Settings, configure_logging

log = logging.getLogger(__name__)

# A worker that dies this soon after starting, this many times running, stops the service.
EARLY_DEATH_SECONDS = 10.0
EARLY_DEATHS_TO_GIVE_UP = 3
STOP_GRACE_SECONDS = 30.0


def workers_for(settings: Settings, requested: int) -> int:
    """How many workers to run: as asked on PostgreSQL, one on SQLite (with a warning)."""
    if requested > 1 and settings.database_url.split(":", 1)[0].startswith("sqlite"):
        log.warning(
            "serving with 1 worker, not %s: SQLite lets one process write at a time. "
            "Use PostgreSQL (AUDITBOT_DATABASE_URL) to run several workers.",
            requested,
        )
        return 1
    return requested


def worker_settings(settings: Settings, index: int) -> Settings:
    """Worker 1 sends and schedules as configured; the others only answer requests."""
    if index == 1:
        return settings
    return settings.model_copy(update={"outbox_sender": False, "scheduler_enabled": False})


def run_worker(settings: Settings, index: int, workers: int) -> None:
    """One worker process's life (the target of each spawned process)."""
    from bot.service import serve

    configure_logging(settings)
    log.info("worker %s of %s starting (pid %s)", index, workers, os.getpid())
    serve(worker_settings(settings, index), reuse_port=True, worker=f"{index}/{workers}")


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    started: float
    early_deaths: int = 0


@dataclass
class Supervisor:
    """Starts N workers, restarts any that die, and stops them all on a signal."""

    settings: Settings
    workers: int
    _running: dict[int, _Worker] = field(default_factory=dict)
    _stopping: bool = False
    _failed: bool = False

    def run(self) -> int:
        context = multiprocessing.get_context("spawn")
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(1, self.workers + 1):
                self._start(context, index, early_deaths=0)
            while self._running:
                self._watch(context)
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self._failed else 0

    def _start(
        self, context: multiprocessing.context.SpawnContext, index: int, early_deaths: int
    ) -> None:
        process = context.Process(
            target=run_worker,
            args=(self.settings, index, self.workers),
            name=f"auditbot-worker-{index}",
        )
        process.start()
        self._running[index] = _Worker(index, process, time.monotonic(), early_deaths)

    def _watch(self, context: SpawnContext) -> None:
        for index, worker in list(self._running.items()):
            if worker.process.is_alive():
                continue
            del self._running[index]
            if self._stopping:
                continue
            lived = time.monotonic() - worker.started
            early = worker.early_deaths + 1 if lived < EARLY_DEATH_SECONDS else 0
            log.error(
                "worker %s stopped (exit code %s) after %.0f s",
                index,
                worker.process.exitcode,
                lived,
            )
            if early >= EARLY_DEATHS_TO_GIVE_UP:
                log.error(
                    "worker %s died %s times within %.0f s of starting: stopping the service",
                    index,
                    early,
                    EARLY_DEATH_SECONDS,
                )
                self._failed = True
                self._stop_all()
                continue
            self._start(context, index, early_deaths=early)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping %s workers (%s)", len(self._running), signal.Signals(signum).name)
        self._stop_all()

    def _stop_all(self) -> None:
        self._stopping = True
        for worker in self._running.values():
            if worker.process.is_alive() and worker.process.pid is not None:
                worker.process.terminate()  # SIGTERM: aiohttp finishes and shuts down
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self._running.values():
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
