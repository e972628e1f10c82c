"""Finding and purging case attributes the council has not declared, wherever they went.

Before attributes had to be declared, a cases file could bring any column in
(`Child Name`, `young_person`), and a thematic criterion could name one. From
the cases table such a value was copied into the audit trail (the case's
before/after), and from a criterion into the cycle's plan and explanation,
the cycle's trail, and the KLOE cards sent to approvers (kept in the outbox).
`find_undeclared` says where, by attribute name and count, never by value;
`purge_undeclared` removes the values from every one of those places (the
trail through recorded redactions, the one change it allows) and records the
purge itself on the trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, Case, Cycle, OutboxMessage
from storage.repositories.cases import declared_case_attributes
from storage.repositories.events import Actor, record_event, redact_event
from workflow.case_attributes import Declaration
from workflow.words import agreeing, counted

PURGED = "[purged]"
REASON = "case attributes not declared for selection were purged"


@dataclass
class Findings:
    """Where undeclared case attributes are stored: names and counts, never values."""

    cases: Counter[str] = field(default_factory=Counter)  # attribute -> cases holding it
    case_count: int = 0  # cases holding any
    case_events: int = 0  # trail events of cases holding one
    cycles: dict[int, list[str]] = field(default_factory=dict)  # cycle -> criteria names
    cycle_events: int = 0
    messages: int = 0  # outbox rows (cards sent or waiting) naming a criterion's value

    @property
    def empty(self) -> bool:
        return not (self.cases or self.case_events or self.cycles or self.messages)

    def lines(self) -> list[str]:
        """The findings for an operator, one line each."""
        if self.empty:
            return ["No undeclared case attributes are stored."]
        found = [
            f"attribute {name}: a value not declared in {counted(count, 'case')}"
            for name, count in sorted(self.cases.items())
        ]
        if self.case_events:
            events = counted(self.case_events, "audit-trail event")
            found.append(
                f"{events} of those cases {agreeing(self.case_events, 'holds', 'hold')} them"
            )
        found += [
            f"cycle {cycle_id}: selects by undeclared {', '.join(names)}"
            for cycle_id, names in sorted(self.cycles.items())
        ]
        if self.cycle_events:
            events = counted(self.cycle_events, "audit-trail event")
            holds = agreeing(self.cycle_events, "holds", "hold")
            found.append(f"{events} of those cycles {holds} them")
        if self.messages:
            shows = agreeing(self.messages, "shows", "show")
            found.append(f"{counted(self.messages, 'message')} to people {shows} those criteria")
        return found

    def summary(self) -> dict[str, Any]:
        return {
            "attributes": sorted(self.cases),
            "cases": self.case_count,
            "case_events": self.case_events,
            "cycles": sorted(self.cycles),
            "cycle_events": self.cycle_events,
            "messages": self.messages,
        }


async def find_undeclared(session: AsyncSession) -> Findings:
    """Where undeclared case attributes are stored; changes nothing."""
    return await _walk(session, await declared_case_attributes(session), purge=None)


async def purge_undeclared(session: AsyncSession, actor: Actor, now: datetime) -> Findings:
    """Remove every undeclared case attribute found, in the caller's transaction, and record
    the purge (names and counts) on the audit trail. Returns what was purged."""
    findings = await _walk(session, await declared_case_attributes(session), purge=now)
    if not findings.empty:
        await record_event(
            session, actor, "case_attributes", 0, "undeclared_purged", None, findings.summary()
        )
    return findings


async def _walk(session: AsyncSession, declared: Declaration, purge: datetime | None) -> Findings:
    findings = Findings()
    await _cases(session, declared, findings, purge)
    await _case_events(session, declared, findings, purge)
    criteria = await _cycles(session, declared, findings, purge)
    if criteria:
        scrub = _scrubber(criteria)
        await _cycle_events(session, findings, scrub, purge)
        await _messages(session, criteria, findings, scrub, purge)
    return findings


async def _cases(
    session: AsyncSession, declared: Declaration, findings: Findings, purge: datetime | None
) -> None:
    for case in await session.scalars(select(Case).where(Case.attributes.is_not(None))):
        undeclared = declared.undeclared(case.attributes or {})
        if not undeclared:
            continue
        findings.cases.update(undeclared)
        findings.case_count += 1
        if purge:
            case.attributes = declared.kept(case.attributes)


async def _case_events(
    session: AsyncSession, declared: Declaration, findings: Findings, purge: datetime | None
) -> None:
    events = await session.scalars(select(AuditEvent).where(AuditEvent.entity == "case"))
    for event in events:
        before, after = _blank(event.before, declared), _blank(event.after, declared)
        if (before, after) == (event.before, event.after):
            continue
        findings.case_events += 1
        if purge:
            await redact_event(session, event.id, before, after, reason=REASON, at=purge)


def _still_stored(declared: Declaration, values: dict[str, Any]) -> list[str]:
    """The names whose values the declaration does not allow and were not purged yet."""
    return [name for name in declared.undeclared(values) if values[name] != PURGED]


def _blank(snapshot: dict[str, Any] | None, declared: Declaration) -> dict[str, Any] | None:
    """The case snapshot with each undeclared attribute's value replaced by PURGED."""
    attributes = (snapshot or {}).get("attributes")
    if not isinstance(attributes, dict):
        return snapshot
    names = _still_stored(declared, attributes)
    if not names:
        return snapshot
    blanked = {name: PURGED if name in names else value for name, value in attributes.items()}
    return {**(snapshot or {}), "attributes": blanked}


