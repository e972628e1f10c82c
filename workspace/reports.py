"""Reports for the boards, per cycle, quarter or year (DOMAIN.md "What the boards get"):
grades compared with previous periods; how moderation changed grades; the impact of the
last period's audits (re-audit and dip results); the KLOEs and what was found; strengths
and areas for development by theme; feedback from children, families and practitioners;
the improvement actions; and the "top ten findings and learning" note the Audit Team writes
on the page for practitioners.

A report counts, it does not quote: the auditors' free text about a child's work stays in
the audit, so no child's details reach a board paper. Quarters and years are calendar ones,
by the month each cycle audits.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import repositories as repo
from storage.enums import GradeStage, RecommendationLevel, RecommendationStatus
from storage.models import (
    Audit,
    Cycle,
    Kloe,
    Recommendation,
    ReportNote,
    SectionGrade,
    Service,
    Staff,
)
from workflow.grades import Grade
from workflow.tools import SectionKind, load_tool
from workflow.wizard_rules import kloe_field
from workspace.charts import GRADE_COLOURS, Chart, stacked
from workspace.scope import (
    KEEPERS,
    SERVICE_WIDE,
    Filters,
    audits_joined,
    filtered,
    of_programme,
    services_where,
)
from workspace.sheets import Column, Sheet

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
NOT_GRADED = "Not yet graded"
NOTE_LIMIT = 4000
SHORT = {
    Grade.OUTSTANDING: "Outstanding",
    Grade.GOOD: "Good",
    Grade.REQUIRES_IMPROVEMENT: "Requires Improvement",
    Grade.INADEQUATE: "Inadequate",
}


class ReportRefused(Exception):
    """The report or its note cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class Period:
    kind: str  # "cycle", "quarter" or "year"
    key: str  # "cycle:12", "quarter:2026-Q4", "year:2026"
    label: str
    start: date | None = None  # months in [start, end) for a quarter or year
    end: date | None = None
    cycle_id: int | None = None


