"""A programme in plain words, a line per choice: what `auditbot programme show` prints."""

from __future__ import annotations

import calendar
from collections.abc import Iterable

from workflow.programme.model import (
    AdHoc,
    AnyModeration,
    Cases,
    EveryAudit,
    ExternalModeration,
    FollowUp,
    GroupModeration,
    NoModeration,
    Programme,
    Reaudit,
    Recurring,
    Rolling,
    Sample,
    SampleModeration,
    Thematic,
)
from workflow.roles import Role

DISPUTE_ROUTES = {
    "moderator_then_hos_and_audit_team": "the moderator, then the Head of Service and Audit Team",
    "panel_chair": "the panel's chair decides",
    "none": "no dispute route",
}


def describe(programme: Programme) -> list[str]:
    """What the programme does, stage by stage, as short lines."""
    about = programme.programme
    lines = [f"{about.name} ({about.council}), programme {about.id!r}"]
    if about.source:
        lines.append(f"  read from: {about.source}")
    lines.append("  services:")
    for service in programme.services:
        rules = f"; rules: {_pairs(service.rules)}" if service.rules else ""
        closed = f"; closed {len(service.closure_days)} extra days" if service.closure_days else ""
        lines.append(
            f"    {service.code} {service.name}: tools {', '.join(service.tools)}{rules}{closed}"
        )
    if programme.rules:
        lines.append(f"  rules: {_pairs(programme.rules)}")
    lines.append(f"  timetable (proposed to {_roles(programme.timetable.proposed_to)}):")
    for cycle in programme.timetable.cycles:
        lines.append(f"    {cycle.name}: {_when(cycle)}, {_cases(cycle.cases)}")
    approval = programme.kloes.approval
    lines.append(
        "  KLOEs: "
        + (f"approved by {_roles(approval)}" if approval else "no approval step")
        + f", {programme.kloes.lead_weeks} weeks ahead"
    )
    selection = programme.selection
    lookback = f"the last {selection.lookback.months} months"
    if selection.lookback.or_since_latest_referral:
        lookback += " or since the latest referral, whichever is sooner"
    lines.append(
        f"  selection: {selection.method}, by {_roles(selection.by)}; looking at {lookback}"
    )
    audit = programme.audit
    lines.append(
        "  audit: "
        + ("with the practitioner" if audit.with_practitioner else "desktop only")
        + (", practitioner's own section" if audit.practitioner_section else "")
        + (", family feedback" if audit.family_feedback else "")
    )
    lines.append(f"  moderation: {_moderation(programme.moderation)}")
    for code, moderation in programme.moderation_by_service.items():
        lines.append(f"    {code}: {_moderation(moderation)}")
    lines.append(f"  disputes: {DISPUTE_ROUTES[programme.disputes.route]}")
    lines.append(f"  follow-up: {_follow_up(programme.follow_up)}")
    for code, follow_up in programme.follow_up_by_service.items():
        lines.append(f"    {code}: {_follow_up(follow_up)}")
    inadequate = programme.inadequate
    lines.append(
        "  Inadequate: "
        + ("the fast path" if inadequate.fast_path else "no fast path")
        + (f"; told at once: {_roles(inadequate.escalate_to)}" if inadequate.escalate_to else "")
    )
    lines.append(f"  re-audit: {_reaudit(programme.reaudit)}")
    lines.append(f"  late work copied to: {_roles(programme.escalation.route)}")
    for report in programme.reports:
        to = _roles(report.to) + (f" ({report.board})" if report.board else "")
        lines.append(f"  report: {report.name}, every {report.every.replace('_', ' ')}, to {to}")
    return lines


def _roles(roles: Iterable[Role]) -> str:
    return ", ".join(role.label for role in roles) or "nobody"


def _pairs(values: dict[str, object]) -> str:
    return ", ".join(f"{name} {value}" for name, value in values.items())


def _when(cycle: Recurring | Rolling | Thematic | AdHoc) -> str:
    services = ", ".join(cycle.services)
    if isinstance(cycle, Recurring):
        if cycle.months:
            return f"{services} in {', '.join(m.value.title() for m in cycle.months)}"
        every = "every month" if cycle.every_months == 1 else f"every {cycle.every_months} months"
        return f"{services} {every} from {cycle.starting.value.title()}"
    if isinstance(cycle, Rolling):
        return f"each of {services} {cycle.times_a_year} times a year, in turn"
    if isinstance(cycle, Thematic):
        when = (
            ", ".join(m.value.title() for m in cycle.months)
            if cycle.months
            else f"{cycle.times_a_year} times a year"
        )
        instead = " instead of that month's cycle" if cycle.instead_of_recurring else ""
        return f"{services} on a theme, {when}{instead}"
    desktop = ", desktop" if cycle.desktop else ""
    return f"{services} when {_roles(cycle.requested_by)} asks{desktop}"


def _cases(cases: Cases) -> str:
    if cases.per_cycle is not None:
        return f"{cases.per_cycle} cases"
    if cases.per_team is not None:
        return f"{cases.per_team} cases per team"
    return f"{cases.per_auditor} case per auditor"


def _sample(sample: Sample) -> str:
    size = f"{sample.percent}%" if sample.percent is not None else f"{sample.per_cycle} a cycle"
    return size + (f", all below {sample.always_below.label}" if sample.always_below else "")


def _moderation(moderation: AnyModeration) -> str:
    if isinstance(moderation, NoModeration):
        return "none"
    if isinstance(moderation, EveryAudit):
        return f"every audit, by its {_roles(moderation.by)}"
    if isinstance(moderation, SampleModeration):
        return f"a sample of {_sample(moderation.sample)}, by {_roles(moderation.by)}"
    if isinstance(moderation, GroupModeration):
        words = f"a group in a meeting: {_roles(moderation.members)}"
        months = moderation.external_check_months()
        if months:
            words += (
                f"; {moderation.external_check_sample} of its audits checked by "
                f"{_roles(moderation.external_check_by)} in "
                f"{', '.join(calendar.month_name[m] for m in months)}"
            )
        return words
    if isinstance(moderation, ExternalModeration):
        return f"external, by {_roles(moderation.by)}"
    panel = moderation.panel
    reviews = panel.reviews if isinstance(panel.reviews, str) else _sample(panel.reviews)
    return (
        f"first by {_roles(moderation.tier_one_by)}, then a panel chaired by the "
        f"{panel.chair.label} with {_roles(panel.members)} (reviews: {reviews})"
    )


def _follow_up(follow_up: FollowUp) -> str:
    if follow_up.meeting == "part_b":
        return (
            f"part B at the next supervision (within {follow_up.part_b_supervision_working_days}"
            f" working days, {follow_up.part_b_safeguarding_working_days} with safeguarding"
            " actions)"
        )
    return {
        "every_audit": "a meeting after every audit",
        "below_good": "a meeting for audits below Good",
        "none": "no meeting",
    }[follow_up.meeting]


def _reaudit(reaudit: Reaudit) -> str:
    parts = []
    if reaudit.dip_audit:
        grades = ", ".join(grade.value.replace("_", " ") for grade in reaudit.dip_grades)
        parts.append(f"dip audit of {grades}")
    if reaudit.sample:
        share = f"{reaudit.fraction:.0%}" if reaudit.fraction else "the rules' share"
        parts.append(
            f"{share} of each cycle's work below Good re-audited"
            + (" (all if not improved)" if reaudit.all_if_not_improved else "")
        )
    if reaudit.escalate_to:
        parts.append(f"not improved: escalated to {_roles(reaudit.escalate_to)}")
    return "; ".join(parts) or "none"
