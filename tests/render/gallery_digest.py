"""Gallery entries for the weekly digest and the follow-up cards.

`digest-dataset` is the real thing: the Early Help Head of Service's digest,
built by `send_weekly_digests` from the realistic programme of
tests/scheduler/dataset.py (two cycles, 300 audits) in a throwaway SQLite
database, and taken from the outbox as Teams would receive it.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cards.digest import (
    Decision,
    DigestView,
    GradeMix,
    InadequateWork,
    ModerationChanges,
    OverdueItem,
    OwnerOverdue,
    digest_card,
)
from cards.external_check import (
    FINDINGS_LIMIT,
    CheckedAudit,
    ExternalCheckView,
    external_check_card,
)
from cards.follow_up import (
    DipAuditView,
    EscalationView,
    ReauditResultView,
    ReauditView,
    dip_audit_card,
    escalation_card,
    reaudit_card,
    reaudit_result_card,
)
from tests.render.examples import Example, example
from tests.render.gallery_audits import fill

TODAY = date(2026, 11, 23)
GRADES = ("Outstanding", "Good", "Requires Improvement to be Good", "Inadequate")

DIGEST = DigestView(
    person="Samuel Adeyemi",
    services=["Early Help"],
    week="Week 48, 2026: the seven days since Mon 16 Nov",
    today=TODAY,
    current=GradeMix("November 2026", dict(zip(GRADES, (4, 22, 16, 5), strict=True))),
    previous=GradeMix("October 2026", dict(zip(GRADES, (11, 31, 25, 8), strict=True))),
    allocated=5,
    submitted=11,
    moderated=14,
    changes=ModerationChanges(raised=7, lowered=10, unchanged=30),
    inadequate=[
        InadequateWork("EH-26-0032", "Overdue: urgent issues were due Wed 18 Nov"),
        InadequateWork("EH-26-0041", "Urgent issues confirmed dealt with"),
    ],
    inadequate_total=2,
    overdue=[
        OwnerOverdue(
            "Megan Bowen",
            [
                OverdueItem("Audit", "EH-26-0002", date(2026, 11, 20)),
                OverdueItem("UoPP meeting not booked", "EH-26-0029", date(2026, 11, 20)),
            ],
            2,
        ),
        OwnerOverdue(
            "Patti Fernandez", [OverdueItem("Urgent issues", "EH-26-0032", date(2026, 11, 18))], 1
        ),
    ],  # fmt: skip
    overdue_total=3,
    owners_total=2,
    uopps_booked=12,
    uopps_held=6,
    reaudits=[
        "Early Help audits, May 2026: 14 audits below Good; at least 10% are re-audited "
        "from Mon 30 Nov."
    ],  # fmt: skip
    decisions=[
        Decision(
            "exemption",
            12,
            "Exemption request: case EH-26-0002",
            "Adele Vance asked to be exempt from auditing it on Tue 17 Nov.",
            "Open request EH-26-0002",
        ),
        Decision(
            "dispute",
            40,
            "Disputed grade: case EH-26-0049",
            "Isaiah Langer asked for a decision on Thu 19 Nov.",
            "Open dispute EH-26-0049",
        ),
        Decision(
            "kloe",
            9,
            "Key lines of enquiry: Early Help audits, January 2027",
            "For the January 2027 cycle: approve them or send them back.",
            "Open KLOEs for January 2027",
        ),
    ],  # fmt: skip
    decisions_total=3,
)

QUIET = DigestView(
    person="Helen Whitfield",
    services=["Youth Justice"],
    week=DIGEST.week,
    today=TODAY,
    current=None,
    previous=None,
    allocated=0,
    submitted=0,
    moderated=0,
    changes=ModerationChanges(),
)

_LONG = "Children's Social Care and Early Help Locality Services (North East and Riverside)"
# The longest the database holds: names and titles of 200 characters, case references of 64.
_NAME = ("Ngozi Oluwaseun-Fitzgerald Abernathy-Castellanos " * 5)[:200]
_TITLE = (f"{_LONG}, re-audit of the thematic audits " * 3)[:200]
_REF = ("CSC/2026/000000-" * 4)[:64]
DIGEST_MOST = DigestView(
    person=_NAME,
    services=[_TITLE, _TITLE.upper()],
    week=DIGEST.week,
    today=TODAY,
    current=GradeMix(_TITLE, dict(zip(GRADES, (400, 2200, 1600, 500), strict=True))),
    previous=GradeMix(_TITLE, dict(zip(GRADES, (1100, 3100, 2500, 800), strict=True))),
    allocated=500,
    submitted=480,
    moderated=470,
    changes=ModerationChanges(raised=700, lowered=1000, unchanged=3000),
    inadequate=[
        InadequateWork(_REF, "Overdue: urgent issues were due Wed 18 Nov") for n in range(10)
    ],
    inadequate_total=480,
    overdue=[
        OwnerOverdue(
            _NAME,
            [OverdueItem("UoPP meeting not booked", _REF, date(2026, 11, 20)) for _ in range(5)],
            900,
        )  # fmt: skip
        for n in range(10)
    ],
    overdue_total=9000,
    owners_total=400,
    uopps_booked=300,
    uopps_held=250,
    reaudits=[f"{_TITLE}: 999 audits below Good; at least 10% are re-audited from Mon 30 Nov."]
    * 30,
    decisions=[
        Decision(
            "kloe",
            100 + n,
            f"Key lines of enquiry: {_TITLE}",
            f"{_NAME} asked for a decision on Thu 19 Nov.",
            "Open KLOEs for September 2027",
        )
        for n in range(10)
    ],  # fmt: skip
    decisions_total=250,
)

DIP = DipAuditView(
    case_ref="EH-26-0032",
    service="Early Help",
    team="Family Support",
    grade="Requires Improvement to be Good",
    moderated_on="Tue 13 Oct 2026",
    due_on="Tue 24 Nov 2026",
    weeks=6,
    moved_to_follow_up=True,
)
REAUDIT = ReauditView(
    source="Early Help audits, May 2026",
    service="Early Help",
    below_good=23,
    case_refs=("EH-26-0007", "EH-26-0019", "EH-26-0032"),
    explanation="3 of 23 audits below Good picked at random for re-audit (at least 10%, at "
    "least one), seed 202605.",
    cycle="Re-audit of Early Help audits, May 2026",
)
REAUDIT_PROBLEM = ReauditView(
    **{
        **REAUDIT.__dict__,
        "cycle": None,
        "problem": "2 case(s) cannot be allocated; nothing was opened. EH-26-0007: no trained "
        "auditor outside the case's team.",
    }
)
REAUDIT_MOST = ReauditView(
    **{
        **REAUDIT.__dict__,
        "source": _LONG,
        "below_good": 5000,
        "case_refs": tuple(f"{_REF[:-6]}{n:06d}" for n in range(500)),
        "explanation": REAUDIT.explanation * 5,
    }
)
ESCALATION = EscalationView(
    case_ref="CSC-26-0114",
    service="Children's Social Care",
    team="Child Protection",
    grade="Inadequate",
    moderated_on="Mon 20 Jul 2026",
    months=4,
)


@functools.cache
def dataset_digest() -> dict[str, Any]:
    """The Early Help Head of Service's digest from the realistic programme, as queued."""

    async def build() -> dict[str, Any]:
        from scheduler.digest import send_weekly_digests
        from storage.db import async_upgrade, make_engine, session_factory
        from storage.models import OutboxMessage
        from tests.scheduler.dataset import NOW, build_dataset
        from workflow.calendar import FixedClock
        from workflow.rules import ProgrammeRules

        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'digest.sqlite3'}")
            try:
                await async_upgrade(engine)
                sessions = session_factory(engine)
                async with sessions.begin() as session:
                    world = await build_dataset(session)
                await send_weekly_digests(sessions, FixedClock(NOW), ProgrammeRules())
                head = world.services["EH"].head.id
                async with sessions() as session:
                    message = await session.scalar(
                        select(OutboxMessage).where(OutboxMessage.recipient_id == head)
                    )
                    assert message is not None
                    return dict(message.payload["card"])
            finally:
                await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, build()).result()


