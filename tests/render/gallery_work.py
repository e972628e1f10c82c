"""Gallery entries for the cards that bring work back to people: owners for service-level
actions, and (below) the decisions waiting on someone."""

from __future__ import annotations

from cards.action_owners import OwnersView, ServiceAction, owners_card
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

WORK_GALLERY: tuple[Example, ...] = (
    example("action-owners", owners_card, OWNERS),
    example("action-owners-done", owners_card, OwnersView(
        audit_id=42, case_ref="EH-26-0002", service="Early Help",
        actions=(ServiceAction(101, "Supervision every four weeks.", "Mon 11 Jan 2027",
                               "Samuel Adeyemi"),),
        candidates=CANDIDATES, outcome="Saved: each owner has been told.")),
    example("action-owners-most", owners_card, OWNERS_MOST),
)  # fmt: skip
