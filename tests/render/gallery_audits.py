"""Gallery entries for an audit's own cards: the wizard, the practitioner's section, the
completeness check, moderation, disputes and the Inadequate fast path.

The wizard is drawn for every step of every shipped audit tool, blank, and
again with every field filled to its limit in non-ASCII text (the most
bytes a card can carry), an error under each field and the most
recommendation rows; likewise the summary with every step filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cards.completeness import CompletenessView, completeness_card, returned_card
from cards.disputes import (
    DecisionRow,
    DisputeView,
    copy_card,
    decision_card,
    disputer_card,
    respond_card,
)
from cards.inadequate import FastPathView, fast_path_card
from cards.moderation import (
    ModeratedSection,
    ModerationView,
    ResultRow,
    ResultView,
    UrgentIssuesView,
    moderation_card,
    result_card,
    urgent_issues_card,
)
from cards.panel import DECISION_LIMIT, PanelView, panel_card
from cards.part_b import ANSWER_LIMIT, PartBView, answer_field, part_b_card
from cards.practitioner import (
    CHAT,
    ReflectionView,
    prompt_key,
    reflection_request_card,
    several_requests_card,
)
from cards.wizard import (
    STALE_NOTICE,
    WizardView,
    closed_card,
    stopped_card,
    submitted_card,
    wizard_card,
)
from dialogs.moderation import moderation_questions
from tests.render.examples import LONGEST, Example, example
from workflow.completeness import Gap
from workflow.grades import Grade
from workflow.moderation import OVERALL, field_id
from workflow.tools import AuditTool, available_tools, load_tool
from workflow.wizard_rules import MAX_ROWS, WizardStep, step_fields, wizard_steps

CASE = "CSC-26-0142"
KLOES = (
    "Is the child's lived experience visible in the record and the plan?",
    "Does management oversight drive the plan forward without drift?",
)
OWNERS = (("11", "Hannah Cohen (practitioner)"), ("12", "Peter Walsh (team manager)"))
TODAY = "2026-12-09"
# Non-ASCII text travels escaped, six bytes a character: the heaviest a typed answer can be.
HEAVY = "Évaluation approfondie du dossier — ça reste à vérifier. " * 80


def fill(limit: int) -> str:
    return HEAVY[:limit]


def filled(step: WizardStep, *, kloe_count: int) -> dict[str, str]:
    """Every field of a step at its limit, with the most recommendation rows."""
    mine = {"rows": str(MAX_ROWS)}
    owners = frozenset(owner for owner, _ in OWNERS)
    for field in step_fields(step, mine, kloe_count=kloe_count, owners=owners):
        if field.choices:
            mine[field.id] = sorted(field.choices)[0]
        elif field.limit == len(TODAY):
            mine[field.id] = "2026-12-18"
        else:
            mine[field.id] = fill(field.limit)
    return mine


def reflection(tool: AuditTool, answers: Mapping[str, str]) -> ReflectionView | None:
    section = next((s for s in tool.sections if s.kind.value == "practitioner_reflection"), None)
    if section is None:
        return None
    prompts = tuple(getattr(section, "prompts", ()) or ("How did you apply the practice model?",))
    return ReflectionView(
        audit_id=42,
        case_ref=CASE,
        auditor="Megan Bowen",
        title=section.title,
        guidance="",
        prompts=prompts,
        answers=answers,
        saved_on="Tue 8 Dec" if answers else None,
        can_change=False,
    )


def wizard_view(tool: AuditTool, step: WizardStep, *, full: bool) -> WizardView:
    steps = wizard_steps(tool)
    answers = {s.id: filled(s, kloe_count=len(KLOES)) for s in steps} if full else {}
    mine = answers.get(step.id, {})
    return WizardView(
        audit_id=42,
        version=3,
        rev=5,
        case_ref=CASE,
        tool_title=tool.title,
        steps=steps,
        step=step,
        answers=answers,
        kloes=KLOES,
        owners=OWNERS,
        reflection=reflection(tool, {CHAT: fill(4000)} if full else {}),
        today=TODAY,
        errors={key: "Give a rationale for this grade." for key in mine if key != "rows"},
        notice="The Audit Team returned this audit: see what to put right." if full else None,
        gaps=tuple(Gap(s.id, f"{s.title}: the rationale is empty.") for s in steps) if full else (),
        returned=full,
    )


def wizard_examples() -> tuple[Example, ...]:
    entries = []
    for tool in available_tools():
        for number, step in enumerate(wizard_steps(tool), 1):
            name = f"wizard-{tool.id.replace('_', '-')}-{number:02d}"
            for full in (False, True):
                entries.append(
                    example(f"{name}{'-most' if full else ''}", wizard_card,
                            wizard_view(tool, step, full=full))
                )  # fmt: skip
    return tuple(entries)


PROMPTS = (
    "How did you use the practice model to understand the child's lived experience?",
    "What difference has your work made for the child?",
)
REFLECTION = ReflectionView(
    audit_id=42,
    case_ref=CASE,
    auditor="Megan Bowen",
    title="Practitioner's section: how I applied the practice model",
    guidance="Write in your own words; your auditor will talk it through with you.",
    prompts=PROMPTS,
    answers={prompt_key(1): "I used the family network meeting to hear from the child."},
    saved_on="Mon 7 Dec",
    can_change=True,
)
REFLECTION_MOST = ReflectionView(
    **{
        **REFLECTION.__dict__,
        "prompts": tuple(f"{LONGEST[:300]} ({n})" for n in range(8)),
        "answers": {CHAT: fill(4000), **{prompt_key(n): fill(2000) for n in range(1, 9)}},
    }
)

COMPLETENESS = CompletenessView(
    audit_id=42,
    version=4,
    case_ref=CASE,
    auditor="Megan Bowen",
    practitioner="Hannah Cohen",
    grade="Requires improvement",
    submitted_on="Wed 9 Dec 2026",
    round=1,
    gaps=("Recommendations: a recommendation has no owner.",),
    contacted=False,
    default_due="2026-12-14",
    earliest_due=TODAY,
)
COMPLETENESS_MOST = CompletenessView(
    **{
        **COMPLETENESS.__dict__,
        "round": 3,
        "gaps": tuple(f"{LONGEST[:200]} ({n})" for n in range(30)),
        "error": "Say what the auditor must put right.",
        "values": {"reasons": fill(2000), "invalid_reasons": fill(2000), "due": "2026-12-14"},
    }
)

SECTIONS = (
    ModeratedSection("impact", "Impact on the child", "Do you agree with the grade?", True,
                     Grade.REQUIRES_IMPROVEMENT, "The plan is not yet making a difference."),
    ModeratedSection("voice", "The child's voice", "Do you agree with the grade?", True,
                     Grade.GOOD, "The child's words are recorded at every visit."),
    ModeratedSection("kloes", "Key lines of enquiry", "Is this section complete and fair?",
                     False),
    ModeratedSection(OVERALL, "Overall grade", "Do you agree with the overall grade?", True,
                     Grade.REQUIRES_IMPROVEMENT, "Good relationships; drift in the plan."),
)  # fmt: skip
MODERATION = ModerationView(
    audit_id=42,
    version=5,
    case_ref=CASE,
    auditor="Megan Bowen",
    practitioner="Hannah Cohen",
    tool="Children's Social Care audit tool",
    due="Thu 31 Dec 2026",
    fast_path=False,
    sections=SECTIONS,
)


def _most_questions() -> tuple[ModeratedSection, ...]:
    """Every question of the tool with the most, each initial rationale as long as allowed."""
    tool = max(available_tools(), key=lambda tool: len(moderation_questions(tool)))
    asked = tuple(
        ModeratedSection(key, tool.section(key).title, question, graded,
                         Grade.INADEQUATE if graded else None, fill(4000))
        for key, question, graded in moderation_questions(tool)
    )  # fmt: skip
    overall = ModeratedSection(OVERALL, f"Overall grade ({tool.overall_section.title})",
                               tool.moderation.overall_question, True, Grade.INADEQUATE,
                               fill(4000))  # fmt: skip
    return (*asked, overall)


MODERATION_MOST = ModerationView(
    **{**MODERATION.__dict__, "fast_path": True, "sections": _most_questions()}
)
MODERATION_MOST_VALUES = {
    field_id(kind, section.key): value
    for section in MODERATION_MOST.sections
    for kind, value in (("agree", "disagree"), ("grade", "good"), ("why", fill(2000)))
} | {"actions_arising": fill(2000)}

RESULT = ResultView(
    audit_id=42,
    version=6,
    case_ref=CASE,
    auditor="Megan Bowen",
    moderator="Olivia Brennan",
    practitioner="Hannah Cohen",
    columns=("Auditor", "Moderator"),
    rows=(
        ResultRow("Impact on the child", ("Requires improvement", "Good"),
                  "Changed: the plan is making a difference."),
        ResultRow("The child's voice", ("Good", "Good"),
                  "Moderator's comment: the child's wishes are quoted and acted on."),
        ResultRow("Overall grade", ("Requires improvement", "Good"), "Changed."),
    ),
    headline="The moderator changed the overall grade to Good.",
    status="You can dispute the moderated grade within 5 working days.",
    actions_arising="Share the chronology template with the team at the next meeting.",
)  # fmt: skip
RESULT_DECIDED = ResultView(
    **{**RESULT.__dict__, "columns": ("Auditor", "Moderator", "Decision"),
       "rows": tuple(ResultRow(row.title, (*row.grades, "Good"), row.note) for row in RESULT.rows),
       "headline": "The Head of Service decided the dispute: the grade is Good."}
)  # fmt: skip
RESULT_MOST = ResultView(
    **{**RESULT_DECIDED.__dict__,
       "rows": tuple(ResultRow(f"Section {n}", ("Inadequate", "Good", "Good"), fill(1200))
                     for n in range(14)),
       "extra": tuple((f"Fact {n}", fill(200)) for n in range(5)),
       "actions_arising": fill(2000)}
)  # fmt: skip
DISPUTE = DisputeView(
    audit_id=42,
    version=7,
    case_ref=CASE,
    raised_by="Hannah Cohen",
    reason="The family's own feedback shows the plan is working.",
    state="raised",
    state_label="Waiting for the moderator",
)
DISPUTE_ESCALATED = DisputeView(
    **{**DISPUTE.__dict__, "state": "escalated",
       "state_label": "Waiting for the Head of Service or the Audit Team",
       "moderator_response": "I stand by the grade: the plan has drifted since October.",
       "escalation_note": "We could not agree."}
)  # fmt: skip
DISPUTE_DECIDED = DisputeView(
    **{**DISPUTE_ESCALATED.__dict__, "state": "decided", "state_label": "Decided",
       "decided_by": "Helen Whitfield", "decision": "The grade is Good."}
)  # fmt: skip
DISPUTE_MOST = DisputeView(
    **{**DISPUTE_DECIDED.__dict__, "reason": fill(4000), "moderator_response": fill(4000),
       "escalation_note": fill(4000), "decision": fill(4000)}
)  # fmt: skip
DECISION_ROWS = (
    DecisionRow("impact", "Impact on the child", Grade.GOOD),
    DecisionRow(OVERALL, "Overall grade", Grade.GOOD),
)
FAST_PATH = FastPathView(
    audit_id=42,
    case_ref=CASE,
    practitioner="Hannah Cohen",
    team_manager="Peter Walsh",
    auditor="Megan Bowen",
    moderator="Olivia Brennan",
    moderation_due="Thu 10 Dec 2026",
    urgent_days=2,
    uopp_days=3,
)
URGENT = UrgentIssuesView(
    audit_id=42, version=8, case_ref=CASE, practitioner="Hannah Cohen", due="Mon 14 Dec 2026"
)
URGENT_DONE = UrgentIssuesView(
    **{**URGENT.__dict__, "confirmed": "Confirmed by Peter Walsh on Fri 11 Dec: visits weekly."}
)
_HILLINGDON_PART_B = load_tool("hillingdon_monthly_audit").part_b
assert _HILLINGDON_PART_B is not None
PART_B = PartBView(
    audit_id=42, version=8, case_ref=CASE, practitioner="Hannah Cohen",
    team_manager="Peter Walsh", grade="Good", due="Wed 6 Jan 2027", safeguarding=False,
    title=_HILLINGDON_PART_B.title, guidance=_HILLINGDON_PART_B.guidance,
    prompts=_HILLINGDON_PART_B.prompts,
)  # fmt: skip
PART_B_DONE = PartBView(
    **{**PART_B.__dict__, "recorded": "Recorded by Peter Walsh on Mon 4 Jan 2027",
       "answers": tuple(fill(ANSWER_LIMIT) for _ in PART_B.prompts)}
)  # fmt: skip
PANEL = PanelView(
    audit_id=42, case_ref=CASE, reviewer="Rebecca Thompson", practitioner="Hannah Cohen",
    initial_grade="Good", tier_one_grade=Grade.GOOD, tier_one_by="Rukhsana Begum",
    meeting="Mon 7 Dec 2026, 09:00 to 10:30",
    members=("Olivia Grant", "Rukhsana Begum", "Helen Whitfield"), stood_aside=("Marcus Bell",),
)  # fmt: skip
GAPS = (Gap("_conversation", "The audit conversation with the practitioner is not recorded."),)
DEC = {field_id("grade", row.key): "good" for row in DECISION_ROWS}
FAST_PATH_PARTS = ("practitioner", "team_manager", "coordinator", "audit_manager",
                   "head_of_service")  # fmt: skip


def _decision_most() -> dict[str, Any]:
    rows = tuple(DecisionRow(f"s{n}", f"Section {n}", Grade.INADEQUATE) for n in range(14))
    values = {field_id("grade", row.key): "good" for row in rows}
    errors = {key: "Choose a grade." for key in values}
    notice = "Someone else decided first; this is how it stands."
    return decision_card(RESULT_MOST, DISPUTE_MOST, rows, values=values, errors=errors,
                         notice=notice)  # fmt: skip


STALE_TOOL = load_tool("col_practice_impact_review")

AUDIT_GALLERY: tuple[Example, ...] = (
    *wizard_examples(),
    example("wizard-stopped", stopped_card, CASE, 42, "Impact on the child"),
    example("wizard-submitted", submitted_card, CASE, "Requires improvement", 3, GAPS,
            "Wed 9 Dec 2026"),
    example("wizard-closed", closed_card, CASE, "submitted"),
    example("wizard-closed-unsaved", closed_card, CASE, "submitted",
            (("Comments", LONGEST), ("Grade", "Inadequate"))),
    example("wizard-stale", wizard_card, replace(
        wizard_view(STALE_TOOL, wizard_steps(STALE_TOOL)[3], full=True), notice=STALE_NOTICE,
        unsaved=tuple((f"Answer {n}", LONGEST) for n in range(2)))),
    example("wizard-stale-most", wizard_card, replace(
        wizard_view(STALE_TOOL, wizard_steps(STALE_TOOL)[-2], full=True), notice=STALE_NOTICE,
        unsaved=tuple((f"{n}. What should happen", LONGEST) for n in range(40)))),
    example("reflection-request", reflection_request_card, REFLECTION),
    example("reflection-request-error", reflection_request_card, REFLECTION,
            error="Write something in at least one answer.", outcome="Saved."),
    example("reflection-request-most", reflection_request_card, REFLECTION_MOST),
    example("reflection-closed", reflection_request_card,
            ReflectionView(**{**REFLECTION.__dict__, "can_change": False})),
    example("reflection-late", reflection_request_card,
            ReflectionView(**{**REFLECTION.__dict__, "answers": {}, "can_change": False}),
            unsaved=(("How did you apply the practice model?", LONGEST[:1500]),)),
    example("reflection-which-audit", several_requests_card, ("CSC-26-0142", "EH-26-0031")),
    example("completeness", completeness_card, COMPLETENESS),
    example("completeness-most", completeness_card, COMPLETENESS_MOST),
    example("completeness-moderated-first", completeness_card,
            replace(COMPLETENESS, moderated_first=True, moderator_asked=True)),
    example("completeness-decided", completeness_card,
            CompletenessView(**{**COMPLETENESS.__dict__, "gaps": (),
                                "outcome": "Accepted by Alex Wilber: sent for moderation."})),
    example("completeness-returned", returned_card, CASE, 42, "Alex Wilber",
            "Add an owner to the second recommendation.", "Mon 14 Dec 2026",
            ("Recommendations: a recommendation has no owner.",)),
    example("moderation", moderation_card, MODERATION),
    example("moderation-most", moderation_card, MODERATION_MOST, values=MODERATION_MOST_VALUES,
            errors={key: "Give the moderated grade." for key in MODERATION_MOST_VALUES},
            notice="Someone saved this moderation first; here it is as it stands."),
    example("moderation-result", result_card, RESULT),
    example("moderation-result-dispute", result_card, RESULT, dispute=True,
            error="Give your reason.", reason="The family's feedback."),
    example("moderation-result-most", result_card, RESULT_MOST, dispute=True, reason=fill(2000)),
    example("moderation-result-ask-panel", result_card, RESULT, ask_panel=True,
            error="Give your reason: the panel's chair reads it.", reason=fill(2000)),
    example("urgent-issues", urgent_issues_card, URGENT),
    example("urgent-issues-error", urgent_issues_card, URGENT, error="Say briefly what was done.",
            note="Visits", notice="The deadline has passed: confirm as soon as you can."),
    example("urgent-issues-confirmed", urgent_issues_card, URGENT_DONE),
    example("panel", panel_card, PANEL),
    example("panel-error", panel_card, PanelView(**{
        **PANEL.__dict__, "values": {"grade": "inadequate", "chair_decided": "true",
                                     "rationale": fill(DECISION_LIMIT)},
        "error": "Say what the panel agreed and why. Nothing was saved.",
        "asked": "Maya Thompson asked for the panel: " + fill(2000)})),
    example("panel-decided", panel_card, PanelView(**{
        **PANEL.__dict__, "decided": "The panel's final grade: Requires Improvement to be "
        "Good, recorded by Elizabeth Carr with the chair's deciding say. " + fill(DECISION_LIMIT),
        "notice": "The panel's decision was already recorded, so nothing was changed."})),
    example("part-b", part_b_card, PART_B),
    example("part-b-safeguarding-error", part_b_card,
            PartBView(**{**PART_B.__dict__, "safeguarding": True,
                         "values": {answer_field(1): fill(ANSWER_LIMIT)},
                         "error": "Answer every question before recording part B (not yet: 2, "
                                  "3). Nothing was saved."})),
    example("part-b-recorded", part_b_card, PART_B_DONE),
    example("dispute-respond", respond_card, RESULT, DISPUTE),
    example("dispute-respond-most", respond_card, RESULT_MOST, DISPUTE_MOST,
            error="Say why.", note=fill(2000), notice="The dispute moved on."),
    example("dispute-raised", disputer_card, RESULT, DISPUTE, can_escalate=False),
    example("dispute-stood-by", disputer_card, RESULT, DISPUTE_ESCALATED, can_escalate=True),
    example("dispute-copy", copy_card, RESULT, DISPUTE_ESCALATED),
    example("dispute-decision", decision_card, RESULT, DISPUTE_ESCALATED, DECISION_ROWS,
            values=DEC),
    example("dispute-decided", decision_card, RESULT_DECIDED, DISPUTE_DECIDED, DECISION_ROWS),
    example("dispute-decision-most", _decision_most),
    *(example(f"inadequate-{part.replace('_', '-')}", fast_path_card, FAST_PATH, part)
      for part in FAST_PATH_PARTS),
)  # fmt: skip
