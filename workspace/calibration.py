"""Calibration: how often moderation agrees with each auditor, by section and over time, and
which sections are most often regraded, so the Audit Team knows where auditors need
training. Read from the section grades the auditor and the moderator recorded (an audit
counts once it has both) over the audits the filters choose, for the services the reader
sees as a whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import GradeStage
from storage.models import Audit, Cycle, SectionGrade, Staff
from workflow.grades import Grade
from workflow.tools import load_tool
from workspace.scope import SERVICE_WIDE, Filters, audits_joined, filtered, services_where
from workspace.sheets import Column, Sheet

ALL = "All auditors"


@dataclass
class _Tally:
    compared: int = 0
    agreed: int = 0
    up: int = 0  # the moderator graded higher
    down: int = 0
    audits: set[int] = field(default_factory=set)

    def add(self, audit_id: int, initial: Grade, moderated: Grade, agreed: bool) -> None:
        self.audits.add(audit_id)
        self.compared += 1
        if agreed:
            self.agreed += 1
        elif moderated.rank > initial.rank:
            self.up += 1
        elif moderated.rank < initial.rank:
            self.down += 1

    def share(self) -> float | None:
        return round(100 * self.agreed / self.compared, 1) if self.compared else None


@cache
def _section_titles(tool_id: str) -> dict[str, str]:
    tool = load_tool(tool_id)
    return {section.id: section.title for section in tool.sections}


async def calibration_sheets(
    session: AsyncSession, reader: Staff, *, filters: Filters
) -> list[Sheet]:
    services = await services_where(session, reader, SERVICE_WIDE)
    audits = filtered(
        audits_joined(Audit.id).where(Cycle.service_id.in_(services)), filters
    ).scalar_subquery()
    query = (
        select(
            SectionGrade.audit_id, SectionGrade.section_id, SectionGrade.stage,
            SectionGrade.grade, SectionGrade.agreed, Audit.auditor_id, Staff.display_name,
            Cycle.id, Cycle.title, Cycle.month, Cycle.audit_tool_id,
        )
        .join(Audit, Audit.id == SectionGrade.audit_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .join(Staff, Staff.id == Audit.auditor_id)
        .where(
            SectionGrade.audit_id.in_(audits),
            SectionGrade.stage.in_([GradeStage.INITIAL, GradeStage.MODERATED]),
            SectionGrade.grade.is_not(None),
        )
    )  # fmt: skip
    grades: dict[tuple[int, str], dict[GradeStage, tuple[Grade, bool | None]]] = defaultdict(dict)
    about: dict[int, tuple[str, int, str, date, str]] = {}
    for (audit_id, section_id, stage, grade, agreed, _auditor_id, auditor, cycle_id, cycle,
         month, tool_id) in await session.execute(query):  # fmt: skip
        grades[(audit_id, section_id)][GradeStage(stage)] = (Grade(str(grade)), agreed)
        about[audit_id] = (auditor, cycle_id, cycle, month, tool_id)
    by_auditor: dict[str, _Tally] = defaultdict(_Tally)
    by_section: dict[str, _Tally] = defaultdict(_Tally)
    by_both: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    # Over time: each cycle for all auditors ("" sorts first), then for each auditor.
    by_cycle: dict[tuple[date, int, str, str], _Tally] = defaultdict(_Tally)
    for (audit_id, section_id), stages in grades.items():
        if GradeStage.INITIAL not in stages or GradeStage.MODERATED not in stages:
            continue
        initial, _ = stages[GradeStage.INITIAL]
        moderated, said = stages[GradeStage.MODERATED]
        agreed = said if said is not None else moderated is initial
        auditor, cycle_id, cycle, month, tool_id = about[audit_id]
        section = _section_titles(tool_id).get(section_id, section_id)
        for tally in (by_auditor[auditor], by_section[section], by_both[(auditor, section)],
                      by_cycle[(month, cycle_id, cycle, "")],
                      by_cycle[(month, cycle_id, cycle, auditor)]):  # fmt: skip
            tally.add(audit_id, initial, moderated, agreed)
    return [
        Sheet("By auditor", (
            Column("auditor", "Auditor"), Column("audits", "Audits moderated", "number"),
            Column("compared", "Section grades compared", "number"),
            Column("agreed", "Agreed", "number"), Column("share", "Agreement (%)", "number"),
            Column("up", "Moderator graded higher", "number"),
            Column("down", "Moderator graded lower", "number"),
        ), _rows(sorted(by_auditor.items(), key=lambda i: (i[1].share() or 0, i[0])), "auditor")),
        Sheet("Most regraded sections", (
            Column("section", "Section"), Column("compared", "Grades compared", "number"),
            Column("regraded", "Regraded", "number"),
            Column("regraded_share", "Regraded (%)", "number"),
            Column("up", "Regraded higher", "number"), Column("down", "Regraded lower", "number"),
        ), _regraded(by_section)),
        Sheet("By auditor and section", (
            Column("auditor", "Auditor"), Column("section", "Section"),
            Column("compared", "Compared", "number"), Column("share", "Agreement (%)", "number"),
        ), [
            {"auditor": auditor, "section": section, "compared": t.compared, "share": t.share()}
            for (auditor, section), t in sorted(by_both.items())
        ]),
        Sheet("Over time", (
            Column("month", "Month", "date"), Column("cycle", "Cycle"),
            Column("auditor", "Auditor"), Column("audits", "Audits moderated", "number"),
            Column("compared", "Section grades compared", "number"),
            Column("share", "Agreement (%)", "number"),
        ), [
            {"month": month, "cycle": cycle, "auditor": auditor or ALL, "audits": len(t.audits),
             "compared": t.compared, "share": t.share()}
            for (month, _id, cycle, auditor), t in sorted(by_cycle.items())
        ]),
    ]  # fmt: skip


def _rows(tallies: Iterable[tuple[str, _Tally]], key: str) -> list[dict[str, object]]:
    return [
        {key: name, "audits": len(t.audits), "compared": t.compared, "agreed": t.agreed,
         "share": t.share(), "up": t.up, "down": t.down}
        for name, t in tallies
    ]  # fmt: skip


def _regraded(by_section: dict[str, _Tally]) -> list[dict[str, object]]:
    rows = [
        {
            "section": section,
            "compared": t.compared,
            "regraded": t.compared - t.agreed,
            "regraded_share": round(100 * (t.compared - t.agreed) / t.compared, 1),
            "up": t.up,
            "down": t.down,
        }
        for section, t in by_section.items()
        if t.compared
    ]
    return sorted(rows, key=lambda row: (-float(str(row["regraded_share"])), str(row["section"])))
