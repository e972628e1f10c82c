"""The `auditbot` command: serve, demo, db upgrade, import, cycle open, manifest build.

Every command reads the same settings as the service, so a setting that would
stop the service stops the command too, with the same one-line message. A
command that uses the database checks it first (`storage.db.check_database`),
before migrating or changing anything. What an operator can fix (a setting, the
database, the file given) ends the command with one line and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, configure_logging, load_rules, load_settings
from storage.errors import DatabaseUnavailable, ImportFileError

log = logging.getLogger("auditbot")

PLAYGROUND_CONNECTOR = "http://localhost:56150/_connector"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:
        return _refuse(f"configuration error: {error}")
    except DatabaseUnavailable as error:
        return _refuse(f"database error: {error}")
    except ImportFileError as error:
        return _refuse(f"cannot import: {error}")
    except Exception as error:
        from sqlalchemy.exc import DBAPIError

        if not isinstance(error, DBAPIError):
            raise
        from storage.db import describe_database_error

        return _refuse(f"database error: {describe_database_error(error, _database_url())}")


def _refuse(line: str) -> int:
    print(f"auditbot: {line}", file=sys.stderr)
    return 2


def _database_url() -> str:
    try:
        return load_settings().database_url
    except ConfigError:
        return "sqlite:///"


def _configured(**overrides: object) -> Settings:
    """The settings, with the programme's AUDITBOT_RULE_* numbers checked too, so a mistake
    in either stops the command before it touches the database."""
    settings = load_settings(**overrides)
    load_rules(settings)
    return settings


def _database_ready(settings: Settings) -> None:
    from storage.db import check_database

    asyncio.run(check_database(settings.database_url))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditbot", description="Run a children's services audit programme in Teams."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the bot service (settings from AUDITBOT_*)")
    serve.add_argument("--port", type=int, help="listen on this port (default 3978)")
    serve.add_argument("--host", help="listen on this address")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes sharing the port (PostgreSQL only; SQLite runs one)",
    )
    serve.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help="do not migrate the database (a separate job runs `auditbot db upgrade`); "
        "refuse to start unless it is at this version's schema",
    )
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo", help="create a demo organisation in SQLite and serve it with authentication off"
    )
    demo.add_argument("--database", default="auditbot-demo.sqlite3", help="SQLite file to use")
    demo.add_argument("--port", type=int, help="listen on this port (default 3978)")
    demo.add_argument("--fresh", action="store_true", help="start again from an empty database")
    demo.add_argument("--no-serve", action="store_true", help="load the demo data and stop")
    demo.add_argument(
        "--programme",
        choices=_shipped_ids(),
        help="run this shipped programme on the demo council (default: th-early-help's "
        "choices, built in); with an existing demo database, add --fresh",
    )
    demo.set_defaults(run=_demo)
    demo_extras = demo.add_subparsers(metavar="[playground | clock]")
    playground = demo_extras.add_parser(
        "playground", help="write the Agents Playground's users file from the demo staff"
    )
    playground.add_argument(
        "--output",
        type=Path,
        default=Path(".m365agentsplayground.yml"),
        help="file to write (default ./.m365agentsplayground.yml, where the Playground looks)",
    )
    playground.add_argument(
        "--as",
        dest="current",
        metavar="UPN",
        help="be this demo person (e.g. adele.vance@demo-council.gov.uk) instead of Alex Wilber",
    )
    playground.set_defaults(run=_demo_playground)
    clock = demo_extras.add_parser(
        "clock", help="replay the demo at another time (card presses and ticks alike)"
    )
    clock.add_argument("--database", default="auditbot-demo.sqlite3", help="the demo's SQLite file")
    when = clock.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", help="an ISO time with a zone, e.g. 2026-12-09T10:00+00:00")
    when.add_argument("--reset", action="store_true", help="back to the real time")
    clock.set_defaults(run=_demo_clock)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="migrate the database to the latest schema"
    ).set_defaults(run=_db_upgrade)

    imports = commands.add_parser("import", help="load staff or cases from a CSV file")
    import_kinds = imports.add_subparsers(required=True, metavar="WHAT")
    for kind, what in (
        ("teams", "services and teams (re-importing updates)"),
        ("staff", "staff and their roles (re-importing updates)"),
        ("case-attributes", "the case attributes declared for thematic selection (whole)"),
        ("cases", "open cases, by reference and declared attributes (re-importing updates)"),
    ):
        one = import_kinds.add_parser(kind, help=f"import {what}")
        one.add_argument("file", type=Path)
        one.set_defaults(run=_import, kind=kind, retire_absent=False)
        if kind == "staff":
            one.add_argument(
                "--retire-absent",
                action="store_true",
                help="the file is the whole staff list: retire everyone active not in it "
                "(their open audits are offered to the Audit Team)",
            )

    sync = commands.add_parser("sync", help="bring staff in line with another system")
    sync_sources = sync.add_subparsers(required=True, metavar="SOURCE")
    entra = sync_sources.add_parser(
        "entra",
        help="staff, roles and leavers from Microsoft Entra ID groups (delta queries: a "
        "nightly run reads only what changed)",
    )
    entra.add_argument(
        "--mapping",
        type=Path,
        help="the groups-to-roles mapping (TOML; default AUDITBOT_ENTRA_MAPPING)",
    )
    entra.add_argument(
        "--dry-run", action="store_true", help="read and report the changes; save nothing"
    )
    entra.add_argument(
        "--allow-mass-retirement",
        action="store_true",
        help="apply a sync that retires more than half the active staff (refused otherwise)",
    )
    entra.set_defaults(run=_sync_entra)

    export = commands.add_parser("export", help="copies for others")
    exports = export.add_subparsers(required=True, metavar="WHAT")
    trail = exports.add_parser(
        "audit-trail",
        help="the audit trail for inspectors: every event, oldest first, with its redactions "
        "(the export is itself recorded)",
    )
    trail.add_argument("--since", type=_instant, help="from this date or ISO time (UTC)")
    trail.add_argument("--until", type=_instant, help="before this date or ISO time (UTC)")
    trail.add_argument("--entity", help="only this kind of record: audit, cycle, staff, ...")
    trail.add_argument("--id", type=_positive, help="with --entity: only this record")
    trail.add_argument(
        "--audit", type=_positive, help="one audit and everything recorded against its rows"
    )
    trail.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    trail.add_argument("--output", type=Path, help="write here (default: standard output)")
    trail.set_defaults(run=_export_trail)

    cases = commands.add_parser("cases", help="cases already stored")
    case_commands = cases.add_subparsers(required=True, metavar="ACTION")
    case_commands.add_parser(
        "undeclared", help="find case attributes stored that the council has not declared"
    ).set_defaults(run=_cases_undeclared)
    purging = case_commands.add_parser(
        "purge-undeclared",
        help="remove them everywhere they are stored, the audit trail included (with --yes)",
    )
    purging.add_argument("--yes", action="store_true", help="purge; without it, only show")
    purging.set_defaults(run=_cases_purge)

    programme = commands.add_parser(
        "programme", help="the council's programme file: check it, put it in force, show it"
    )
    programme_commands = programme.add_subparsers(required=True, metavar="ACTION")
    shipped = "a file, or a shipped programme's id: " + ", ".join(_shipped_ids())
    checking = programme_commands.add_parser(
        "check", help="report every problem in a programme file, with its line; changes nothing"
    )
    checking.add_argument("file", metavar="FILE", help=shipped)
    checking.set_defaults(run=_programme_check)
    loading = programme_commands.add_parser(
        "load", help="put a programme file in force (running cycles keep the version they began)"
    )
    loading.add_argument("file", metavar="FILE", help=shipped)
    loading.set_defaults(run=_programme_load)
    programme_commands.add_parser(
        "show", help="print the programmes in force, stage by stage"
    ).set_defaults(run=_programme_show)

    cycle = commands.add_parser("cycle", help="audit cycles")
    cycle_commands = cycle.add_subparsers(required=True, metavar="ACTION")
    proposing = cycle_commands.add_parser(
        "propose", help="send the KLOEs for approval; cases are picked once all three approve"
    )
    _add_cycle_plan_arguments(proposing)
    proposing.set_defaults(run=_cycle_propose)
    opening = cycle_commands.add_parser(
        "open", help="open an approved cycle (--cycle), or one whose KLOEs were agreed elsewhere"
    )
    opening.add_argument("--cycle", type=int, help="open this approved cycle")
    opening.add_argument(
        "--kloes-approved-elsewhere",
        metavar="WHO",
        help="open at once, recording who approved the KLOEs outside auditbot",
    )
    _add_cycle_plan_arguments(opening, required=False)
    opening.set_defaults(run=_cycle_open)

    audit = commands.add_parser("audit", help="single audits")
    audit_commands = audit.add_subparsers(required=True, metavar="ACTION")
    reallocating = audit_commands.add_parser(
        "reallocate", help="give an audit whose auditor was exempted to another auditor"
    )
    reallocating.add_argument("audit_id", type=int)
    reallocating.set_defaults(run=_audit_reallocate)

    tick = commands.add_parser(
        "tick", help="run the scheduled jobs once now (or as at --at), e.g. after downtime"
    )
    tick.add_argument("--job", help="only this job (e.g. reminders)")
    tick.add_argument(
        "--cadence", choices=["minute", "daily", "weekly"], help="only the jobs of this cadence"
    )
    tick.add_argument("--at", help="run as at this ISO time with a zone (replays and tests)")
    tick.set_defaults(run=_tick)

    manifest = commands.add_parser("manifest", help="the Teams app package")
    manifest_commands = manifest.add_subparsers(required=True, metavar="ACTION")
    build = manifest_commands.add_parser(
        "build", help="write auditbot.zip (manifest and icons) to upload to Teams"
    )
    build.add_argument(
        "--output", type=Path, default=Path("build"), help="folder to write it in (default ./build)"
    )
    build.set_defaults(run=_manifest_build)
    return parser


def _add_cycle_plan_arguments(opening: argparse.ArgumentParser, required: bool = True) -> None:
    opening.add_argument("--service", required=required, help="service code, e.g. CSC")
    opening.add_argument("--month", required=required, help="audit month, YYYY-MM")
    opening.add_argument("--tool", help="audit tool id (default: the service's usual tool)")
    opening.add_argument("--title", help="cycle title (default: service and month)")
    opening.add_argument("--cases", type=int, help="how many cases to pick at random")
    opening.add_argument(
        "--quota", action="append", default=[], metavar="TEAM=N", help="cases per team"
    )
    opening.add_argument(
        "--criteria",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="thematic audit: pick open cases whose attribute matches (repeatable)",
    )
    opening.add_argument("--seed", type=int, help="random seed (default: chosen and recorded)")
    opening.add_argument(
        "--kloe", action="append", default=[], metavar="TEXT", help="a key line of enquiry"
    )


def _serve(args: argparse.Namespace) -> int:
    from bot.service import serve
    from bot.workers import Supervisor, workers_for

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
    settings = _configured(**overrides)
    configure_logging(settings)
    _database_ready(settings)
    if args.migrate:
        from storage.db import upgrade

        upgrade(settings.database_url)
    else:
        _schema_current(settings)
    workers = workers_for(settings, args.workers)
    if workers == 1:
        serve(settings)
        return 0
    return Supervisor(settings, workers).run()


def _schema_current(settings: Settings) -> None:
    """Refuse to serve a database its migration job has not brought to this version."""
    from storage.db import head_revision, schema_revision

    found, wanted = asyncio.run(schema_revision(settings.database_url)), head_revision()
    if found != wanted:
        raise DatabaseUnavailable(
            f"the schema is at {found or 'nothing (an empty database)'}, this auditbot needs "
            f"{wanted}; run `auditbot db upgrade` first (or start without --no-migrate)"
        )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import prepare_demo
    from bot.service import serve

    database = Path(args.database).resolve()
    overrides: dict[str, object] = {"demo": True, "database_url": f"sqlite:///{database}"}
    if args.port is not None:
        overrides["port"] = args.port
    if "AUDITBOT_TEAMS_SERVICE_URL" not in os.environ:
        # People who never talked to the bot are reached through the Playground's connector.
        overrides["teams_service_url"] = PLAYGROUND_CONNECTOR
    settings = _configured(**overrides)
    configure_logging(settings)
    summary = asyncio.run(prepare_demo(settings, fresh=args.fresh, programme=args.programme))
    print(summary)
    if not args.no_serve:
        serve(settings)
    return 0


def _demo_playground(args: argparse.Namespace) -> int:
    from bot.playground import PlaygroundError, write_playground_config

    try:
        path = write_playground_config(args.output, args.current)
    except PlaygroundError as error:
        return _refuse(str(error))
    print(f"wrote {path}: (re)start the Playground in its folder (see README)")
    return 0


def _demo_clock(args: argparse.Namespace) -> int:
    """Move the demo's one clock: the running demo service reads it before every turn and
    job, and `auditbot tick` without --at runs at it too."""
    database = Path(args.database).resolve()
    settings = _configured(demo=True, database_url=f"sqlite:///{database}")
    if not database.is_file():
        return _refuse(f"there is no demo database at {database}: run auditbot demo first")
    at = None if args.reset else _aware(args.at)
    if isinstance(at, int):
        return at
    _database_ready(settings)
    shown = asyncio.run(_set_replay(settings, at))
    print(f"The demo's clock now reads {shown:%a %d %b %Y %H:%M %Z}" + (
        " (the real time)" if at is None else "; `auditbot demo clock --reset` to go back"
    ))  # fmt: skip
    return 0


def _aware(text: str) -> datetime | int:
    """An ISO time with a zone, or the exit status of refusing it."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return _refuse(f"--at must be an ISO time such as 2026-11-23T09:00+00:00, not {text!r}")
    if at.tzinfo is None:
        return _refuse("--at needs a time zone, e.g. 2026-11-23T09:00+00:00")
    return at


