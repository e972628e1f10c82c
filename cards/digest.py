"""The Head of Service's weekly digest: one card with the week in their service(s).

Case references and counts only, never a child's name. Teams draws the two
charts (grade mix against the previous cycle, how moderation moved grades);
every chart is followed by the same figures in words, which is the text
alternative WCAG asks for and what a client without charts shows, since each
chart's `fallback` points there. Lists are capped ("and N more") so the card
stays under 80 KB whatever the week held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from microsoft_teams.cards import (
    ActionSet,
    BarChartDataValue,
    CardElement,
    Container,
    DonutChart,
    DonutChartData,
    GroupedVerticalBarChart,
    GroupedVerticalBarChartData,
    TextBlock,
)

from cards.base import card, execute, facts, heading, open_url, paragraph
from cards.dates import OVERDUE, day_label
from workflow.words import counted

OPEN_DECISION = "digest.open_decision"

MAX_DECISIONS = 10
MAX_OWNERS = 10
MAX_ITEMS_PER_OWNER = 5
MAX_LISTED = 10

NOTHING_NEEDS_YOU = "Nothing needs you this week."
GRADE_ORDER = ("Outstanding", "Good", "Requires Improvement to be Good", "Inadequate")
SHORT_GRADE = {"Requires Improvement to be Good": "RI"}


@dataclass(frozen=True)
class GradeMix:
    """Final grades (after moderation and any decided dispute) of one cycle's audits."""

    cycle: str
    counts: dict[str, int]  # grade label -> audits

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ModerationChanges:
    raised: int = 0
    lowered: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.raised + self.lowered + self.unchanged


@dataclass(frozen=True)
class InadequateWork:
    case_ref: str
    urgent: str  # the state of its urgent actions, in words ("Confirmed done", "Overdue: ...")


@dataclass(frozen=True)
class OverdueItem:
    what: str  # "Audit", "Moderation", "Urgent issues", "UoPP meeting", "SMART action"
    case_ref: str
    due_on: date


@dataclass(frozen=True)
class OwnerOverdue:
    owner: str
    items: Sequence[OverdueItem]
    total: int  # all of this owner's overdue items (items may be fewer)


@dataclass(frozen=True)
class Decision:
    """Something waiting for this Head of Service, with the button that opens its card."""

    kind: str  # "exemption", "dispute" or "kloe"
    item_id: int
    title: str  # e.g. "Exemption request: case CSC-26-0142"
    detail: str  # e.g. "Megan Bowen asked on Mon 16 Nov"
    button: str = "Open"  # says which, for screen readers: "Open request CSC-26-0142"


@dataclass(frozen=True)
class DigestView:
    person: str
    services: Sequence[str]
    week: str  # e.g. "Week 48, 2026 (16 to 22 November)"
    today: date
    current: GradeMix | None
    previous: GradeMix | None
    allocated: int
    submitted: int
    moderated: int
    changes: ModerationChanges
    inadequate: Sequence[InadequateWork] = ()
    inadequate_total: int = 0
    overdue: Sequence[OwnerOverdue] = ()
    overdue_total: int = 0
    owners_total: int = 0
    uopps_booked: int = 0
    uopps_held: int = 0
    reaudits: Sequence[str] = ()
    decisions: Sequence[Decision] = field(default_factory=tuple)
    decisions_total: int = 0
    tracker_url: str | None = None  # the workspace's tracker, when it is deployed
    reports_url: str | None = None  # and its reports page

    @property
    def needs_you(self) -> bool:
        return bool(self.decisions_total or self.overdue_total or self.inadequate_total)


def digest_card(view: DigestView) -> dict:
    body: list[CardElement] = [
        heading("Your weekly audit digest"),
        paragraph(f"{', '.join(view.services)}. {view.week}.", subtle=True),
        _headline(view),
    ]
    body.extend(_decisions(view))
    body.extend(_grade_mix(view))
    body.extend(_this_week(view))
    body.extend(_inadequate(view))
    body.extend(_overdue(view))
    if view.reaudits:
        body.append(_section("Re-audits"))
        body.append(paragraph(_lines(view.reaudits[:MAX_LISTED])))
        body.extend(_more(len(view.reaudits), MAX_LISTED))
    actions = [open_url("Open the audit tracker", view.tracker_url)] if view.tracker_url else []
    if view.reports_url:
        actions.append(open_url("Open the reports", view.reports_url))
    return card(body, fallback=_fallback(view), actions=actions or None)


def _headline(view: DigestView) -> TextBlock:
    if not view.needs_you:
        return TextBlock(text=NOTHING_NEEDS_YOU, wrap=True, weight="Bolder")
    parts = []
    if view.decisions_total:
        parts.append(counted(view.decisions_total, "decision waits", "decisions wait") + " for you")
    if view.overdue_total:
        parts.append(f"{counted(view.overdue_total, 'item')} overdue")
    if view.inadequate_total:
        parts.append(f"{counted(view.inadequate_total, 'piece')} of Inadequate work open")
    return TextBlock(text=_sentence(parts), wrap=True, weight="Bolder")


def _decisions(view: DigestView) -> list[CardElement]:
    if not view.decisions:
        return []
    out: list[CardElement] = [_section("Waiting for your decision")]
    for decision in view.decisions[:MAX_DECISIONS]:
        out.append(
            Container(
                spacing="Small",
                items=[
                    TextBlock(text=decision.title, wrap=True, weight="Bolder"),
                    paragraph(decision.detail, subtle=True),
                    ActionSet(
                        actions=[
                            execute(
                                decision.button,
                                OPEN_DECISION,
                                {"item": decision.kind, "item_id": decision.item_id},
                            )
                        ]
                    ),
                ],
            )
        )
    out.extend(_more(view.decisions_total, MAX_DECISIONS))
    return out