REAUDIT_RESULT = ReauditResultView(
    result_id=3,
    source="Early Help audits, May 2026",
    reaudited=3,
    still_below=("EH-26-0007",),
    rest=tuple(f"EH-26-{n:04d}" for n in range(20)),
    offer_all=True,
    report_to="Children Social Care Improvement Board",
)
REAUDIT_RESULT_DONE = ReauditResultView(
    **{**REAUDIT_RESULT.__dict__,
       "allocated": "Re-audit of all work below Good in Early Help audits, May 2026",
       "notice": "The rest was already allocated, so nothing was changed."}
)  # fmt: skip
REAUDIT_IMPROVED = ReauditResultView(
    **{**REAUDIT_RESULT.__dict__, "still_below": (), "offer_all": False, "report_to": ""}
)
CHECK = ExternalCheckView(
    check_id=4,
    service="MASH and Assessment and Intervention",
    period="July 2026 to December 2026",
    drawn="6 of the 41 audits moderated in that period, drawn at random with seed 2837461123 "
    "(recorded, so the draw can be repeated).",
    audits=[
        CheckedAudit(
            case_ref=f"C-10{n:02d}",
            team="Assessment and Intervention Team 2",
            auditor="Adele Brown",
            moderated_by="the moderation group (recorded by Tom Fletcher)",
            practitioner="Nadia Hussain",
            grades="Requires Improvement to be Good, moderated Requires Improvement to be Good",
        )
        for n in range(6)
    ],
    report_to="the Children's Services Continuous Improvement Board (CSCIB)",
)
CHECK_ERROR = ExternalCheckView(
    **{**CHECK.__dict__, "findings": fill(FINDINGS_LIMIT),
       "error": "Write your findings. Nothing was saved."}
)  # fmt: skip
CHECK_RECORDED = ExternalCheckView(
    **{**CHECK.__dict__, "findings": fill(FINDINGS_LIMIT),
       "recorded": "Findings recorded by Dana Reyes (Consultant) on Mon 4 Jan 2027",
       "notice": "The findings were already recorded, so nothing was changed."}
)  # fmt: skip