async def _set_replay(settings: Settings, at: datetime | None) -> datetime:
    """Set the demo's replay clock to read `at` now (None: the real time); the time it reads."""
    from storage.db import make_engine, session_factory
    from storage.repositories.replay import set_replay_shift

    real = datetime.now(UTC)
    shift = 0.0 if at is None else (at - real).total_seconds()
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine).begin() as session:
            await set_replay_shift(session, shift)
    finally:
        await engine.dispose()
    return (at or real).astimezone(ZoneInfo(settings.timezone))


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import upgrade

    settings = _configured()
    _database_ready(settings)
    upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.operations import import_file

    settings = _configured()
    if not args.file.is_file():
        return _refuse(f"no such file: {args.file}")
    _database_ready(settings)
    report = asyncio.run(
        import_file(settings, args.kind, args.file, retire_absent=args.retire_absent)
    )
    print(report.summary())
    for rejected in report.rejected:
        print(f"  row {rejected.row}: {rejected.reason}")
    return 1 if report.rejected else 0


def _sync_entra(args: argparse.Namespace) -> int:
    from bot.directory import DirectoryUnavailable
    from bot.operations import sync_entra_from_cli

    settings = _configured()
    mapping = args.mapping or (Path(settings.entra_mapping) if settings.entra_mapping else None)
    if mapping is None:
        return _refuse("say which Entra mapping to use: --mapping FILE or AUDITBOT_ENTRA_MAPPING")
    if not mapping.is_file():
        return _refuse(f"no such file: {mapping}")
    _database_ready(settings)
    try:
        report = asyncio.run(
            sync_entra_from_cli(
                settings,
                mapping,
                dry_run=args.dry_run,
                allow_mass_retirement=args.allow_mass_retirement,
            )
        )
    except DirectoryUnavailable as error:
        return _refuse(f"cannot read Entra ID: {error}")
    except ImportFileError as error:
        return _refuse(f"cannot sync: {error}")
    print(("dry run, nothing saved: " if args.dry_run else "") + report.summary())
    for reason in report.skipped:
        print(f"  skipped {reason}")
    return 1 if report.skipped else 0


