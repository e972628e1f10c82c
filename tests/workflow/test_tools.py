import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from workflow.grades import Grade
from workflow.tools import (
    ACTION_COLUMNS,
    RECOMMENDATION_COLUMNS,
    AuditTool,
    ChecklistAnswer,
    ModerationAsks,
    NarrativeTopic,
    RecommendationScope,
    SectionKind,
    ServiceKind,
    ToolInvalid,
    ToolNotFound,
    available_tools,
    grade_definitions,
    load_tool,
)

SHIPPED = {
    "col_practice_impact_review",
    "haringey_light_touch",
    "hillingdon_ad_hoc_desktop",
    "hillingdon_monthly_audit",
    "th_csc_understanding_our_practice",
    "th_understanding_our_practice",
    "th_understanding_our_practice_short",
    "th_yjs_understanding_our_practice",
}


def _section(section_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    graded = kind in ("graded_domain", "overall_grade")
    return {
        "id": section_id,
        "title": section_id.replace("_", " ").capitalize(),
        "kind": kind,
        "prompts": [f"What does the work show about {section_id}?"],
        "graded": graded,
        "requires_evidence": graded,
        "required": True,
        **extra,
    }


def create_tool_data() -> dict[str, Any]:
    """A small valid tool with one section of every kind."""
    columns = [{"id": c, "label": c} for c in RECOMMENDATION_COLUMNS]
    return {
        "id": "demo_tool",
        "title": "Demo audit",
        "service": "early_help",
        "version": "1",
        "source": "A test",
        "sections": [
            _section("kloe", "kloe_comments"),
            _section(
                "standards",
                "checklist",
                prompts=[],
                items=[{"id": "visits", "text": "Visits in timescale"}],
            ),
            _section("journey", "graded_domain"),
            _section("reflection", "practitioner_reflection"),
            _section(
                "feedback",
                "feedback",
                sources=[{"id": "family", "label": "Family"}],
                methods=["Telephone"],
            ),
            _section("strengths", "narrative", topic="strengths"),
            _section("overall", "overall_grade"),
            _section("recommendations", "recommendations", scope="child", columns=columns),
        ],
        "moderation": {
            "questions": [
                {"section": "journey", "asks": "grade", "question": "Do you agree?"},
                {"section": "recommendations", "asks": "content", "question": "Agree?"},
            ],
            "overall_question": "Do you agree with the overall grading given?",
            "moderated_grade_prompt": "What grade would you give?",
            "actions_arising": {
                "title": "Actions arising",
                "columns": [{"id": c, "label": c} for c in ACTION_COLUMNS],
            },
        },
    }


def write_tool(tmp_path: Path, data: Any, name: str = "demo_tool.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def section_of(data: dict[str, Any], section_id: str) -> dict[str, Any]:
    return next(s for s in data["sections"] if s["id"] == section_id)


# --- the shipped tools -------------------------------------------------------


def test_every_shipped_tool_loads_and_validates() -> None:
    tools = available_tools()
    assert {t.id for t in tools} == SHIPPED
    for tool in tools:
        assert load_tool(tool.id) == tool
        assert tool.title and tool.source and tool.version
        assert tool.overall_section.graded


def test_shipped_tool_loads_from_its_file_path_too() -> None:
    path = Path(__file__).parents[2] / "workflow" / "tools" / "col_practice_impact_review.json"
    assert load_tool(path) == load_tool("col_practice_impact_review")
    assert load_tool(str(path)) == load_tool("col_practice_impact_review")


def test_every_shipped_graded_domain_is_moderated() -> None:
    for tool in available_tools():
        graded = {s.id for s in tool.sections if s.kind is SectionKind.GRADED_DOMAIN}
        asked = {q.section for q in tool.moderation.questions if q.asks is ModerationAsks.GRADE}
        assert graded == asked, tool.id


def test_col_review_has_the_five_graded_domains_in_order() -> None:
    tool = load_tool("col_practice_impact_review")
    assert tool.service is ServiceKind.CHILDRENS_SOCIAL_CARE
    domains = [s.title for s in tool.sections if s.kind is SectionKind.GRADED_DOMAIN]
    assert domains == [
        "Journey of the Child",
        "Identification of needs, provision of support, and outcomes",
        "Management oversight, influence, and direction",
        "Understanding of Identity and impact on practice",
        "Impact and quality of multi-agency work, involvement of partners and community services",
    ]
    assert all(s.prompts and s.requires_evidence for s in tool.graded_sections)


def test_col_review_has_the_seven_practice_standards() -> None:
    checklist = load_tool("col_practice_impact_review").section("practice_standards")
    assert checklist.kind is SectionKind.CHECKLIST
    assert [i.id for i in checklist.items] == [
        "basic_details",
        "visits_in_timescale",
        "child_seen_alone",
        "recording",
        "supervision_frequency",
        "management_oversight",
        "chronology",
    ]
    assert "3 months" in checklist.items[-1].text
    assert [a.label for a in ChecklistAnswer] == ["Met", "Partly met", "Not met", "Not applicable"]


def test_col_review_records_feedback_overall_grade_and_both_kinds_of_recommendation() -> None:
    tool = load_tool("col_practice_impact_review")
    feedback = tool.section("feedback")
    assert [s.id for s in feedback.sources] == ["child_family", "worker", "manager"]
    assert feedback.methods
    assert tool.overall_section.title == "Summary of findings and grading"
    scopes = [s.scope for s in tool.sections if s.kind is SectionKind.RECOMMENDATIONS]
    assert scopes == [RecommendationScope.CHILD, RecommendationScope.SERVICE]


def test_col_moderation_follows_appendix_two() -> None:
    moderation = load_tool("col_practice_impact_review").moderation
    assert moderation.overall_question == "Do you agree with the overall grading given?"
    content = [q.section for q in moderation.questions if q.asks is ModerationAsks.CONTENT]
    assert content == ["feedback", "child_recommendations", "service_recommendations"]
    assert moderation.actions_title == "Any Actions Arising from Moderation"
    assert [c.id for c in moderation.action_columns] == list(ACTION_COLUMNS)


def test_th_full_tool_carries_the_practice_model_pledges_and_kloes() -> None:
    tool = load_tool("th_understanding_our_practice")
    assert tool.service is ServiceKind.EARLY_HELP
    kinds = {s.kind for s in tool.sections}
    assert {
        SectionKind.PRACTITIONER_REFLECTION,
        SectionKind.KLOE_COMMENTS,
        SectionKind.FEEDBACK,
        SectionKind.NARRATIVE,
    } <= kinds
    reflection = tool.section("practitioner_section")
    assert "Better Together" in reflection.title
    assert [p.split(":")[0] for p in reflection.prompts] == [
        "Connection",
        "Curiosity",
        "Co-production",
        "Community",
        "Collaboration",
        "Check back",
    ]
    assert "Families Pledge" in tool.section("family_feedback").title
    topics = {s.topic for s in tool.sections if s.kind is SectionKind.NARRATIVE}
    assert topics == {NarrativeTopic.STRENGTHS, NarrativeTopic.AREAS_FOR_DEVELOPMENT}


def test_th_short_version_is_shorter_than_the_full_one() -> None:
    full = load_tool("th_understanding_our_practice")
    short = load_tool("th_understanding_our_practice_short")
    assert len(short.sections) < len(full.sections)
    assert sum(len(s.prompts) for s in short.sections) < sum(len(s.prompts) for s in full.sections)
    assert [s.title for s in short.graded_sections if s.kind is SectionKind.GRADED_DOMAIN] == [
        "Quality of the Early Help assessment",
    ]


def test_tools_are_immutable() -> None:
    tool = load_tool("col_practice_impact_review")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tool.title = "changed"  # type: ignore[misc]


def test_grade_definitions_cover_all_four_grades() -> None:
    definitions = grade_definitions()
    assert set(definitions) == set(Grade)
    assert all(text.strip() for text in definitions.values())
    assert "extraordinary results" in definitions[Grade.OUTSTANDING]
    assert "serious failures" in definitions[Grade.INADEQUATE]


def test_grade_definitions_are_a_copy_the_caller_may_change() -> None:
    grade_definitions().clear()
    assert len(grade_definitions()) == 4


# --- loading files -----------------------------------------------------------


def test_a_valid_file_loads(tmp_path: Path) -> None:
    tool = load_tool(write_tool(tmp_path, create_tool_data()))
    assert isinstance(tool, AuditTool)
    assert [s.kind for s in tool.sections][:3] == [
        SectionKind.KLOE_COMMENTS,
        SectionKind.CHECKLIST,
        SectionKind.GRADED_DOMAIN,
    ]
    assert tool.section("standards").items[0].id == "visits"


def test_an_unknown_shipped_id_is_not_found() -> None:
    with pytest.raises(ToolNotFound):
        load_tool("no_such_tool")
    with pytest.raises(ToolNotFound):
        load_tool("_grade_definitions")


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFound):
        load_tool(tmp_path / "absent.json")


def _sections(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["sections"]  # type: ignore[no-any-return]


def _drop_overall(data: dict[str, Any]) -> None:
    data["sections"] = [s for s in _sections(data) if s["kind"] != "overall_grade"]


INVALID = {
    "unknown kind": (
        lambda d: section_of(d, "journey").update(kind="essay"),
        "section 'journey': unknown kind 'essay'",
    ),
    "duplicate section id": (
        lambda d: _sections(d).append(_section("kloe", "kloe_comments")),
        "section 'kloe': duplicate section id",
    ),
    "graded kind not graded": (
        lambda d: section_of(d, "journey").update(graded=False),
        "section 'journey': a graded_domain section must have graded=true",
    ),
    "ungraded kind graded": (
        lambda d: section_of(d, "standards").update(graded=True),
        "section 'standards': a checklist section must have graded=false",
    ),
    "graded section optional": (
        lambda d: section_of(d, "journey").update(required=False),
        "section 'journey': a graded section must be required",
    ),
    "flag not a boolean": (
        lambda d: section_of(d, "journey").update(requires_evidence="yes"),
        "section 'journey': 'requires_evidence' must be true or false",
    ),
    "moderation names a missing section": (
        lambda d: d["moderation"]["questions"][0].update(section="journy"),
        "moderation, question 1: names section 'journy', which does not exist",
    ),
    "moderation grades an ungraded section": (
        lambda d: d["moderation"]["questions"].append(
            {"section": "feedback", "asks": "grade", "question": "Agree?"}
        ),
        "asks about the grade of section 'feedback', which is not graded",
    ),
    "moderation leaves a graded section out": (
        lambda d: d["moderation"]["questions"].pop(0),
        "section 'journey' is graded but the moderator is not asked about its grade",
    ),
    "moderation asks twice": (
        lambda d: d["moderation"]["questions"].append(
            {"section": "journey", "asks": "grade", "question": "Again?"}
        ),
        "section 'journey' is asked about its grade twice",
    ),
    "moderation grades the overall section": (
        lambda d: d["moderation"]["questions"].append(
            {"section": "overall", "asks": "grade", "question": "Agree?"}
        ),
        "section 'overall' is the overall grade",
    ),
    "moderation missing": (
        lambda d: d.pop("moderation"),
        "missing 'moderation'",
    ),
    "no overall grade": (_drop_overall, "no overall_grade section"),
    "two overall grades": (
        lambda d: _sections(d).append(_section("overall_again", "overall_grade")),
        "section 'overall_again': a tool has only one overall_grade section",
    ),
    "missing tool title": (lambda d: d.pop("title"), "missing 'title'"),
    "missing section title": (
        lambda d: section_of(d, "journey").pop("title"),
        "section 'journey': missing 'title'",
    ),
    "empty prompts": (
        lambda d: section_of(d, "journey").update(prompts=[]),
        "section 'journey': 'prompts' is empty",
    ),
    "blank prompt": (
        lambda d: section_of(d, "journey").update(prompts=["  "]),
        "section 'journey': 'prompts' must be a list of non-empty strings",
    ),
    "checklist without items": (
        lambda d: section_of(d, "standards").pop("items"),
        "section 'standards': 'items' must be a non-empty list",
    ),
    "duplicate checklist item": (
        lambda d: section_of(d, "standards")["items"].append({"id": "visits", "text": "Again"}),
        "section 'standards', items 2: duplicate id 'visits'",
    ),
    "misspelt field": (
        lambda d: section_of(d, "journey").update(promts=["x"]),
        "section 'journey': unknown field 'promts'",
    ),
    "field of another kind": (
        lambda d: section_of(d, "journey").update(topic="strengths"),
        "section 'journey': unknown field 'topic' for a graded_domain section",
    ),
    "feedback without sources": (
        lambda d: section_of(d, "feedback").update(sources=[]),
        "section 'feedback': 'sources' must be a non-empty list",
    ),
    "recommendations without by_when": (
        lambda d: section_of(d, "recommendations")["columns"].pop(),
        "section 'recommendations': 'columns' must have exactly the ids",
    ),
    "unknown narrative topic": (
        lambda d: section_of(d, "strengths").update(topic="worries"),
        "section 'strengths': unknown topic 'worries'",
    ),
    "unknown service": (
        lambda d: d.update(service="adult_social_care"),
        "unknown service 'adult_social_care'",
    ),
    "id not lower snake case": (
        lambda d: section_of(d, "journey").update(id="Journey Of Child"),
        "'id' must be lower_snake_case",
    ),
    "section not an object": (
        lambda d: _sections(d).append("journey"),
        "section 9: must be a JSON object",
    ),
    "no sections": (
        lambda d: d.update(sections=[]),
        "'sections' must be a non-empty list",
    ),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_tool_is_rejected_naming_the_problem(tmp_path: Path, case: str) -> None:
    mutate, expected = INVALID[case]
    data = copy.deepcopy(create_tool_data())
    mutate(data)
    path = write_tool(tmp_path, data)
    with pytest.raises(ToolInvalid) as raised:
        load_tool(path)
    assert isinstance(raised.value, ValueError)
    assert raised.value.path == str(path)
    assert expected in raised.value.problem
    assert str(path) in str(raised.value)


def test_a_tool_whose_id_does_not_match_its_file_name_is_rejected(tmp_path: Path) -> None:
    path = write_tool(tmp_path, create_tool_data(), name="other_name.json")
    with pytest.raises(ToolInvalid, match="tool id 'demo_tool' does not match the file name"):
        load_tool(path)


def test_a_file_that_is_not_json_is_rejected(tmp_path: Path) -> None:
    path = write_tool(tmp_path, '{"id": "demo_tool",')
    with pytest.raises(ToolInvalid, match="not valid JSON"):
        load_tool(path)


def test_a_file_that_is_not_an_object_is_rejected(tmp_path: Path) -> None:
    path = write_tool(tmp_path, [create_tool_data()])
    with pytest.raises(ToolInvalid, match="must be a JSON object"):
        load_tool(path)


def test_hillingdons_monthly_audit_carries_its_part_b_for_supervision() -> None:
    tool = load_tool("hillingdon_monthly_audit")
    assert tool.part_b is not None
    assert "next available supervision" in tool.part_b.guidance
    assert len(tool.part_b.prompts) == 3
    assert load_tool("th_understanding_our_practice").part_b is None


def test_a_part_b_without_prompts_is_refused_naming_it(tmp_path: Path) -> None:
    raw = json.loads(
        (Path(__file__).parents[2] / "workflow/tools/hillingdon_monthly_audit.json").read_text()
    )
    raw["id"] = "broken_part_b"
    raw["part_b"]["prompts"] = []
    path = tmp_path / "broken_part_b.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ToolInvalid, match="part_b: 'prompts' is empty"):
        load_tool(path)


def test_a_desktop_tool_has_no_practitioner_section() -> None:
    kinds = {section.kind for section in load_tool("hillingdon_ad_hoc_desktop").sections}
    assert SectionKind.PRACTITIONER_REFLECTION not in kinds
    assert SectionKind.FEEDBACK not in kinds
