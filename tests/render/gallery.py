"""Every card the bot can send, built from realistic example data.

The gallery is what the render tests draw and check: one `example(...)` line
per card (and per state of a card worth seeing: with buttons, decided,
empty, at the most it can list). A card builder in `cards/` with no entry
here fails `test_every_card_builder_has_a_gallery_entry`, so a new card
cannot ship unrendered.

Names are the screenshots' file names, so keep them short and unique.
The `-most` entries fill a card to the limits the bot allows (every list at
its cap, free text at `MAX_TEXT`), so the 80 KB check covers the worst case.
"""

from __future__ import annotations

from datetime import date, timedelta

from cards.allocation import (
    AllocationView,
    auditor_card,
    moderator_card,
    practitioner_card,
    team_manager_card,
)
from cards.cycle_form import cycle_form_card
from cards.cycle_status import CycleSummary, OverdueAudit, Unreachable, cycle_status_card
from cards.exemptions import (
    ExemptionView,
    LeaverView,
    exemption_decision_card,
    leaver_card,
    moderator_leaver_card,
    reallocate_card,
)
from cards.help import help_card
from cards.kloes import KloeProposal, kloe_approval_card
from cards.my_actions import ActionItem, my_actions_card
from cards.my_audits import AuditTask, my_audits_card, not_in_staff_list_card
from cards.notice import notice_card
from cards.status import (
    AuditStatus,
    DueDate,
    audit_not_found_card,
    bad_reference_card,
    status_card,
)
from cards.welcome import welcome_card
from tests.render.examples import LONGEST, Example, example
from tests.render.gallery_audits import AUDIT_GALLERY
from tests.render.gallery_digest import DIGEST_GALLERY
from tests.render.gallery_progress import PROGRESS_GALLERY
from tests.render.gallery_reminders import REMINDER_GALLERY
from tests.render.gallery_uopp_booking import UOPP_BOOKING_GALLERY
from tests.render.gallery_uopp_record import UOPP_RECORD_GALLERY
from tests.render.gallery_work import WORK_GALLERY

TODAY = date(2026, 11, 23)  # a Monday

KLOES = (
    "Is the child's lived experience visible in the record and the plan?",
    "Does management oversight drive the plan forward without drift?",
    "How well does practice understand and respond to the child's identity?",
)

ALLOCATION = AllocationView(
    audit_id=42,
    case_ref="CSC-26-0142",
    service="Children's Social Care",
    team="Child Protection",
    practitioner="Hannah Cohen",
    team_manager="Peter Walsh",
    auditor="Megan Bowen",
    moderator="Olivia Brennan",
    tool="Children's Social Care audit tool",
    kloes=KLOES,
    audit_due="Fri 11 Dec 2026",
    moderation_due="Thu 31 Dec 2026",
)
ALLOCATION_NO_KLOES = AllocationView(**{**ALLOCATION.__dict__, "kloes": ()})

PROPOSAL = KloeProposal(
    cycle_id=7,
    title="Children's Social Care, December 2026",
    service="Children's Social Care",
    month="December 2026",
    kloes=KLOES,
    plan="6 cases at random from the service's open cases (seed 20261122)",
    proposed_by="Alex Wilber",
    decisions=(
        ("Head of Service", "Approved by Helen Whitfield"),
        ("EH Coordinator Lead / Group Manager", "Waiting"),
        ("Divisional Director", "Waiting"),
    ),
)
PROPOSAL_MOST = KloeProposal(
    **{**PROPOSAL.__dict__, "kloes": tuple(LONGEST[:400] for _ in range(10))}
)

EXEMPTION = ExemptionView(
    request_id=3,
    audit_id=42,
    case_ref="CSC-26-0142",
    auditor="Megan Bowen",
    reason="I supervised this practitioner until September, so I'm not independent.",
    state="requested",
    decided_by=None,
    comment=None,
)
EXEMPTION_DECLINED = ExemptionView(
    **{
        **EXEMPTION.__dict__,
        "state": "declined",
        "decided_by": "Helen Whitfield",
        "comment": "Supervision ended long enough ago; please go ahead.",
    }
)
EXEMPTION_APPROVED = ExemptionView(
    **{**EXEMPTION.__dict__, "state": "approved", "decided_by": "Helen Whitfield"}
)
EXEMPTION_MOST = ExemptionView(
    **{**EXEMPTION_DECLINED.__dict__, "reason": LONGEST, "comment": LONGEST}
)

LEAVER = LeaverView(audit_id=42, case_ref="EH-10234", leaver="Alex Wilber", state="in progress")