def _instant(text: str) -> datetime:
    """A date (midnight UTC) or an ISO time (UTC unless it says otherwise)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or ISO time"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _export_trail(args: argparse.Namespace) -> int:
    from bot.operations import export_trail_from_cli
    from storage.export import TrailFilter

    if args.id is not None and args.entity is None:
        return _refuse("--id needs --entity (or use --audit ID)")
    settings = _configured()
    _database_ready(settings)
    trail = TrailFilter(args.since, args.until, args.entity, args.id, args.audit)
    if args.output is None:
        try:
            count = asyncio.run(
                export_trail_from_cli(settings, sys.stdout, trail, form=args.format)
            )
        except BrokenPipeError:  # `| head`: the reader stopped; the export is not recorded
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print("export stopped: its output was closed before the end", file=sys.stderr)
            return 1
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            count = asyncio.run(export_trail_from_cli(settings, out, trail, form=args.format))
    print(f"{count} events exported", file=sys.stderr)
    return 0


def _shipped_ids() -> list[str]:
    from workflow.programme import shipped_programmes

    return list(shipped_programmes())


def _programme_text(name: str) -> str | None:
    """A programme file's text: the file at `name`, or the shipped programme called `name`."""
    from workflow.programme import shipped_programmes

    path = Path(name)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return shipped_programmes().get(name)