def quarter(day: date) -> Period:
    number = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * number - 2, 1)
    end = date(day.year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return Period("quarter", f"quarter:{day.year}-Q{number}", f"Q{number} {day.year}", start, end)


def year(value: int) -> Period:
    return Period("year", f"year:{value}", str(value), date(value, 1, 1), date(value + 1, 1, 1))


def _cycle(cycle: Cycle, code: str) -> Period:
    return Period("cycle", f"cycle:{cycle.id}", f"{cycle.title} ({code})", cycle_id=cycle.id)


@dataclass
class Section:
    title: str
    sheet: Sheet
    chart: Chart | None = None
    note: str = ""  # a line under the heading: what the figures are


@dataclass
class Report:
    period: Period
    service: str  # the service's code, or "" for all the reader's services
    sections: list[Section] = field(default_factory=list)
    note: str = ""  # the top ten findings and learning
    note_by: str = ""
    may_write_note: bool = False
    periods: list[dict[str, str]] = field(default_factory=list)


async def build_report(
    session: AsyncSession, reader: Staff, *, period_key: str, filters: Filters
) -> Report:
    services = await services_where(session, reader, SERVICE_WIDE)
    if filters.service:
        services = {sid for sid, code in await _codes(session, services) if code == filters.service}
    cycles = await _cycles(session, services, filters)
    periods = _choices(cycles)
    if not periods:
        return Report(Period("cycle", "", "No cycles yet"), filters.service)
    period = _period(period_key, cycles) or _period(periods[0]["value"], cycles)
    assert period is not None
    earlier = _earlier(period, cycles)
    audits = {p.key: await _audits(session, services, filters, p) for p in [period, *earlier]}
    current = audits[period.key]
    report = Report(period, filters.service, periods=periods)
    report.sections = [
        _grades_compared([period, *earlier], audits),
        _moderation_changes(current),
        await _impact(session, earlier[0] if earlier else None, audits),
        await _kloes(session, current),
        await _themes(session, current),
        _feedback(current),
        await _actions(session, current),
    ]
    if len(services) == 1:
        [service_id] = services
        note = await session.scalar(
            select(ReportNote).where(
                ReportNote.service_id == service_id, ReportNote.period == period.key
            )
        )
        if note is not None:
            report.note = note.text
            writer = await session.get(Staff, note.updated_by_id)
            report.note_by = writer.display_name if writer else ""
        report.may_write_note = service_id in await services_where(session, reader, KEEPERS)
    return report


async def _codes(session: AsyncSession, services: set[int]) -> list[tuple[int, str]]:
    found = await session.execute(select(Service.id, Service.code).where(Service.id.in_(services)))
    return [(service_id, code) for service_id, code in found]


async def _cycles(
    session: AsyncSession, services: set[int], filters: Filters
) -> list[tuple[Cycle, str]]:
    query = (
        select(Cycle, Service.code)
        .join(Service, Service.id == Cycle.service_id)
        .where(Cycle.service_id.in_(services), Cycle.opened_at.is_not(None))
        .order_by(Cycle.month.desc(), Cycle.id.desc())
    )
    if filters.programme:
        query = query.where(of_programme(filters.programme))
    return [(cycle, code) for cycle, code in await session.execute(query)]


def _choices(cycles: Sequence[tuple[Cycle, str]]) -> list[dict[str, str]]:
    found: dict[str, str] = {}
    for cycle, code in cycles:
        period = _cycle(cycle, code)
        found.setdefault(period.key, period.label)
    for cycle, _ in cycles:
        found.setdefault(quarter(cycle.month).key, quarter(cycle.month).label)
    for cycle, _ in cycles:
        found.setdefault(year(cycle.month.year).key, year(cycle.month.year).label)
    return [{"value": key, "label": label} for key, label in found.items()]


def _period(key: str, cycles: Sequence[tuple[Cycle, str]]) -> Period | None:
    if match := re.fullmatch(r"cycle:(\d{1,9})", key):
        for cycle, code in cycles:
            if cycle.id == int(match[1]):
                return _cycle(cycle, code)
        return None
    if match := re.fullmatch(r"quarter:(\d{4})-Q([1-4])", key):
        return quarter(date(int(match[1]), 3 * int(match[2]), 1))
    if match := re.fullmatch(r"year:(\d{4})", key):
        return year(int(match[1]))
    return None


def _earlier(period: Period, cycles: Sequence[tuple[Cycle, str]], count: int = 3) -> list[Period]:
    """The periods before this one, latest first: the service's previous cycles, or the
    previous quarters or years."""
    if period.kind == "cycle":
        index = next(i for i, (c, _) in enumerate(cycles) if c.id == period.cycle_id)
        this = cycles[index][0]
        return [
            _cycle(c, code) for c, code in cycles[index + 1 :] if c.service_id == this.service_id
        ][:count]
    assert period.start is not None
    if period.kind == "quarter":
        found, day = [], period.start
        for _ in range(count):
            day = date(day.year - (day.month == 1), 12 if day.month == 1 else day.month - 3, 1)
            found.append(quarter(day))
        return found
    return [year(period.start.year - n) for n in range(1, count + 1)]


@dataclass(frozen=True)
class _Audit:
    id: int
    tool_id: str
    initial: Grade | None
    moderated: Grade | None
    final: Grade | None
    cycle_id: int
    answers: dict[str, dict[str, str]]
    predecessor_id: int | None


async def _audits(
    session: AsyncSession, services: set[int], filters: Filters, period: Period
) -> list[_Audit]:
    query = audits_joined(
        Audit.id, Cycle.audit_tool_id, Audit.initial_grade, Audit.moderated_grade,
        Audit.final_grade, Cycle.id, Audit.draft, Audit.predecessor_id,
    ).where(Cycle.service_id.in_(services))  # fmt: skip
    if period.cycle_id is not None:
        query = query.where(Cycle.id == period.cycle_id)
    else:
        query = query.where(Cycle.month >= period.start, Cycle.month < period.end)
    query = filtered(query, replace(filters, cycle=None))  # the period chooses the cycles
    return [
        _Audit(
            audit_id, tool_id, _g(initial), _g(moderated), _g(final), cycle_id,
            ((draft or {}).get("wizard") or {}).get("answers") or {}, predecessor,
        )
        for audit_id, tool_id, initial, moderated, final, cycle_id, draft, predecessor
        in await session.execute(query)
    ]  # fmt: skip


def _g(value: Any) -> Grade | None:
    return Grade(value) if value else None


def _grades_compared(periods: Sequence[Period], audits: dict[str, list[_Audit]]) -> Section:
    rows = []
    for period in periods:
        counts = Counter(SHORT[a.final] if a.final else NOT_GRADED for a in audits[period.key])
        graded = sum(counts[g] for g in GRADES)
        good = counts["Outstanding"] + counts["Good"]
        rows.append(
            {
                "period": period.label,
                **{grade: counts[grade] for grade in (*GRADES, NOT_GRADED)},
                "total": sum(counts.values()),
                "good_share": round(100 * good / graded, 1) if graded else None,
            }
        )
    columns = (
        Column("period", "Period"),
        *(Column(g, g, "number") for g in (*GRADES, NOT_GRADED)),
        Column("total", "Audits", "number"),
        Column("good_share", "Good or better (%)", "number"),
    )
    chart = stacked("Final grades by period", [str(r["period"]) for r in rows],
                    (*GRADES, NOT_GRADED), rows, GRADE_COLOURS)  # fmt: skip
    return Section(
        "Grades compared with previous periods",
        Sheet("Grades", columns, rows),
        chart,
        "Final grades (after moderation and any dispute), this period first.",
    )


def _moderation_changes(audits: Sequence[_Audit]) -> Section:
    pairs = Counter((a.initial, a.moderated) for a in audits if a.initial and a.moderated)
    rows = []
    for initial in Grade:
        row: dict[str, Any] = {"initial": SHORT[initial]}
        for moderated in Grade:
            row[SHORT[moderated]] = pairs[(initial, moderated)]
        row["total"] = sum(pairs[(initial, m)] for m in Grade)
        rows.append(row)
    raised = sum(n for (i, m), n in pairs.items() if m.rank > i.rank)
    lowered = sum(n for (i, m), n in pairs.items() if m.rank < i.rank)
    same = sum(n for (i, m), n in pairs.items() if m is i)
    columns = (
        Column("initial", "Auditor's grade (rows), by moderated grade (columns)"),
        *(Column(g, g, "number") for g in GRADES),
        Column("total", "Audits", "number"),
    )
    chart = stacked(
        "How moderation changed grades",
        ["Moderated audits"],
        ("Unchanged", "Raised", "Lowered"),
        [{"Unchanged": same, "Raised": raised, "Lowered": lowered}],
        {"Unchanged": "#0F6CBD", "Raised": "#13A10E", "Lowered": "#C50F1F"},
    )
    return Section(
        "How moderation changed grades",
        Sheet("Moderation", columns, rows),
        chart,
        f"{same} unchanged, {raised} raised, {lowered} lowered, of {same + raised + lowered} "
        "moderated audits.",
    )


async def _impact(
    session: AsyncSession, previous: Period | None, audits: dict[str, list[_Audit]]
) -> Section:
    columns = (
        Column("outcome", "Re-audit or dip audit result"),
        Column("count", "Audits", "number"),
    )
    title = "Impact of the last period's audits"
    if previous is None:
        return Section(title, Sheet("Impact", columns, []), None, "No earlier period to compare.")
    below = [a for a in audits[previous.key] if a.final and a.final.is_below_good]
    later = aliased(Audit)
    found = await session.execute(
        select(later.predecessor_id, later.final_grade).where(
            later.predecessor_id.in_([a.id for a in below])
        )
    )
    result: dict[int, Grade | None] = {}
    for predecessor, grade in found:
        assert predecessor is not None
        result[predecessor] = _g(grade) or result.get(predecessor)
    counts: Counter[str] = Counter()
    for audit in below:
        if audit.id not in result:
            counts["Not re-audited (yet)"] += 1
        elif result[audit.id] is None:
            counts["Re-audit not yet graded"] += 1
        else:
            grade = result[audit.id]
            assert grade is not None and audit.final is not None
            counts["Improved" if grade.rank > audit.final.rank else
                   "Same grade" if grade is audit.final else "Worse"] += 1  # fmt: skip
    order = ("Improved", "Same grade", "Worse", "Re-audit not yet graded", "Not re-audited (yet)")
    rows = [{"outcome": outcome, "count": counts[outcome]} for outcome in order]
    chart = stacked(
        f"Re-audits of {previous.label}'s work below Good",
        [str(r["outcome"]) for r in rows],
        ("Audits",),
        [{"Audits": r["count"]} for r in rows],
        {"Audits": "#0F6CBD"},
    )
    return Section(
        title,
        Sheet("Impact", columns, rows),
        chart,
        f"{len(below)} audits of {previous.label} were graded below Good.",
    )


async def _kloes(session: AsyncSession, audits: Sequence[_Audit]) -> Section:
    cycles = {a.cycle_id for a in audits}
    kloes = (
        await session.execute(
            select(Kloe.cycle_id, Kloe.position, Kloe.text, Cycle.title)
            .join(Cycle, Cycle.id == Kloe.cycle_id)
            .where(Kloe.cycle_id.in_(cycles))
            .order_by(Cycle.month, Kloe.position)
        )
    ).all()
    rows = []
    for cycle_id, position, text, cycle in kloes:
        mine = [a for a in audits if a.cycle_id == cycle_id]
        commented = [a for a in mine if _kloe_comment(a, position)]
        good = sum(1 for a in commented if a.final and not a.final.is_below_good)
        rows.append(
            {
                "cycle": cycle,
                "kloe": text,
                "audits": len(mine),
                "commented": len(commented),
                "good": good,
            }
        )
    columns = (
        Column("cycle", "Cycle"),
        Column("kloe", "Key line of enquiry"),
        Column("audits", "Audits", "number"),
        Column("commented", "Auditors' findings recorded", "number"),
        Column("good", "Of those, Good or better", "number"),
    )
    return Section(
        "The KLOEs and what was found",
        Sheet("KLOEs", columns, rows),
        None,
        "What each audit found on a KLOE is in the audit itself (case references only); "
        "here, how many audits recorded a finding, and how those audits were graded.",
    )


def _kloe_comment(audit: _Audit, position: int) -> bool:
    tool = load_tool(audit.tool_id)
    for section in tool.sections:
        if section.kind is SectionKind.KLOE_COMMENTS:
            mine = audit.answers.get(section.id) or {}
            if str(mine.get(kloe_field(position), "")).strip():
                return True
    return False


async def _themes(session: AsyncSession, audits: Sequence[_Audit]) -> Section:
    """Each graded section of the tool is a theme: a strength where the work was Good or
    better, an area for development where it was below Good (the moderated grade if there
    is one, else the auditor's)."""
    ids = [a.id for a in audits]
    tools = {a.id: a.tool_id for a in audits}
    grades: dict[tuple[int, str], dict[GradeStage, Grade]] = defaultdict(dict)
    for audit_id, section_id, stage, grade in await session.execute(
        select(SectionGrade.audit_id, SectionGrade.section_id, SectionGrade.stage,
               SectionGrade.grade)
        .where(SectionGrade.audit_id.in_(ids), SectionGrade.grade.is_not(None))
    ):  # fmt: skip
        grades[(audit_id, section_id)][GradeStage(stage)] = Grade(str(grade))
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for (audit_id, section_id), stages in grades.items():
        tool = load_tool(tools[audit_id])
        if section_id == tool.overall_section.id:
            continue
        title = next((s.title for s in tool.sections if s.id == section_id), section_id)
        grade = (
            stages.get(GradeStage.DECIDED)
            or stages.get(GradeStage.MODERATED)
            or stages.get(GradeStage.INITIAL)
        )
        if grade is not None:
            tally[title]["Strength" if not grade.is_below_good else "Area for development"] += 1
    rows = [
        {"theme": theme, "Strength": counts["Strength"],
         "Area for development": counts["Area for development"]}
        for theme, counts in sorted(tally.items(), key=lambda i: -i[1]["Area for development"])
    ]  # fmt: skip
    columns = (
        Column("theme", "Theme (section of the audit)"),
        Column("Strength", "Strength (Good or better)", "number"),
        Column("Area for development", "Area for development (below Good)", "number"),
    )
    chart = stacked("Strengths and areas for development by theme", [str(r["theme"]) for r in rows],
                    ("Strength", "Area for development"), rows,
                    {"Strength": "#13A10E", "Area for development": "#F7630C"})  # fmt: skip
    return Section("Strengths and areas for development by theme", Sheet("Themes", columns, rows),
                   chart if rows else None, "Most areas for development first.")  # fmt: skip


def _feedback(audits: Sequence[_Audit]) -> Section:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for audit in audits:
        tool = load_tool(audit.tool_id)
        for section in tool.sections:
            if section.kind is not SectionKind.FEEDBACK:
                continue
            mine = audit.answers.get(section.id) or {}
            for source in section.sources:
                if str(mine.get(f"{source.id}_said", "")).strip():
                    method = str(mine.get(f"{source.id}_method", "")) or "not recorded"
                    counts[source.label][method] += 1
    rows = [
        {"source": source, "audits": sum(methods.values()),
         "methods": "; ".join(f"{m}: {n}" for m, n in sorted(methods.items()))}
        for source, methods in sorted(counts.items())
    ]  # fmt: skip
    columns = (
        Column("source", "Whose feedback"),
        Column("audits", "Audits with feedback", "number"),
        Column("methods", "How it was gathered"),
    )
    chart = stacked("Feedback gathered", [str(r["source"]) for r in rows], ("Audits",),
                    [{"Audits": r["audits"]} for r in rows], {"Audits": "#8764B8"})  # fmt: skip
    return Section(
        "Feedback from children, families and practitioners",
        Sheet("Feedback", columns, rows),
        chart if rows else None,
        f"Of {len(audits)} audits.",
    )


async def _actions(session: AsyncSession, audits: Sequence[_Audit]) -> Section:
    owner = aliased(Staff)
    found = await session.execute(
        select(Recommendation.level, Recommendation.action, Recommendation.due_on,
               Recommendation.status, owner.display_name)
        .outerjoin(owner, owner.id == Recommendation.owner_id)
        .where(Recommendation.audit_id.in_([a.id for a in audits]))
        .order_by(Recommendation.level.desc(), Recommendation.due_on, Recommendation.id)
    )  # fmt: skip
    rows = []
    child = Counter[str]()
    for level, action, due_on, status, owner_name in found:
        words = RecommendationStatus(status).value.replace("_", " ")
        if RecommendationLevel(level) is RecommendationLevel.SERVICE:
            rows.append({"action": action, "owner": owner_name or "", "due_on": due_on,
                         "status": words})  # fmt: skip
        else:
            child[words] += 1
    columns = (
        Column("action", "Service-level improvement action"),
        Column("owner", "Owner"),
        Column("due_on", "Due", "date"),
        Column("status", "Status"),
    )
    summary = ", ".join(f"{n} {words}" for words, n in sorted(child.items())) or "none"
    return Section(
        "The improvement actions",
        Sheet("Improvement actions", columns, rows),
        None,
        f"Child-level actions from these audits: {summary}. Each is in the recommendation "
        "and impact tracker.",
    )


async def save_note(session: AsyncSession, reader: Staff, body: Any, *, now: Any) -> ReportNote:
    """Write (or rewrite) a report's top ten findings and learning, with its trail row."""
    if not isinstance(body, dict):
        raise ReportRefused("Send the note as a JSON object.")
    text = str(body.get("text", "")).strip()
    if len(text) > NOTE_LIMIT:
        raise ReportRefused(f"Keep the note under {NOTE_LIMIT} characters.")
    period = str(body.get("period", ""))
    if not re.fullmatch(r"cycle:\d{1,9}|quarter:\d{4}-Q[1-4]|year:\d{4}", period):
        raise ReportRefused("Choose the report's period first.")
    service = await repo.get_service_by_code(session, str(body.get("service", "")).upper())
    if service is None or service.id not in await services_where(session, reader, KEEPERS):
        raise ReportRefused(
            "Only the Audit Team or the Audit Manager can write a service's note: choose one "
            "of your services."
        )
    note = await session.scalar(
        select(ReportNote)
        .where(ReportNote.service_id == service.id, ReportNote.period == period)
        .with_for_update()
    )
    before = {"text": note.text} if note else None
    if note is None:
        note = ReportNote(service_id=service.id, period=period, text=text,
                          updated_by_id=reader.id, created_at=now, updated_at=now)  # fmt: skip
        session.add(note)
        await session.flush()
    else:
        note.text, note.updated_by_id, note.updated_at = text, reader.id, now
    after = {"service": service.code, "period": period, "text": text}
    await repo.record_event(
        session, reader, "report_note", note.id, "written", before, after, at=now
    )
    return note
