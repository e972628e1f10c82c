"""The CLI's jobs against the database: imports and opening a cycle.

Each runs in one transaction: everything it changes, with its audit trail,
commits together or not at all.
"""

from __future__ import annotations

import argparse
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, load_rules
from dialogs.cycles import (
    CycleRequest,
    CycleRequestError,
    OpenedCycle,
    open_cycle,
    open_planned_cycle,
)
from dialogs.kloes import ProposedCycle, propose_cycle
from dialogs.leavers import offer_work_of
from dialogs.programmes import load_programme, programme_of_version
from dialogs.reallocation import reallocate_audit
from storage import repositories as repo
from storage.db import make_engine, session_factory
from storage.enums import CycleState, ExemptionState
from storage.export import TrailFilter, export_trail
from storage.imports import (
    ImportReport,
    import_case_attributes,
    import_cases,
    import_staff,
    import_teams,
)
from storage.imports.entra import (
    MAX_RETIRED_SHARE,
    Directory,
    SyncReport,
    read_mapping,
    sync_entra,
)
from storage.purge import find_undeclared, purge_undeclared
from storage.repositories import programmes as programme_versions
from workflow.calendar import SystemClock
from workflow.programme.describe import describe
from workflow.states import AuditState
from workflow.text import clean_text

__all__ = [
    "CycleRequestError",
    "find_undeclared_from_cli",
    "export_trail_from_cli",
    "import_file",
    "open_cycle_from_cli",
    "propose_cycle_from_cli",
    "purge_undeclared_from_cli",
    "reallocate_from_cli",
    "sync_entra_from_cli",
]

IMPORTERS = {
    "teams": import_teams,
    "staff": import_staff,
    "case-attributes": import_case_attributes,
    "cases": import_cases,
}


async def import_file(
    settings: Settings, kind: str, path: Path, *, retire_absent: bool = False
) -> ImportReport:
    """Import one CSV in one transaction; staff who leave (the `active` column, or absence
    with retire_absent) have their open audits offered to the Audit Team in it too."""
    async with _transaction(settings) as session:
        if kind != "staff":
            return await IMPORTERS[kind](session, path, actor="import")
        report = await import_staff(session, path, actor="import", retire_absent=retire_absent)
        await offer_work_of(session, report.retired)
        return report


# The PostgreSQL advisory lock a sync holds, so two (a nightly job, someone at a terminal)
# take turns rather than both adding the same people.
ENTRA_SYNC_LOCK = 0x656E747261


class _DryRun(Exception):
    def __init__(self, report: SyncReport) -> None:
        self.report = report


async def sync_entra_from_cli(
    settings: Settings,
    mapping_path: Path,
    *,
    dry_run: bool = False,
    allow_mass_retirement: bool = False,
    directory: Directory | None = None,
) -> SyncReport:
    """Read Entra's changes and apply them in one transaction; those who left have their open
    audits offered to the Audit Team in it too. A dry run reads and reports, and saves
    nothing (not even the delta links, so the next sync reads the same changes)."""
    from bot.directory import build_directory

    mapping = read_mapping(mapping_path)
    owned = None if directory is not None else build_directory(settings)
    reader = directory or owned
    assert reader is not None
    try:
        async with _transaction(settings) as session:
            if session.bind.dialect.name == "postgresql":
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENTRA_SYNC_LOCK}
                )
            report = await sync_entra(
                session,
                reader,
                mapping,
                max_retired_share=None if allow_mass_retirement else MAX_RETIRED_SHARE,
            )
            await offer_work_of(session, report.retired)
            if dry_run:
                raise _DryRun(report)
            return report
    except _DryRun as rolled_back:
        return rolled_back.report
    finally:
        if owned is not None:
            await owned.close()


async def export_trail_from_cli(
    settings: Settings, out: TextIO, trail: TrailFilter, *, form: str = "jsonl"
) -> int:
    """Write the audit trail (as `trail` selects) to out, and record that it was taken."""
    async with _transaction(settings) as session:
        return await export_trail(session, out, trail, form=form)


async def propose_cycle_from_cli(settings: Settings, args: argparse.Namespace) -> ProposedCycle:
    request = cycle_request(args)
    async with _transaction(settings) as session:
        return await propose_cycle(
            session, request, actor="cli", now=SystemClock().now(), rules=load_rules(settings)
        )


async def open_cycle_from_cli(settings: Settings, args: argparse.Namespace) -> OpenedCycle:
    """Open an approved cycle (--cycle), or a new one whose KLOEs were agreed elsewhere."""
    rules, now = load_rules(settings), SystemClock().now()
    if args.cycle is not None:
        async with _transaction(settings) as session:
            cycle = await repo.get_cycle_for_update(session, args.cycle)
            if cycle is None:
                raise CycleRequestError(f"There is no cycle {args.cycle}.")
            if cycle.state is not CycleState.KLOE_APPROVED:
                raise CycleRequestError(
                    f"Cycle {cycle.id} is {cycle.state.value.replace('_', ' ')}; only a cycle "
                    "whose KLOEs are approved can be opened."
                )
            return await open_planned_cycle(session, cycle, rules=rules, now=now, actor="cli")
    if not args.kloes_approved_elsewhere:
        raise CycleRequestError(
            "Cases are picked only once the KLOEs are approved: use `auditbot cycle propose` "
            "to send them for approval, or --kloes-approved-elsewhere WHO if they were agreed "
            "outside auditbot."
        )
    if not args.service or not args.month:
        raise CycleRequestError("Say which service and month: --service CODE --month YYYY-MM.")
    request = cycle_request(args)
    async with _transaction(settings) as session:
        opened = await open_cycle(session, request, rules=rules, now=now, actor="cli")
        await repo.record_event(
            session,
            "cli",
            "cycle",
            opened.cycle_id,
            "kloes_approved_elsewhere",
            None,
            {"approved_by": args.kloes_approved_elsewhere},
        )
        return opened


