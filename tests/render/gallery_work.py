"""Gallery entries for the cards that bring work back to people: owners for service-level
actions, and (below) the decisions waiting on someone."""

from __future__ import annotations

from datetime import date

from cards.action_owners import OwnersView, ServiceAction, owners_card
from cards.my_audits import AuditTask, my_audits_card
from tests.render.examples import LONGEST, Example, example

CANDIDATES = (
    ("31", "Grace Mensah (EH Coordinator Lead / Group Manager)"),
    ("32", "Patti Fernandez (Team Manager)"),
    ("33", "Samuel Adeyemi (Head of Service)"),
)
OWNERS = OwnersView(
    audit_id=42,
    case_ref="EH-26-0002",
    service="Early Help",
    actions=(
        ServiceAction(101, "Supervision every four weeks across the team.", "Mon 11 Jan 2027"),
        ServiceAction(
            102, "Refresh the family pledge training.", "Fri 26 Feb 2027", "Grace Mensah"
        ),
    ),
    candidates=CANDIDATES,
)
OWNERS_MOST = OwnersView(
    audit_id=42,
    case_ref="EH-26-0002",
    service="Early Help",
    actions=tuple(ServiceAction(200 + n, LONGEST[:2000], "Mon 11 Jan 2027") for n in range(5)),
    candidates=tuple((str(n), f"Person number {n} (Team Manager)") for n in range(150)),
    errors={200: "Choose someone from the list."},
)

WAITING = (
    AuditTask(
        "EH-26-0002",
        "Audit Team: check the audit is complete",
        None,
        date(2026, 11, 25),
        True,
        ("Open", "waiting.open", {"item": "completeness", "item_id": 7}),
    ),
    AuditTask(
        "Early Help audits, February 2027",
        "Head of Service: approve the KLOEs",
        None,
        None,
        False,
        ("Open", "waiting.open", {"item": "kloe", "item_id": 3, "role": "head_of_service"}),
    ),
    AuditTask(
        "CSC-26-0142",
        "Auditor: finish and submit the audit",
        "in progress",
        date(2026, 12, 4),
        False,
        None,
    ),
)

WORK_GALLERY: tuple[Example, ...] = (
    example("my-audits-waiting", my_audits_card, WAITING, today=date(2026, 11, 27)),
    example("action-owners", owners_card, OWNERS),
    example("action-owners-done", owners_card, OwnersView(
        audit_id=42, case_ref="EH-26-0002", service="Early Help",
        actions=(ServiceAction(101, "Supervision every four weeks.", "Mon 11 Jan 2027",
                               "Samuel Adeyemi"),),
        candidates=CANDIDATES, outcome="Saved: each owner has been told.")),
    example("action-owners-most", owners_card, OWNERS_MOST),
)  # fmt: skip