async def _cycles(
    session: AsyncSession, declared: Declaration, findings: Findings, purge: datetime | None
) -> list[tuple[str, str]]:
    """The undeclared (name, value) criteria of every cycle; purged from plan and explanation."""
    found: list[tuple[str, str]] = []
    for cycle in await session.scalars(select(Cycle)):
        criteria = dict((cycle.selection_plan or {}).get("criteria") or {})
        names = _still_stored(declared, criteria)
        if not names:
            continue
        findings.cycles[cycle.id] = names
        pairs = [(name, str(criteria[name])) for name in names]
        found += pairs
        if purge:
            criteria.update({name: PURGED for name in names})
            cycle.selection_plan = {**cycle.selection_plan, "criteria": criteria}
            if cycle.selection_explanation:
                cycle.selection_explanation = _scrubber(pairs)(cycle.selection_explanation)
    return found


def _scrubber(criteria: list[tuple[str, str]]) -> Callable[[str], str]:
    """Replaces a criterion's value where text shows it: "name = value" (the KLOE card's
    plan) or "name is value" (the selection's explanation)."""

    def scrub(text: str) -> str:
        for name, value in criteria:
            for joint in (" = ", " is "):
                text = text.replace(f"{name}{joint}{value}", f"{name}{joint}{PURGED}")
        return text

    return scrub


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    """A JSON document with every string scrubbed, and every criteria dict's values too."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(item, scrub) for item in value]
    if isinstance(value, dict):
        return {key: _scrubbed(item, scrub) for key, item in value.items()}
    return value


async def _cycle_events(
    session: AsyncSession,
    findings: Findings,
    scrub: Callable[[str], str],
    purge: datetime | None,
) -> None:
    cycle_ids = list(findings.cycles)
    query = select(AuditEvent).where(
        AuditEvent.entity == "cycle", AuditEvent.entity_id.in_(cycle_ids)
    )
    for event in await session.scalars(query):
        before, after = _plan_purged(event.before, scrub), _plan_purged(event.after, scrub)
        if (before, after) == (event.before, event.after):
            continue
        findings.cycle_events += 1
        if purge:
            await redact_event(session, event.id, before, after, reason=REASON, at=purge)


def _plan_purged(snapshot: dict[str, Any] | None, scrub: Callable[[str], str]) -> Any:
    """A cycle snapshot with its criteria's values purged (plan and explanation)."""
    if not snapshot:
        return snapshot
    purged = _scrubbed(snapshot, scrub)
    plan = purged.get("selection_plan")
    if isinstance(plan, dict) and isinstance(plan.get("criteria"), dict):
        criteria = {
            name: PURGED if scrub(f"{name} = {value}") != f"{name} = {value}" else value
            for name, value in plan["criteria"].items()
        }
        purged["selection_plan"] = {**plan, "criteria": criteria}
    return purged


async def _messages(
    session: AsyncSession,
    criteria: list[tuple[str, str]],
    findings: Findings,
    scrub: Callable[[str], str],
    purge: datetime | None,
) -> None:
    text = cast(OutboxMessage.payload, String)
    mentions = or_(*(text.contains(f"{name} ") for name, _ in criteria))
    for message in await session.scalars(select(OutboxMessage).where(mentions)):
        payload = _scrubbed(message.payload, scrub)
        if payload == message.payload:
            continue
        findings.messages += 1
        if purge:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(payload=payload)
                .execution_options(synchronize_session=False)
            )