async def reallocate_from_cli(settings: Settings, args: argparse.Namespace) -> str:
    """Reallocate an audit whose auditor's exemption the Head of Service approved, or whose
    auditor has left."""
    async with _transaction(settings) as session:
        audit = await repo.get_audit(session, args.audit_id)
        if audit is None:
            raise CycleRequestError(f"There is no audit {args.audit_id}.")
        request = await repo.latest_exemption_request(session, audit.id)
        auditor = await repo.get_staff(session, audit.auditor_id)
        exempted = request is not None and request.state is ExemptionState.APPROVED
        if not exempted and (auditor is None or auditor.active):
            raise CycleRequestError(
                f"Audit {audit.id} has no approved exemption (the Head of Service decides "
                "those) and its auditor has not left."
            )
        if audit.state is AuditState.REALLOCATED:
            raise CycleRequestError(f"Audit {audit.id} has already been reallocated.")
        successor = await reallocate_audit(
            session,
            audit,
            excluding=audit.auditor_id,
            actor="cli",
            now=SystemClock().now(),
            rules=load_rules(settings),
        )
        auditor = await repo.get_staff(session, successor.auditor_id)
        return f"Audit {audit.id} reallocated to {auditor.display_name} (audit {successor.id})."


async def find_undeclared_from_cli(settings: Settings, args: argparse.Namespace) -> str:
    """Where case attributes the council has not declared are stored; changes nothing."""
    async with _transaction(settings) as session:
        findings = await find_undeclared(session)
    advice = [] if findings.empty else ["Purge them with: auditbot cases purge-undeclared --yes"]
    return "\n".join(findings.lines() + advice)


async def purge_undeclared_from_cli(settings: Settings, args: argparse.Namespace) -> str:
    """Purge what find_undeclared finds (with --yes), recording the purge on the trail."""
    async with _transaction(settings) as session:
        if not args.yes:
            findings = await find_undeclared(session)
            if findings.empty:
                return "\n".join(findings.lines())
            return "\n".join(
                [*findings.lines(), "Nothing was changed: run again with --yes to purge these."]
            )
        findings = await purge_undeclared(session, "cli", SystemClock().now())
    if findings.empty:
        return "\n".join(findings.lines())
    return "\n".join(["Purged:", *findings.lines(), "The purge is on the audit trail."])


async def load_programme_from_cli(settings: Settings, args: argparse.Namespace) -> str:
    """Put the programme file in force, in one transaction with its audit-trail row."""
    async with _transaction(settings) as session:
        loaded = await load_programme(session, args.text, actor="cli", now=SystemClock().now())
    return loaded.summary()


async def show_programmes_from_cli(settings: Settings, args: argparse.Namespace) -> str:
    """The programmes in force, stage by stage, and cycles still on earlier versions."""
    async with _transaction(settings) as session:
        in_force = await programme_versions.programmes_in_force(session)
        if not in_force:
            return (
                "No programme file is in force: cycles run on the built-in defaults "
                "(Tower Hamlets Early Help's choices). Load one with: auditbot programme load FILE"
            )
        lines: list[str] = []
        for version in in_force:
            programme = await programme_of_version(session, version.id)
            who = version.loaded_by_label or "someone"
            when = f"{version.loaded_at:%d %b %Y %H:%M} UTC"
            lines.append(f"Version {version.version}, loaded {when} by {who}:")
            lines += describe(programme)
            older = await programme_versions.older_versions_running(session, version.programme_key)
            for number, cycles in older:
                lines.append(
                    f"  still running under version {number}: {cycles} "
                    f"{'cycle' if cycles == 1 else 'cycles'}"
                )
            lines.append("")
    return "\n".join(lines).rstrip()


@asynccontextmanager
async def _transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            yield session
    finally:
        await engine.dispose()


def cycle_request(args: argparse.Namespace) -> CycleRequest:
    """Turn the command line into a request, refusing malformed values by name."""
    return CycleRequest(
        service_code=args.service.upper(),
        month=_month(args.month),
        seed=args.seed if args.seed is not None else secrets.randbelow(2**31),
        tool_id=args.tool,
        title=clean_text(args.title) if args.title else None,
        total=args.cases,
        quotas={code.upper(): int(n) for code, n in _pairs("--quota", args.quota).items()},
        criteria=_pairs("--criteria", args.criteria),
        kloes=tuple(clean_text(kloe) for kloe in args.kloe),
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
        pairs[clean_text(key)] = clean_text(value)
    return pairs
