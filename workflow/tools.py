"""Audit tools as data: the sections an auditor walks through, read from JSON.

Each service has its own audit tool aligned to its practice model (DOMAIN.md,
"Audit tools are data"). A tool is an ordered list of sections; a section's
`kind` says what is recorded for it, so a card wizard can walk any tool
section by section, and moderation question by question, with no per-tool
code. Every file is validated when loaded, so a bad file fails when it is
loaded, naming the file and the section at fault, not halfway through an
audit.

Shipped tools are `workflow/tools/<id>.json`; a tool file is named after its
id. Files there whose names start with `_` are shared data, not tools (the
grade definitions).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from workflow.grades import Grade

_ID = re.compile(r"[a-z][a-z0-9_]*")
_GRADE_DEFINITIONS_FILE = "_grade_definitions.json"

E = TypeVar("E", bound=StrEnum)


class ToolInvalid(ValueError):
    """An audit tool file that cannot be used. The message names the file and the place."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ToolNotFound(LookupError):
    """No shipped tool has this id, or no file is at this path."""


class ServiceKind(StrEnum):
    EARLY_HELP = "early_help"
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    YOUTH_JUSTICE = "youth_justice"


class SectionKind(StrEnum):
    """What a section records; the wizard picks its card from this alone."""

    CHECKLIST = "checklist"  # an answer per item, with a note
    GRADED_DOMAIN = "graded_domain"  # a grade, a rationale, evidence
    FEEDBACK = "feedback"  # per source: what was said, date, method
    PRACTITIONER_REFLECTION = "practitioner_reflection"  # written by the practitioner
    KLOE_COMMENTS = "kloe_comments"  # a comment on each key line of enquiry
    NARRATIVE = "narrative"  # free text: strengths or areas for development
    OVERALL_GRADE = "overall_grade"  # the grade for the whole work, with rationale
    RECOMMENDATIONS = "recommendations"  # rows of SMART actions

    @property
    def is_graded(self) -> bool:
        return self in (SectionKind.GRADED_DOMAIN, SectionKind.OVERALL_GRADE)


class ChecklistAnswer(StrEnum):
    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class NarrativeTopic(StrEnum):
    STRENGTHS = "strengths"
    AREAS_FOR_DEVELOPMENT = "areas_for_development"


class RecommendationScope(StrEnum):
    """Child-level and service-level recommendations are tracked apart."""

    CHILD = "child"
    SERVICE = "service"


class ModerationAsks(StrEnum):
    GRADE = "grade"  # does the moderator agree with the section's grade?
    CONTENT = "content"  # does the moderator agree with what the section records?


# Recommendations and moderation actions share these column ids whatever the
# labels, so the tracker can read any tool's rows.
RECOMMENDATION_COLUMNS = ("action", "impact", "by_whom", "by_when")
ACTION_COLUMNS = ("action", "by_whom", "by_when")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    text: str


@dataclass(frozen=True)
class FeedbackSource:
    """Someone whose view is sought; each is recorded with a date and a method."""

    id: str
    label: str


@dataclass(frozen=True)
class Column:
    """A column of a recommendations or actions table: a fixed id, a council's label."""

    id: str
    label: str


@dataclass(frozen=True)
class Section:
    """One step of an audit. A graded section always takes a grade and a rationale.

    Only the fields of the section's own kind are set: `items` and `note_label`
    for a checklist, `sources` and `methods` for feedback, `scope` and
    `columns` for recommendations, `topic` for a narrative.
    """

    id: str
    title: str
    kind: SectionKind
    prompts: tuple[str, ...]
    graded: bool
    requires_evidence: bool
    required: bool
    guidance: str = ""
    items: tuple[ChecklistItem, ...] = ()
    note_label: str = ""
    sources: tuple[FeedbackSource, ...] = ()
    methods: tuple[str, ...] = ()
    scope: RecommendationScope | None = None
    columns: tuple[Column, ...] = ()
    topic: NarrativeTopic | None = None


@dataclass(frozen=True)
class ModerationQuestion:
    section: str
    question: str
    asks: ModerationAsks


@dataclass(frozen=True)
class ModerationTemplate:
    """What the moderator answers: each question (agree or not, with a comment and a
    rationale for any disagreement), then the overall grade and a moderated grade."""

    questions: tuple[ModerationQuestion, ...]
    overall_question: str
    moderated_grade_prompt: str
    notes_prompt: str = ""
    actions_title: str = ""
    action_columns: tuple[Column, ...] = ()