SERVICES = (("CSC", "Children's Social Care"), ("EH", "Early Help"))
MONTHS = tuple(
    (f"{date(2026 + (11 + n) // 12, (11 + n) % 12 + 1, 1):%Y-%m}",
     f"{date(2026 + (11 + n) // 12, (11 + n) % 12 + 1, 1):%B %Y}")
    for n in range(6)
)  # fmt: skip

COMMANDS = (
    ("help", "Show this list of what you can ask me."),
    ("my audits", "What is yours to do in the audits you are part of, soonest due first."),
    ("my actions", "The actions from audits that you own and have not finished."),
    ("status", "One case's audit: type status and the case reference, e.g. status CSC-26-0001."),
    ("cycle status", "Audit Team: where each open cycle stands, and what is overdue."),
    ("open cycle", "Audit Team: propose a new audit cycle; its KLOEs go for approval first."),
)

TASKS = (
    AuditTask("CSC-26-0142", "You're auditing it", "allocated", TODAY - timedelta(days=3), True),
    AuditTask("EH-26-0031", "You're moderating it", "submitted", TODAY + timedelta(days=4), False),
    AuditTask("CSC-26-0097", "Your work is being audited", "in progress", None, False),
)
TASKS_MOST = tuple(
    AuditTask(f"CSC-26-{n:04d}", "You're auditing it", "allocated", TODAY + timedelta(n), n < 5)
    for n in range(60)
)

ACTIONS = (
    ActionItem(
        "CSC-26-0142",
        "Update the chronology so the child's views from the last two visits are recorded.",
        "Child-level",
        "open",
        TODAY - timedelta(days=2),
        True,
        318,
    ),
    ActionItem(
        "EH-26-0031",
        "Agree a team approach to family network meetings.",
        "Service-level",
        "partly done",
        TODAY + timedelta(days=40),
        False,
        319,
    ),
)
ACTIONS_MOST = tuple(
    ActionItem(f"CSC-26-{n:04d}", LONGEST, "Child-level", "open", TODAY, n % 2 == 0, 100_000 + n)
    for n in range(60)
)

STATUS = AuditStatus(
    case_ref="CSC-26-0142",
    cycle_title="Children's Social Care, December 2026",
    cycle_open=True,
    state="moderated",
    team="Child Protection",
    practitioner="Hannah Cohen",
    auditor="Megan Bowen",
    moderator="Olivia Brennan",
    due_dates=(
        DueDate("Audit due", date(2026, 12, 11), False),
        DueDate("Moderation due", date(2026, 12, 31), False),
        DueDate("UoPP meeting due", TODAY - timedelta(days=1), True),
    ),
    grades=(("Initial grade", "Requires improvement"), ("Moderated grade", "Good")),
)
STATUS_EARLIER = AuditStatus(
    case_ref="CSC-26-0142",
    cycle_title="Children's Social Care, June 2026",
    cycle_open=False,
    state="closed",
    team="Child Protection",
    practitioner="Hannah Cohen",
    auditor="Lynne Robbins",
    moderator=None,
)

CYCLE = CycleSummary(
    title="Children's Social Care, December 2026",
    service="Children's Social Care",
    total=9,
    counts=(("allocated", 5), ("in progress", 2), ("submitted", 1), ("moderated", 1)),
    moderation_due_on=date(2026, 12, 31),
    overdue=(
        OverdueAudit("CSC-26-0142", "audit", TODAY - timedelta(days=3), "auditor Megan Bowen"),
        OverdueAudit("CSC-26-0097", "moderation", TODAY - timedelta(days=1), "Olivia Brennan"),
    ),
    unreachable=(Unreachable("Ahmed Farouk", "has not installed auditbot"),),
)
CYCLE_QUIET = CycleSummary(
    title="Early Help, December 2026",
    service="Early Help",
    total=6,
    counts=(("allocated", 6),),
    moderation_due_on=None,
)
CYCLE_MOST = CycleSummary(
    title="Children's Social Care, December 2026",
    service="Children's Social Care",
    total=500,
    counts=tuple((f"state {n}", n) for n in range(1, 12)),
    moderation_due_on=date(2027, 1, 29),
    overdue=tuple(
        OverdueAudit(f"CSC-26-{n:04d}", "UoPP meeting", TODAY, "team manager Rebecca Thompson")
        for n in range(80)
    ),
    unreachable=tuple(
        Unreachable(f"Oluwaseun Bello-Williamson {n}", "Teams refused the message (403)")
        for n in range(80)
    ),
)

ROLES = (("Auditor", "Children's Social Care"), ("Team Manager", "Child Protection"))

