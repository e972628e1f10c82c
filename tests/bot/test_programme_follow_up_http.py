"""What follows moderation is the programme's choice: a UoPP meeting after every audit
(Tower Hamlets Early Help), only below Good (Tower Hamlets' QAF), or none (City of London,
whose recommendations are tracked instead). Moderated over HTTP as the moderator does."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.models import Cycle, Meeting
from tests.bot.test_moderation_http import TUESDAY, ask, moderate
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    Cast,
    agree_all,
    cast_in,
    count_rows,
    disagree,
    load_audit,
    texts,
)
from tests.harness import RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.moderation import OVERALL
from workflow.programme import shipped_programmes
from workflow.states import AuditState


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    server, running = await start_bot(
        bot_settings(db, identity), connector, identity, FixedClock(TUESDAY)
    )
    yield running
    await running.http.close()
    await server.close()


async def under_programme(db: Database, cast: Cast, programme_id: str, **changes: str) -> None:
    """Put the shipped programme in force for the cast's service (its code in place of the
    file's first service's), with `changes` (old text: new text), and pin the cast's cycle
    to it, as proposing the cycle under it would."""
    text = shipped_programmes()[programme_id]
    for old, new in changes.items():
        text = text.replace(old, new)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        cycle = await session.get(Cycle, audit.cycle_id)
        service = await repo.get_service(session, cycle.service_id)
        first = re.search(r'code = "([^"]+)"', text).group(1)
        text = text.replace(f'"{first}"', f'"{service.code}"')
        loaded = await load_programme(session, text, actor="test", now=TUESDAY)
        cycle.programme_version_id = loaded.version.id


async def moderated(bot: RunningBot, db: Database, cast: Cast, grade: Grade) -> dict:
    """The moderator's result card after moderating the audit to `grade`."""
    card = await ask(db, cast, TUESDAY)
    answers = agree_all()
    if grade is not Grade.GOOD:
        answers.update(disagree(OVERALL, grade, "The work falls short of Good"))
    return await moderate(bot, db, cast, card, **answers)


async def meetings(db: Database, cast: Cast) -> int:
    return await count_rows(db, Meeting, Meeting.audit_id == cast.audit_id)


async def test_with_no_follow_up_meeting_moderation_ends_the_audits_dates(db, bot):
    cast = await cast_in(db, overall=Grade.GOOD)
    await under_programme(db, cast, "city-of-london")

    shown = await moderated(bot, db, cast, Grade.REQUIRES_IMPROVEMENT)

    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED
    assert audit.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.uopp_due_at is None
    assert await meetings(db, cast) == 0
    assert "UoPP" not in texts(shown)


async def test_a_meeting_below_good_only_is_held_for_work_below_good(db, bot):
    below_good = {'meeting = "every_audit"': 'meeting = "below_good"'}
    good = await cast_in(db, overall=Grade.GOOD)
    await under_programme(db, good, "th-early-help", **below_good)
    await moderated(bot, db, good, Grade.GOOD)
    audit = await load_audit(db, good.audit_id)
    assert (audit.state, audit.uopp_due_at) == (AuditState.MODERATED, None)
    assert await meetings(db, good) == 0

    short = await cast_in(db, overall=Grade.GOOD)
    await under_programme(db, short, "th-early-help", **below_good)
    shown = await moderated(bot, db, short, Grade.REQUIRES_IMPROVEMENT)
    audit = await load_audit(db, short.audit_id)
    assert audit.uopp_due_at is not None
    assert await meetings(db, short) == 1
    assert "UoPP meeting by" in texts(shown)


async def test_without_a_programme_file_every_audit_still_meets(db, bot):
    cast = await cast_in(db, overall=Grade.GOOD)

    await moderated(bot, db, cast, Grade.GOOD)

    assert (await load_audit(db, cast.audit_id)).uopp_due_at is not None
    assert await meetings(db, cast) == 1
