"""The CLI's jobs against the database: imports and opening a cycle.

Each runs in one transaction: everything it changes, with its audit trail,
commits together or not at all.
"""

from __future__ import annotations

import argparse
import secrets
from datetime import date
from pathlib import Path

from bot.config import Settings, load_rules
from dialogs.cycles import CycleRequest, CycleRequestError, OpenedCycle, open_cycle
from storage.db import make_engine, session_factory
from storage.imports import ImportReport, import_cases, import_staff, import_teams
from workflow.calendar import SystemClock

__all__ = ["CycleRequestError", "import_file", "open_cycle_from_cli"]

IMPORTERS = {"teams": import_teams, "staff": import_staff, "cases": import_cases}


async def import_file(settings: Settings, kind: str, path: Path) -> ImportReport:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            return await IMPORTERS[kind](session, path, actor="import")
    finally:
        await engine.dispose()


async def open_cycle_from_cli(settings: Settings, args: argparse.Namespace) -> OpenedCycle:
    request = cycle_request(args)
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            return await open_cycle(
                session, request, rules=load_rules(settings), now=SystemClock().now(), actor="cli"
            )
    finally:
        await engine.dispose()


def cycle_request(args: argparse.Namespace) -> CycleRequest:
    """Turn the command line into a request, refusing malformed values by name."""
    return CycleRequest(
        service_code=args.service.upper(),
        month=_month(args.month),
        seed=args.seed if args.seed is not None else secrets.randbelow(2**31),
        tool_id=args.tool,
        title=args.title,
        total=args.cases,
        quotas={code.upper(): int(n) for code, n in _pairs("--quota", args.quota).items()},
        criteria=_pairs("--criteria", args.criteria),
        kloes=tuple(args.kloe),
    )


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise CycleRequestError(f"--month must look like 2026-12, not {text!r}.") from None


def _pairs(option: str, items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CycleRequestError(f"{option} must look like KEY=VALUE, not {item!r}.")
        if option == "--quota" and not value.isdigit():
            raise CycleRequestError(f"{option} {key} must be a whole number, not {value!r}.")
        pairs[key.strip()] = value.strip()
    return pairs
