"""The recommendation and impact tracker (City of London's "QA Recommendation and Impact
Tracker"): every child-level and service-level recommendation from the audits the reader
may see, with its owner, due date, status, the owner's note and the impact noted; and its
monthly review, recorded as "reviewed at the meeting of DATE" with what was decided for each
recommendation, in one transaction with its audit-trail rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import repositories as repo
from storage.enums import RecommendationLevel, RecommendationStatus
from storage.models import (
    Audit,
    Case,
    Cycle,
    Recommendation,
    RecommendationReview,
    Service,
    Staff,
    Team,
)
from workspace.scope import (
    REVIEWERS,
    SERVICE_WIDE,
    Filters,
    audits_joined,
    filtered,
    services_where,
    visible,
)
from workspace.sheets import Column, Sheet

COLUMNS = (
    Column("level", "Level"),
    Column("case_ref", "Case"),
    Column("service", "Service"),
    Column("cycle", "Cycle"),
    Column("team", "Team"),
    Column("action", "Recommendation or action"),
    Column("impact_on_child", "Intended impact"),
    Column("owner", "Owner"),
    Column("due_on", "Due", "date"),
    Column("status", "Status"),
    Column("note", "Owner's note"),
    Column("impact_noted", "Impact noted"),
    Column("reviewed_on", "Last reviewed", "date"),
    Column("late", "Late"),
)
REVIEW_COLUMNS = (
    Column("meeting_on", "Meeting", "date"),
    Column("service", "Service"),
    Column("reviewed", "Recommendations reviewed", "number"),
    Column("decided", "What was decided"),
    Column("recorded_by", "Recorded by"),
)
STATUS_WORDS = {
    RecommendationStatus.OPEN: "Open",
    RecommendationStatus.DONE: "Done",
    RecommendationStatus.PARTLY: "Partly done",
    RecommendationStatus.NOT_YET: "Not yet done",
}
TEXT_LIMIT = 2000


async def recommendation_sheets(
    session: AsyncSession, reader: Staff, *, today: date, filters: Filters
) -> list[Sheet]:
    owner = aliased(Staff)
    query = audits_joined(
        Recommendation.id, Recommendation.level, Recommendation.action,
        Recommendation.impact_on_child, Recommendation.due_on, Recommendation.status,
        Recommendation.note, Recommendation.impact_noted, Recommendation.reviewed_on,
        owner.display_name, Case.case_ref, Service.code, Cycle.title, Team.name, Audit.id,
    ).join(Recommendation, Recommendation.audit_id == Audit.id)  # fmt: skip
    query = query.outerjoin(owner, owner.id == Recommendation.owner_id)
    query = filtered(query.where(await visible(session, reader)), filters)
    query = query.order_by(Cycle.month.desc(), Recommendation.level, Recommendation.id)
    rows = []
    for (rec_id, level, action, impact, due_on, status, note, noted, reviewed_on, owner_name,
         case_ref, service, cycle, team, audit_id) in await session.execute(query):  # fmt: skip
        status = RecommendationStatus(status)
        late = status is not RecommendationStatus.DONE and due_on is not None and due_on < today
        if filters.late_only and not late:
            continue
        rows.append(
            {
                "id": rec_id,
                "audit_id": audit_id,
                "level": RecommendationLevel(level).value.capitalize(),
                "case_ref": case_ref,
                "service": service,
                "cycle": cycle,
                "team": team or "",
                "action": action,
                "impact_on_child": impact or "",
                "owner": owner_name or "",
                "due_on": due_on,
                "status": STATUS_WORDS[status],
                "status_value": status.value,
                "note": note or "",
                "impact_noted": noted or "",
                "reviewed_on": reviewed_on,
                "late": "yes" if late else "",
            }
        )
    return [Sheet("Recommendations", COLUMNS, rows), await _reviews(session, reader, filters)]


async def _reviews(session: AsyncSession, reader: Staff, filters: Filters) -> Sheet:
    services = await services_where(session, reader, SERVICE_WIDE)
    recorder = aliased(Staff)
    query = (
        select(RecommendationReview, Service.code, recorder.display_name)
        .join(Service, Service.id == RecommendationReview.service_id)
        .join(recorder, recorder.id == RecommendationReview.recorded_by_id)
        .where(RecommendationReview.service_id.in_(services))
        .order_by(RecommendationReview.meeting_on.desc(), RecommendationReview.id.desc())
    )
    if filters.service:
        query = query.where(Service.code == filters.service)
    rows = [
        {
            "meeting_on": review.meeting_on,
            "service": code,
            "reviewed": len(review.decisions),
            "decided": review.decided,
            "recorded_by": name,
        }
        for review, code, name in await session.execute(query)
    ]
    return Sheet("Monthly reviews", REVIEW_COLUMNS, rows)


def _an_id(text: str) -> bool:
    return text.isdigit() and len(text) < 10


class ReviewRefused(Exception):
    """The review cannot be recorded as sent; the message says what to change."""


@dataclass(frozen=True)
class Decision:
    recommendation_id: int
    status: RecommendationStatus
    impact: str


def parse_review(body: Any, today: date) -> tuple[str, date, str, list[Decision]]:
    """The review's service, meeting date, what was decided, and each decision; or
    ReviewRefused saying what is wrong (nothing is changed)."""
    if not isinstance(body, dict):
        raise ReviewRefused("Send the review as a JSON object.")
    service = str(body.get("service", "")).strip().upper()
    if not service:
        raise ReviewRefused("Choose the service whose recommendations were reviewed.")
    try:
        meeting_on = date.fromisoformat(str(body.get("meeting_on", "")))
    except ValueError:
        raise ReviewRefused("Give the meeting's date, as YYYY-MM-DD.") from None
    if meeting_on > today:
        raise ReviewRefused("The meeting's date is in the future: record a review once held.")
    decided = str(body.get("decided", "")).strip()
    if len(decided) > TEXT_LIMIT:
        raise ReviewRefused(f"Keep what was decided under {TEXT_LIMIT} characters.")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ReviewRefused("Review at least one recommendation.")
    decisions = []
    for item in items:
        # (An id past the column's range is no recommendation's: refused here, not by the database.)
        if not isinstance(item, dict) or not _an_id(str(item.get("id", ""))):
            raise ReviewRefused("Each recommendation reviewed needs its id.")
        try:
            status = RecommendationStatus(str(item.get("status", "")))
        except ValueError:
            raise ReviewRefused("Each status is open, done, partly or not yet.") from None
        impact = str(item.get("impact", "")).strip()
        if len(impact) > TEXT_LIMIT:
            raise ReviewRefused(f"Keep each impact noted under {TEXT_LIMIT} characters.")
        decisions.append(Decision(int(item["id"]), status, impact))
    if len({d.recommendation_id for d in decisions}) != len(decisions):
        raise ReviewRefused("Each recommendation is reviewed once per meeting.")
    return service, meeting_on, decided, decisions


async def record_review(
    session: AsyncSession, reader: Staff, body: Any, *, now: datetime, today: date
) -> RecommendationReview:
    """Record one monthly review: the review, each recommendation's status and impact noted,
    and an audit-trail row for each; the caller commits them together."""
    code, meeting_on, decided, decisions = parse_review(body, today)
    service = await repo.get_service_by_code(session, code)
    if service is None or service.id not in await services_where(session, reader, REVIEWERS):
        raise ReviewRefused(
            f"Only the Audit Team, the Audit Manager or the Head of Service for {code} can "
            "record its review. Nothing was changed."
        )
    wanted = [d.recommendation_id for d in decisions]
    found = {
        rec.id: rec
        for rec, service_id in await session.execute(
            select(Recommendation, Cycle.service_id)
            .join(Audit, Audit.id == Recommendation.audit_id)
            .join(Cycle, Cycle.id == Audit.cycle_id)
            .where(Recommendation.id.in_(wanted))
            .with_for_update(of=Recommendation)
        )
        if service_id == service.id
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise ReviewRefused(
            f"Recommendation {', '.join(missing)} is not one of {code}'s. Nothing was changed."
        )
    review = RecommendationReview(
        service_id=service.id, meeting_on=meeting_on, decided=decided, recorded_by_id=reader.id,
        recorded_at=now,
        decisions=[
            {"recommendation_id": d.recommendation_id,
             "status_before": found[d.recommendation_id].status.value,
             "status": d.status.value, "impact": d.impact}
            for d in decisions
        ],
    )  # fmt: skip
    session.add(review)
    await session.flush()
    for decision in decisions:
        recommendation = found[decision.recommendation_id]
        fields = ("status", "impact_noted", "reviewed_on")
        before = repo.snapshot(recommendation, fields)
        recommendation.status = decision.status
        recommendation.impact_noted = decision.impact or recommendation.impact_noted
        recommendation.reviewed_on = meeting_on
        await repo.record_event(
            session, reader, "audit", recommendation.audit_id, "recommendation_reviewed",
            {"recommendation_id": recommendation.id, **before},
            {"recommendation_id": recommendation.id, "review_id": review.id,
             **repo.snapshot(recommendation, fields)},
            at=now,
        )  # fmt: skip
    await repo.record_event(
        session, reader, "recommendation_review", review.id, "recorded", None,
        {"service": code, "meeting_on": meeting_on.isoformat(), "reviewed": len(decisions)},
        at=now,
    )  # fmt: skip
    return review