def _programme_check(args: argparse.Namespace) -> int:
    from workflow.programme import ProgrammeInvalid, check_programme

    text = _programme_text(args.file)
    if text is None:
        return _refuse(f"no such file, and no shipped programme called {args.file!r}")
    try:
        programme = check_programme(text)
    except ProgrammeInvalid as invalid:
        problems = invalid.problems
        print(f"{args.file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"{args.file}: no problems: {programme.programme.name} ({programme.programme.id})")
    return 0


def _programme_load(args: argparse.Namespace) -> int:
    from bot.operations import load_programme_from_cli

    text = _programme_text(args.file)
    if text is None:
        return _refuse(f"no such file, and no shipped programme called {args.file!r}")
    args.text = text
    return _report(load_programme_from_cli, args)


def _programme_show(args: argparse.Namespace) -> int:
    from bot.operations import show_programmes_from_cli

    return _report(show_programmes_from_cli, args)


def _cycle_propose(args: argparse.Namespace) -> int:
    from bot.operations import propose_cycle_from_cli

    return _report(propose_cycle_from_cli, args)


def _cycle_open(args: argparse.Namespace) -> int:
    from bot.operations import open_cycle_from_cli

    return _report(open_cycle_from_cli, args)


def _cases_undeclared(args: argparse.Namespace) -> int:
    from bot.operations import find_undeclared_from_cli

    return _report(find_undeclared_from_cli, args)


def _cases_purge(args: argparse.Namespace) -> int:
    from bot.operations import purge_undeclared_from_cli

    return _report(purge_undeclared_from_cli, args)


def _audit_reallocate(args: argparse.Namespace) -> int:
    from bot.operations import reallocate_from_cli

    return _report(reallocate_from_cli, args)


def _report(operation, args: argparse.Namespace) -> int:
    """Run an operation against the database; print what happened, or why not (exit 1)."""
    from bot.operations import CycleRequestError
    from dialogs.programmes import ProgrammeConflict
    from workflow.programme import ProgrammeInvalid

    settings = _configured()
    configure_logging(settings)
    _database_ready(settings)
    try:
        outcome = asyncio.run(operation(settings, args))
    except (CycleRequestError, ProgrammeConflict) as error:
        print(f"auditbot: {error}", file=sys.stderr)
        return 1
    except ProgrammeInvalid as invalid:
        print(f"auditbot: {args.file} was not loaded; nothing changed:", file=sys.stderr)
        for problem in invalid.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(outcome)
    return 0


def _tick(args: argparse.Namespace) -> int:
    """Run registered jobs once; they claim their work, so a running service is no obstacle."""
    from bot.config import load_rules
    from bot.graph import GraphCalendar
    from bot.service import calendar_for
    from scheduler.engine import Cadence
    from scheduler.jobs import build_scheduler, schedule_options
    from storage.db import make_engine, session_factory
    from workflow.calendar import Clock, FixedClock, SystemClock

    settings = _configured()
    configure_logging(settings)
    clock: Clock = SystemClock()
    if args.at:
        at = _aware(args.at)
        if isinstance(at, int):
            return at
        clock = FixedClock(at)
    _database_ready(settings)
    if settings.demo:
        # The demo has one clock: replaying a time moves it for card presses too, and a
        # tick without --at runs at the demo's time.
        if args.at:
            asyncio.run(_set_replay(settings, clock.now()))
        else:
            clock = FixedClock(asyncio.run(_replayed_now(settings)))

    async def run() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
        calendar = calendar_for(settings, sessions)
        try:
            scheduler = build_scheduler(
                schedule_options(settings), sessions, load_rules(settings), clock, calendar
            )
            cadence = Cadence(args.cadence) if args.cadence else None
            return await scheduler.run_now(cadence, args.job)
        finally:
            if isinstance(calendar, GraphCalendar):
                await calendar.close()
            await engine.dispose()

    done = asyncio.run(run())
    for name, count in done.items():
        print(f"{name}: {'failed (see the log)' if count < 0 else count}")
    return 1 if any(count < 0 for count in done.values()) else 0


async def _replayed_now(settings: Settings) -> datetime:
    from storage.db import make_engine, session_factory
    from storage.repositories.replay import replay_shift

    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            shift = await replay_shift(session)
    finally:
        await engine.dispose()
    return datetime.now(UTC) + timedelta(seconds=shift)


def _manifest_build(args: argparse.Namespace) -> int:
    from bot.config import require_app_listing
    from manifest.app import SCHEMA_VERSION, AppListing, ManifestError, package_version
    from manifest.package import write_package

    settings = load_settings()
    require_app_listing(settings)
    try:
        listing = AppListing(
            app_id=settings.app_id,
            developer_name=settings.app_developer_name,
            website_url=settings.app_website_url,
            privacy_url=settings.app_privacy_url,
            terms_url=settings.app_terms_url,
            version=package_version(),
            tab_domain=settings.tab_domain,
        )
        path = write_package(listing, args.output)
    except ManifestError as error:
        print(f"auditbot: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {path}: app {listing.app_id}, version {listing.version}, manifest schema "
        f"{SCHEMA_VERSION}; upload it in the Teams admin center (Manage apps, Upload new app)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