GALLERY: tuple[Example, ...] = (
    example("welcome", welcome_card, "Megan Bowen", ROLES),
    example("welcome-no-roles", welcome_card, "Sam Taylor", ()),
    example("help", help_card, COMMANDS),
    example("help-refused", help_card, COMMANDS[:4], intro="Only the Audit Team can use that."),
    example("notice", notice_card, "This isn't yours to do", "Only the auditor can do this."),
    example(
        "notice-details",
        notice_card,
        "Sent for approval",
        "The KLOEs went to the Head of Service, the coordinator and the Divisional Director.",
        (("Cycle", "Children's Social Care, December 2026"), ("Cases", "6")),
        footnote="I'll tell you when they have all approved.",
    ),
    example("allocation-auditor", auditor_card, ALLOCATION),
    example("allocation-auditor-exempting", auditor_card, ALLOCATION,
            exemption="You asked to be exempt. Waiting for the Head of Service."),
    example("allocation-moderator", moderator_card, ALLOCATION),
    example("allocation-practitioner", practitioner_card, ALLOCATION),
    example("allocation-team-manager", team_manager_card, ALLOCATION),
    example("allocation-auditor-no-kloes", auditor_card, ALLOCATION_NO_KLOES),
    example("kloe-approval", kloe_approval_card, PROPOSAL, role="coordinator",
            role_label="EH Coordinator Lead / Group Manager"),
    example("kloe-approval-decided", kloe_approval_card, PROPOSAL, role="head_of_service",
            role_label="Head of Service",
            outcome="The Head of Service's decision is recorded. Waiting for the others."),
    example("kloe-approval-most", kloe_approval_card, PROPOSAL_MOST, role="head_of_service",
            role_label="Head of Service"),
    example("exemption-decision", exemption_decision_card, EXEMPTION),
    example("exemption-declined", exemption_decision_card, EXEMPTION_DECLINED),
    example("exemption-decision-most", exemption_decision_card, EXEMPTION_MOST),
    example("reallocate", reallocate_card, EXEMPTION_APPROVED),
    example("reallocate-done", reallocate_card, EXEMPTION_APPROVED,
            outcome="Reallocated to Lynne Robbins, who has been told."),
    example("leaver-reallocate", leaver_card, LEAVER),
    example("leaver-reallocate-done", leaver_card, LEAVER,
            outcome="Reallocated to Lynne Robbins, who has been told."),
    example("leaver-moderator", moderator_leaver_card, LEAVER),
    example("leaver-moderator-done", moderator_leaver_card, LEAVER,
            outcome="Lynne Robbins moderates it now and has been sent the moderation form."),
    example("cycle-form", cycle_form_card, SERVICES, MONTHS),
    example("cycle-form-error", cycle_form_card, SERVICES, MONTHS,
            values={"service": "EH", "month": MONTHS[1][0], "cases": "600", "kloes": KLOES[0]},
            error="Choose a month from the list and a number of cases from 1 to 500."),
    example("cycle-form-most", cycle_form_card, SERVICES, MONTHS,
            values={"service": "CSC", "month": MONTHS[0][0], "cases": "12", "kloes": LONGEST},
            error=LONGEST),
    example("my-audits", my_audits_card, TASKS, today=TODAY),
    example("my-audits-empty", my_audits_card, (), today=TODAY),
    example("my-audits-most", my_audits_card, TASKS_MOST, today=TODAY),
    example("not-in-staff-list", not_in_staff_list_card),
    example("my-actions", my_actions_card, ACTIONS, today=TODAY),
    example("my-actions-empty", my_actions_card, (), today=TODAY),
    example("my-actions-most", my_actions_card, ACTIONS_MOST, today=TODAY),
    example("status", status_card, (STATUS, STATUS_EARLIER), today=TODAY),
    example("status-most", status_card, (STATUS,) * 8, today=TODAY),
    example("status-not-found", audit_not_found_card),
    example("status-no-reference", bad_reference_card, missing=True),
    example("status-bad-reference", bad_reference_card, missing=False),
    example("cycle-status", cycle_status_card, (CYCLE, CYCLE_QUIET), today=TODAY),
    example("cycle-status-none", cycle_status_card, (), today=TODAY),
    example("cycle-status-most", cycle_status_card, (CYCLE_MOST,) * 12, today=TODAY,
            tracker_url="https://teams.microsoft.com/l/entity/5d1c5f0e/audit-tracker"),
)  # fmt: skip

GALLERY += AUDIT_GALLERY
GALLERY += UOPP_BOOKING_GALLERY
GALLERY += UOPP_RECORD_GALLERY
GALLERY += DIGEST_GALLERY
GALLERY += REMINDER_GALLERY
GALLERY += PROGRESS_GALLERY
GALLERY += WORK_GALLERY