def _grade_mix(view: DigestView) -> list[CardElement]:
    out: list[CardElement] = [_section("Grades this cycle")]
    if view.current is None or view.current.total == 0:
        out.append(paragraph("No audit in the current cycle has a moderated grade yet."))
        return out
    mixes = [mix for mix in (view.current, view.previous) if mix is not None]
    series = [
        GroupedVerticalBarChartData(
            legend=f"{label}: {mix.cycle}",
            values=[
                BarChartDataValue(x=SHORT_GRADE.get(grade, grade), y=mix.counts.get(grade, 0))
                for grade in GRADE_ORDER
            ],
        )
        for label, mix in zip(("This cycle", "Previous cycle"), mixes, strict=False)
    ]
    out.append(
        GroupedVerticalBarChart(
            title="Grades: this cycle against the previous one",
            show_title=True,
            show_legend=True,
            x_axis_title="Final grade",
            y_axis_title="Audits",
            data=series,
            fallback=_see_figures("The chart of grades"),
        )
    )
    out.append(
        facts([(grade, _versus(view.current, view.previous, grade)) for grade in GRADE_ORDER])
    )
    if view.previous is None:
        out.append(paragraph("There is no earlier cycle to compare with.", subtle=True))
    return out


def _this_week(view: DigestView) -> list[CardElement]:
    changes = view.changes
    out: list[CardElement] = [
        _section("This week"),
        facts(
            [
                ("Audits allocated", str(view.allocated)),
                ("Audits submitted", str(view.submitted)),
                ("Audits moderated", str(view.moderated)),
                ("UoPP meetings booked", str(view.uopps_booked)),
                ("UoPP meetings held", str(view.uopps_held)),
            ]
        ),
        _section("How moderation changed grades this cycle"),
    ]
    if changes.total == 0:
        out.append(paragraph("Nothing has been moderated in this cycle yet."))
        return out
    out.append(
        DonutChart(
            title="Moderated grades against the auditors' grades",
            show_title=True,
            show_legend=True,
            value=str(changes.total),
            data=[
                DonutChartData(legend="Raised", value=changes.raised),
                DonutChartData(legend="Lowered", value=changes.lowered),
                DonutChartData(legend="Unchanged", value=changes.unchanged),
            ],
            fallback=_see_figures("The chart of moderation changes"),
        )
    )
    out.append(
        facts(
            [
                ("Raised by moderation", str(changes.raised)),
                ("Lowered by moderation", str(changes.lowered)),
                ("Unchanged", str(changes.unchanged)),
            ]
        )
    )
    return out


def _inadequate(view: DigestView) -> list[CardElement]:
    if not view.inadequate_total:
        return []
    out: list[CardElement] = [
        _section(f"Inadequate work ({view.inadequate_total})"),
        facts([(item.case_ref, item.urgent) for item in view.inadequate[:MAX_LISTED]]),
    ]
    out.extend(_more(view.inadequate_total, MAX_LISTED))
    return out


def _overdue(view: DigestView) -> list[CardElement]:
    if not view.overdue_total:
        return [_section(OVERDUE), paragraph("Nothing is overdue.")]
    out: list[CardElement] = [
        TextBlock(
            text=f"{OVERDUE}: {counted(view.overdue_total, 'item')}, by who owes them",
            wrap=True,
            weight="Bolder",
            size="Medium",
            color="Attention",
            spacing="Large",
        )
    ]
    for owner in view.overdue[:MAX_OWNERS]:
        lines = [
            f"- {item.what}, case {item.case_ref}: was due {day_label(item.due_on, view.today)}"
            for item in owner.items[:MAX_ITEMS_PER_OWNER]
        ]
        if owner.total > MAX_ITEMS_PER_OWNER:
            lines.append(f"- and {owner.total - MAX_ITEMS_PER_OWNER} more")
        out.append(
            Container(
                spacing="Small",
                items=[
                    TextBlock(text=f"{owner.owner} ({owner.total})", wrap=True, weight="Bolder"),
                    paragraph("\n".join(lines)),
                ],
            )
        )
    if view.owners_total > MAX_OWNERS:
        out.append(paragraph(f"And {view.owners_total - MAX_OWNERS} more people.", subtle=True))
    return out


def _section(title: str) -> TextBlock:
    return TextBlock(text=title, wrap=True, weight="Bolder", size="Medium", spacing="Large")


def _see_figures(what: str) -> TextBlock:
    return TextBlock(
        text=f"{what} cannot be shown here; the same figures follow.", wrap=True, is_subtle=True
    )


def _versus(current: GradeMix, previous: GradeMix | None, grade: str) -> str:
    now = current.counts.get(grade, 0)
    if previous is None:
        return f"{now} this cycle"
    return f"{now} this cycle, {previous.counts.get(grade, 0)} in the previous one"


def _more(total: int, shown: int) -> list[CardElement]:
    return [paragraph(f"And {total - shown} more.", subtle=True)] if total > shown else []


def _lines(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _sentence(parts: Sequence[str]) -> str:
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[:1].upper() + text[1:] + "."


def _fallback(view: DigestView) -> str:
    if not view.needs_you:
        return f"Weekly audit digest: {NOTHING_NEEDS_YOU}"
    return (
        f"Weekly audit digest: {counted(view.decisions_total, 'decision')}, "
        f"{counted(view.overdue_total, 'overdue item')}"
    )
