"""The coordinator's weekly progress report on Inadequate work: prompted once a week until
the work reaches Good, answered by the coordinator alone, forwarded and kept in the trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from dialogs.progress_reports import prompt_progress_reports
from storage import repositories as repo
from storage.models import AuditEvent, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    RULES,
    Cast,
    act,
    cast_in,
    count_rows,
    execute_data,
    messages_to,
    texts,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.states import AuditState

MODERATED_AT = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # Tuesday, week 48


async def inadequate_work(
    db: Database,
    *,
    moderated_at: datetime = MODERATED_AT,
    moderated: Grade = Grade.INADEQUATE,
    final: Grade = Grade.INADEQUATE,
    state: AuditState = AuditState.MODERATED,
) -> Cast:
    cast = await cast_in(db, overall=Grade.INADEQUATE, state=state)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.moderated_grade = moderated
        audit.final_grade = final
        audit.moderated_at = moderated_at
    return cast


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def prompts_by_day(db: Database, first: date, last: date) -> dict[date, int]:
    """Run the daily job twice a day (a restart, a second instance) from first to last."""
    sent: dict[date, int] = {}
    clock = FixedClock(at(first))
    day = first
    while day <= last:
        for hour in (7, 13):
            clock.set(at(day, hour))
            count = await prompt_progress_reports(db.sessions, clock, RULES)
            if count:
                sent[day] = sent.get(day, 0) + count
        day += timedelta(days=1)
    return sent


async def prompts_to(db: Database, cast: Cast) -> list[OutboxMessage]:
    return await messages_to(db, cast.coordinator, "progress_report")


async def test_the_coordinator_is_prompted_once_a_week_from_a_week_after_moderation(db):
    cast = await inadequate_work(db)

    sent = await prompts_by_day(db, date(2026, 11, 24), date(2026, 12, 9))

    assert sent == {date(2026, 12, 1): 1, date(2026, 12, 8): 1}
    first, second = await prompts_to(db, cast)
    assert cast.case_ref in first.payload["summary"]
    card = first.payload["card"]
    assert "week of Mon 30 Nov 2026" in texts(card)
    assert "don't write the child's name" in texts(card)
    assert execute_data(card, "progress.report")["week"] == "2026-W49"
    assert execute_data(second.payload["card"], "progress.report")["week"] == "2026-W50"
    prompted = AuditEvent.action == "progress_report_requested"
    assert await count_rows(db, AuditEvent, prompted) == 2


async def test_a_prompt_falling_on_a_bank_holiday_waits_for_the_next_working_day(db):
    await inadequate_work(db, moderated_at=datetime(2026, 12, 18, 11, 0, tzinfo=UTC))  # Friday

    sent = await prompts_by_day(db, date(2026, 12, 18), date(2026, 12, 31))

    # Fri 25 Dec, the weekend and Mon 28 Dec (Boxing Day's substitute) are not working days
    assert sent == {date(2026, 12, 29): 1}


@pytest.mark.parametrize(
    ("moderated", "final", "state"),
    [
        (Grade.REQUIRES_IMPROVEMENT, Grade.REQUIRES_IMPROVEMENT, AuditState.MODERATED),
        (Grade.INADEQUATE, Grade.GOOD, AuditState.DECIDED),  # the work reached Good
        (Grade.INADEQUATE, Grade.INADEQUATE, AuditState.CLOSED),
        (Grade.INADEQUATE, Grade.INADEQUATE, AuditState.SUBMITTED),  # not moderated yet
    ],
)
async def test_no_prompt_unless_the_work_is_inadequate_and_not_yet_at_good(
    db, moderated, final, state
):
    await inadequate_work(db, moderated=moderated, final=final, state=state)

    assert await prompts_by_day(db, date(2026, 11, 24), date(2026, 12, 9)) == {}


async def test_work_still_below_good_after_a_decision_keeps_being_reported(db):
    await inadequate_work(db, final=Grade.REQUIRES_IMPROVEMENT, state=AuditState.DECIDED)

    assert await prompts_by_day(db, date(2026, 12, 1), date(2026, 12, 1)) == {date(2026, 12, 1): 1}


async def this_weeks_card(db: Database, cast: Cast, day: date = date(2026, 12, 1)) -> dict:
    await prompt_progress_reports(db.sessions, FixedClock(at(day)), RULES)
    return (await prompts_to(db, cast))[-1].payload["card"]


async def test_the_report_goes_to_the_head_of_service_and_audit_manager_and_the_trail(db):
    cast = await inadequate_work(db)
    card = await this_weeks_card(db, cast)
    report = "Weekly visits restarted; the plan was reviewed in supervision"

    shown = await act(
        db, cast.coordinator, "progress.report", now=at(date(2026, 12, 2), 10),
        **execute_data(card, "progress.report"), progress=report,
    )  # fmt: skip

    assert "Reported this week" in texts(shown) and report in texts(shown)
    assert "progress.report" not in str(shown)
    for reader in (cast.head_of_service, cast.audit_manager):
        [told] = await messages_to(db, reader, "progress_report")
        assert report in told.payload["text"] and cast.case_ref in told.payload["summary"]
    for not_told in (cast.practitioner, cast.team_manager, cast.auditor):
        assert await messages_to(db, not_told, "progress_report") == []
    async with db.sessions() as session:
        [event] = [
            e
            for e in await repo.list_events(session, "audit", cast.audit_id)
            if e.action == "progress_reported"
        ]
    assert event.actor_id == cast.coordinator.id
    assert event.after == {"week": "2026-W49", "report": report}


async def test_only_the_coordinator_may_report(db):
    cast = await inadequate_work(db)
    data = execute_data(await this_weeks_card(db, cast), "progress.report")

    for someone in (cast.practitioner, cast.team_manager, cast.head_of_service, cast.outsider):
        shown = await act(db, someone, "progress.report", **data, progress="Fine")
        assert "This isn't yours to do" in texts(shown)

    assert await count_rows(db, AuditEvent, AuditEvent.action == "progress_reported") == 0
    assert await messages_to(db, cast.head_of_service, "progress_report") == []


async def test_twice_or_from_last_weeks_card_changes_nothing_and_shows_this_weeks_card(db):
    cast = await inadequate_work(db)
    last_week = await this_weeks_card(db, cast)
    data = execute_data(last_week, "progress.report")
    wednesday = at(date(2026, 12, 2), 10)
    empty = await act(db, cast.coordinator, "progress.report", now=wednesday, **data, progress=" ")
    first = await act(db, cast.coordinator, "progress.report", now=wednesday, **data, progress="A")
    again = await act(db, cast.coordinator, "progress.report", now=wednesday, **data, progress="B")

    assert "Say briefly how the improvement plan is going" in texts(empty)
    assert again == first
    assert await count_rows(db, AuditEvent, AuditEvent.action == "progress_reported") == 1

    next_tuesday = at(date(2026, 12, 8), 10)
    late = await act(
        db, cast.coordinator, "progress.report", now=next_tuesday, **data, progress="Late one"
    )
    assert "That card was for an earlier week, so nothing was sent" in texts(late)
    assert execute_data(late, "progress.report")["week"] == "2026-W50"
    assert "Last report:" in texts(late) and ": A" in texts(late)
    assert await count_rows(db, AuditEvent, AuditEvent.action == "progress_reported") == 1


async def test_no_prompt_in_a_week_already_reported(db):
    cast = await inadequate_work(db)
    card = await this_weeks_card(db, cast)  # Tue 1 Dec, week 49
    await act(
        db, cast.coordinator, "progress.report", now=at(date(2026, 12, 8), 8),
        **{**execute_data(card, "progress.report"), "week": "2026-W50"}, progress="Early",
    )  # fmt: skip

    sent = await prompts_by_day(db, date(2026, 12, 8), date(2026, 12, 11))

    assert sent == {}


async def test_a_report_after_the_work_reached_good_is_not_needed(db):
    cast = await inadequate_work(db)
    card = await this_weeks_card(db, cast)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.final_grade = Grade.GOOD

    shown = await act(
        db, cast.coordinator, "progress.report", now=at(date(2026, 12, 2), 10),
        **execute_data(card, "progress.report"), progress="Done",
    )  # fmt: skip

    assert "No more weekly reports are needed" in texts(shown)
    assert await count_rows(db, AuditEvent, AuditEvent.action == "progress_reported") == 0