DIGEST_GALLERY: tuple[Example, ...] = (
    example("digest", digest_card, DIGEST),
    example("digest-quiet", digest_card, QUIET),
    example("digest-most", digest_card, DIGEST_MOST),
    example(
        "digest-with-tracker",
        digest_card,
        DigestView(
            **{
                **DIGEST.__dict__,
                "tracker_url": "https://teams.microsoft.com/l/entity/5d1c5f0e/audit-tracker",
                "reports_url": "https://teams.microsoft.com/l/entity/5d1c5f0e/audit-tracker"
                "?context=%7B%22subEntityId%22%3A%22reports%22%7D",
            }
        ),
    ),
    example("digest-dataset", dataset_digest),
    example("follow-up-dip-audit", dip_audit_card, DIP),
    example("follow-up-reaudit", reaudit_card, REAUDIT),
    example("follow-up-reaudit-not-allocated", reaudit_card, REAUDIT_PROBLEM),
    example("follow-up-reaudit-most", reaudit_card, REAUDIT_MOST),
    example("follow-up-escalation", escalation_card, ESCALATION),
    example("reaudit-result", reaudit_result_card, REAUDIT_RESULT),
    example("reaudit-result-allocated", reaudit_result_card, REAUDIT_RESULT_DONE),
    example("reaudit-result-improved", reaudit_result_card, REAUDIT_IMPROVED),
    example("external-check", external_check_card, CHECK),
    example("external-check-error", external_check_card, CHECK_ERROR),
    example("external-check-recorded", external_check_card, CHECK_RECORDED),
)