@dataclass(frozen=True)
class PartB:
    """The follow-up part of a tool, completed at the practitioner's next supervision."""

    title: str
    guidance: str
    prompts: tuple[str, ...]


@dataclass(frozen=True)
class AuditTool:
    id: str
    title: str
    service: ServiceKind
    version: str
    source: str
    sections: tuple[Section, ...]
    moderation: ModerationTemplate
    guidance: str = ""
    # "Part B": what the practitioner and team manager complete at supervision after the
    # audit (Hillingdon), or None where the programme follows up otherwise.
    part_b: PartB | None = None
    # A desktop audit is done from the record alone: no conversation with the practitioner
    # (Hillingdon's ad hoc audits).
    desktop: bool = False

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)

    @property
    def graded_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.graded)

    @property
    def overall_section(self) -> Section:
        return next(s for s in self.sections if s.kind is SectionKind.OVERALL_GRADE)


def load_tool(path_or_id: str | os.PathLike[str]) -> AuditTool:
    """Load and validate a tool from a file path, or a shipped tool by its id.

    A string ending in `.json` or holding a path separator is a path. Raises
    `ToolInvalid` for a file that cannot be used and `ToolNotFound` when
    there is nothing at that path or no shipped tool has that id.
    """
    if isinstance(path_or_id, os.PathLike) or _looks_like_path(path_or_id):
        path = Path(path_or_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ToolNotFound(str(path)) from None
        return _parse_tool_text(text, str(path), path.stem)
    return _load_shipped(path_or_id)


def available_tools() -> tuple[AuditTool, ...]:
    """Every tool shipped with auditbot, validated, in order of id."""
    names = sorted(
        entry.name
        for entry in _shipped_dir().iterdir()
        if entry.name.endswith(".json") and not entry.name.startswith("_")
    )
    return tuple(_load_shipped(name.removesuffix(".json")) for name in names)


def grade_definitions() -> dict[Grade, str]:
    """The short definition of each grade, the help text shown beside a grade choice.

    Taken from Tower Hamlets' "Audit grading definitions at a glance".
    """
    return dict(_load_grade_definitions())


def _looks_like_path(value: str) -> bool:
    return value.endswith(".json") or "/" in value or os.sep in value


def _shipped_dir() -> Traversable:
    return resources.files("workflow").joinpath("tools")


def _shipped_path(name: str) -> str:
    return f"workflow/tools/{name}"


@cache
def _load_shipped(tool_id: str) -> AuditTool:
    if not _ID.fullmatch(tool_id):
        raise ToolNotFound(tool_id)
    resource = _shipped_dir().joinpath(f"{tool_id}.json")
    if not resource.is_file():
        raise ToolNotFound(tool_id)
    text = resource.read_text(encoding="utf-8")
    return _parse_tool_text(text, _shipped_path(f"{tool_id}.json"), tool_id)


@cache
def _load_grade_definitions() -> dict[Grade, str]:
    path = _shipped_path(_GRADE_DEFINITIONS_FILE)
    text = _shipped_dir().joinpath(_GRADE_DEFINITIONS_FILE).read_text(encoding="utf-8")
    root = _Obj(_decode(text, path), path, "", {"source", "definitions"})
    root.text("source")
    definitions = root.child(root.raw.get("definitions"), "definitions", {g.value for g in Grade})
    return {grade: definitions.text(grade.value) for grade in Grade}


def _decode(text: str, path: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        raise ToolInvalid(path, problem) from exc


def _parse_tool_text(text: str, path: str, expected_id: str) -> AuditTool:
    tool = _parse_tool(_Obj(_decode(text, path), path, "", _TOOL_FIELDS))
    if tool.id != expected_id:
        raise ToolInvalid(path, f"tool id '{tool.id}' does not match the file name")
    return tool


class _Obj:
    """One JSON object being read; every problem it reports names the file and the place."""

    def __init__(self, raw: object, path: str, where: str, allowed: Iterable[str] | None) -> None:
        """`allowed=None` defers the check for unknown fields to `allow_only`."""
        self.path = path
        self.where = where
        if not isinstance(raw, dict):
            self.fail("must be a JSON object")
        self.raw: dict[str, Any] = raw
        if allowed is not None:
            self.allow_only(allowed)

    def fail(self, problem: str) -> NoReturn:
        raise ToolInvalid(self.path, f"{self.where}: {problem}" if self.where else problem)

    def child(self, raw: object, label: str, allowed: Iterable[str] | None) -> _Obj:
        return _Obj(raw, self.path, f"{self.where}, {label}" if self.where else label, allowed)

    def allow_only(self, allowed: Iterable[str], owner: str = "") -> None:
        unknown = sorted(set(self.raw) - set(allowed))
        if unknown:
            self.fail(f"unknown field '{unknown[0]}'" + (f" for {owner}" if owner else ""))

    def text(self, key: str, *, optional: bool = False) -> str:
        if key not in self.raw:
            if optional:
                return ""
            self.fail(f"missing '{key}'")
        value = self.raw[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{key}' must be a non-empty string")
        return value.strip()

    def ident(self, key: str) -> str:
        value = self.text(key)
        if not _ID.fullmatch(value):
            self.fail(f"'{key}' must be lower_snake_case, not '{value}'")
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if not isinstance(value, bool):
            self.fail(f"'{key}' must be true or false")
        return value

    def texts(self, key: str, *, allow_empty: bool = False) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"'{key}' must be a list of non-empty strings")
        if not value and not allow_empty:
            self.fail(f"'{key}' is empty")
        return tuple(v.strip() for v in value)

    def objects(self, key: str) -> list[object]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not value:
            self.fail(f"'{key}' must be a non-empty list")
        return value

    def choice(self, key: str, enum: type[E]) -> E:
        value = self.text(key)
        try:
            return enum(value)
        except ValueError:
            expected = ", ".join(member.value for member in enum)
            self.fail(f"unknown {key} '{value}' (expected one of: {expected})")


_TOOL_FIELDS = {
    "id",
    "title",
    "service",
    "version",
    "source",
    "guidance",
    "sections",
    "moderation",
    "part_b",
    "desktop",
}
_SECTION_FIELDS = {
    "id",
    "title",
    "kind",
    "prompts",
    "graded",
    "requires_evidence",
    "required",
    "guidance",
}
_KIND_FIELDS: dict[SectionKind, set[str]] = {
    SectionKind.CHECKLIST: {"items", "note_label"},
    SectionKind.FEEDBACK: {"sources", "methods"},
    SectionKind.RECOMMENDATIONS: {"scope", "columns"},
    SectionKind.NARRATIVE: {"topic"},
}
_MODERATION_FIELDS = {
    "questions",
    "overall_question",
    "moderated_grade_prompt",
    "notes_prompt",
    "actions_arising",
}


def _parse_tool(root: _Obj) -> AuditTool:
    tool_id, title = root.ident("id"), root.text("title")
    sections = _parse_sections(root)
    return AuditTool(
        id=tool_id,
        title=title,
        service=root.choice("service", ServiceKind),
        version=root.text("version"),
        source=root.text("source"),
        guidance=root.text("guidance", optional=True),
        sections=sections,
        moderation=_parse_moderation(root, sections),
        part_b=_parse_part_b(root),
        desktop=root.flag("desktop") if "desktop" in root.raw else False,
    )


def _parse_part_b(root: _Obj) -> PartB | None:
    if "part_b" not in root.raw:
        return None
    obj = root.child(root.raw["part_b"], "part_b", {"title", "guidance", "prompts"})
    return PartB(
        title=obj.text("title"), guidance=obj.text("guidance"), prompts=obj.texts("prompts")
    )


def _parse_sections(root: _Obj) -> tuple[Section, ...]:
    sections: list[Section] = []
    for number, raw in enumerate(root.objects("sections"), 1):
        section = _parse_section(root.child(raw, f"section {number}", None))
        if any(s.id == section.id for s in sections):
            root.fail(f"section '{section.id}': duplicate section id")
        sections.append(section)
    overall = [s.id for s in sections if s.kind is SectionKind.OVERALL_GRADE]
    if not overall:
        root.fail("no overall_grade section: every audit grades the work as a whole")
    if len(overall) > 1:
        root.fail(f"section '{overall[1]}': a tool has only one overall_grade section")
    return tuple(sections)


def _parse_section(obj: _Obj) -> Section:
    section_id = obj.ident("id")
    obj.where = f"section '{section_id}'"
    title = obj.text("title")
    kind = obj.choice("kind", SectionKind)
    obj.allow_only(_SECTION_FIELDS | _KIND_FIELDS.get(kind, set()), f"a {kind} section")
    graded = obj.flag("graded")
    if graded != kind.is_graded:
        obj.fail(f"a {kind} section must have graded={str(kind.is_graded).lower()}")
    required = obj.flag("required")
    if graded and not required:
        obj.fail("a graded section must be required: an audit is complete only when all are")
    return Section(
        id=section_id,
        title=title,
        kind=kind,
        prompts=obj.texts("prompts", allow_empty=kind is SectionKind.CHECKLIST),
        graded=graded,
        requires_evidence=obj.flag("requires_evidence"),
        required=required,
        guidance=obj.text("guidance", optional=True),
        **_kind_fields(obj, kind),
    )


def _kind_fields(obj: _Obj, kind: SectionKind) -> dict[str, Any]:
    if kind is SectionKind.CHECKLIST:
        items = tuple(ChecklistItem(i, t) for i, t in _labelled(obj, "items", "text"))
        return {"items": items, "note_label": obj.text("note_label", optional=True)}
    if kind is SectionKind.FEEDBACK:
        sources = tuple(FeedbackSource(i, label) for i, label in _labelled(obj, "sources", "label"))
        return {"sources": sources, "methods": obj.texts("methods")}
    if kind is SectionKind.RECOMMENDATIONS:
        return {
            "scope": obj.choice("scope", RecommendationScope),
            "columns": _columns(obj, "columns", RECOMMENDATION_COLUMNS),
        }
    if kind is SectionKind.NARRATIVE:
        return {"topic": obj.choice("topic", NarrativeTopic)}
    return {}


def _labelled(obj: _Obj, key: str, text_key: str) -> list[tuple[str, str]]:
    """A list of {"id": ..., text_key: ...} objects, with ids unique in the list."""
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(obj.objects(key), 1):
        entry = obj.child(raw, f"{key} {number}", {"id", text_key})
        entry_id = entry.ident("id")
        if any(seen == entry_id for seen, _ in pairs):
            entry.fail(f"duplicate id '{entry_id}'")
        pairs.append((entry_id, entry.text(text_key)))
    return pairs


def _columns(obj: _Obj, key: str, expected: tuple[str, ...]) -> tuple[Column, ...]:
    columns = tuple(Column(i, label) for i, label in _labelled(obj, key, "label"))
    if sorted(c.id for c in columns) != sorted(expected):
        obj.fail(f"'{key}' must have exactly the ids {', '.join(expected)}")
    return columns


def _parse_moderation(root: _Obj, sections: tuple[Section, ...]) -> ModerationTemplate:
    if "moderation" not in root.raw:
        root.fail("missing 'moderation': every audit is moderated")
    obj = root.child(root.raw["moderation"], "moderation", _MODERATION_FIELDS)
    questions = _parse_questions(obj, {s.id: s for s in sections})
    asked = {q.section for q in questions if q.asks is ModerationAsks.GRADE}
    unasked = [s.id for s in sections if s.kind is SectionKind.GRADED_DOMAIN and s.id not in asked]
    if unasked:
        obj.fail(f"section '{unasked[0]}' is graded but the moderator is not asked about its grade")
    actions_title = ""
    action_columns: tuple[Column, ...] = ()
    if "actions_arising" in obj.raw:
        actions = obj.child(obj.raw["actions_arising"], "actions_arising", {"title", "columns"})
        actions_title = actions.text("title")
        action_columns = _columns(actions, "columns", ACTION_COLUMNS)
    return ModerationTemplate(
        questions=questions,
        overall_question=obj.text("overall_question"),
        moderated_grade_prompt=obj.text("moderated_grade_prompt"),
        notes_prompt=obj.text("notes_prompt", optional=True),
        actions_title=actions_title,
        action_columns=action_columns,
    )


def _parse_questions(obj: _Obj, by_id: dict[str, Section]) -> tuple[ModerationQuestion, ...]:
    questions: list[ModerationQuestion] = []
    for number, raw in enumerate(obj.objects("questions"), 1):
        entry = obj.child(raw, f"question {number}", {"section", "asks", "question"})
        section_id, asks = entry.ident("section"), entry.choice("asks", ModerationAsks)
        section = by_id.get(section_id)
        if section is None:
            entry.fail(f"names section '{section_id}', which does not exist")
        if asks is ModerationAsks.GRADE and not section.graded:
            entry.fail(f"asks about the grade of section '{section_id}', which is not graded")
        if asks is ModerationAsks.GRADE and section.kind is SectionKind.OVERALL_GRADE:
            entry.fail(f"section '{section_id}' is the overall grade: use 'overall_question'")
        if any(q.section == section_id and q.asks is asks for q in questions):
            entry.fail(f"section '{section_id}' is asked about its {asks} twice")
        questions.append(ModerationQuestion(section_id, entry.text("question"), asks))
    return tuple(questions)
