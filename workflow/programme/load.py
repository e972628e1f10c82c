"""Read a programme file, and say everything wrong with it, line by line.

`check_programme(text)` gives the programme or every problem found, each with
the line it is on and what was expected; nothing else happens. The file is
TOML: comments are kept by people and ignored here, and, unlike YAML, "no"
stays a word and a date stays a date.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from workflow.programme.model import Programme
from workflow.rules import ProgrammeRules
from workflow.tools import SectionKind, ToolInvalid, ToolNotFound, load_tool

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a programme file: where, and what is expected."""

    line: int
    where: str
    message: str

    def __str__(self) -> str:
        place = f"line {self.line}" if self.line else "the file"
        where = f"{self.where}: " if self.where else ""
        return f"{place}: {where}{self.message}"


class ProgrammeInvalid(ValueError):
    """A programme file that cannot be used; `problems` lists each with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def check_programme(text: str) -> Programme:
    """The programme `text` describes, or ProgrammeInvalid listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProgrammeInvalid([_syntax_problem(error)]) from None
    lines = _KeyLines(text)
    problems = [
        Problem(lines.line_of(path), _dotted(path), message) for path, message in _raw_rules(data)
    ]
    try:
        programme = Programme.model_validate(data)
    except ValidationError as error:
        problems += [_validation_problem(item, data, lines) for item in error.errors()]
        raise ProgrammeInvalid(_in_order(problems)) from None
    problems += [
        Problem(lines.line_of(path), _dotted(path), message)
        for path, message in _meaning_problems(programme)
    ]
    if problems:
        raise ProgrammeInvalid(_in_order(problems))
    return programme


def shipped_programmes() -> dict[str, str]:
    """The programme files that come with auditbot, by id: their text."""
    found: dict[str, str] = {}
    for entry in resources.files("workflow").joinpath("programmes").iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = entry.read_text(encoding="utf-8")
    return dict(sorted(found.items()))


@cache
def shipped_programme(programme_id: str) -> Programme:
    """A shipped programme, checked (it is a defect if one does not pass)."""
    texts = shipped_programmes()
    if programme_id not in texts:
        known = ", ".join(texts)
        raise LookupError(f"There is no shipped programme {programme_id!r}; there are: {known}.")
    return check_programme(texts[programme_id])


def _in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda problem: (problem.line, problem.where))


def _syntax_problem(error: tomllib.TOMLDecodeError) -> Problem:
    message = str(error)
    found = re.search(r"\(at line (\d+), column \d+\)", message)
    line = int(found.group(1)) if found else 0
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    return Problem(line, "", f"not valid TOML: {reason}")


def _validation_problem(item: Any, data: dict[str, Any], lines: _KeyLines) -> Problem:
    path = _data_path(tuple(item["loc"]), data)
    kind = item["type"]
    if kind == "extra_forbidden":
        parent = path[:-1]
        message = f"{path[-1]!s} is not a setting here{_expected_keys(parent, data)}."
    elif kind == "missing":
        message = "is required here but missing."
        if len(path) == 1:
            message = f"is required but missing: add a [{path[0]}] table."
    elif kind == "union_tag_invalid":
        ctx = item.get("ctx", {})
        path = path + (ctx.get("discriminator", "").strip("'"),)
        message = f"is {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags', '')}."
    elif kind == "union_tag_not_found":
        message = f"needs {item.get('ctx', {}).get('discriminator', 'its kind')} to say which kind."
    elif kind == "enum" or kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        message = f"is {item['input']!r}; expected {expected}."
    else:
        message = item["msg"][0].lower() + item["msg"][1:] + f" (got {item['input']!r})."
    return Problem(lines.line_of(path), _dotted(path), message)


def _data_path(loc: Path, data: Any) -> Path:
    """The path through the file's data that a pydantic error location names.

    Tagged unions put the tag's value into the location (`moderation.sample.sample`);
    such steps are not in the file, so they are left out.
    """
    path: list[str | int] = []
    node = data
    tag_passed = False
    for step in loc:
        if (
            not tag_passed
            and isinstance(node, dict)
            and step in (node.get("kind"), node.get("mode"))
        ):
            tag_passed = True  # the tag of a tagged union: not a key in the file
            continue
        tag_passed = False
        if isinstance(node, dict) and step in node:
            path.append(step)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            path.append(step)
            node = node[step]
        elif isinstance(node, dict) and isinstance(step, str) and step not in node:
            # Either a tag (skip it) or a missing key (the last step): keep the last.
            if step == loc[-1]:
                path.append(step)
        else:
            break
    return tuple(path)


def _expected_keys(parent: Path, data: dict[str, Any]) -> str:
    owner = _model_at(parent, data, Programme)
    if owner is None:
        return ""
    names = ", ".join(owner.model_fields)
    return f"; expected one of: {names}"


def _model_at(path: Path, data: Any, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model class the data at `path` is read into, where it can be told."""
    kind: Any = root
    node = data
    for step in path:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) else None
            continue
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return None
        field = kind.model_fields.get(step)
        if field is None:
            return None
        node = node.get(step) if isinstance(node, dict) else None
        kind = _unwrap(field.annotation, node)
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _unwrap(annotation: Any, node: Any) -> Any:
    """The model in `annotation` that fits `node` (lists, dicts, optionals and tagged unions)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is list and args:
        return _unwrap(args[0], node[0] if isinstance(node, list) and node else None)
    if origin is dict and len(args) == 2:
        inner = next(iter(node.values()), None) if isinstance(node, dict) and node else None
        return _unwrap(args[1], inner)
    if args and origin is not None:
        candidates = [_unwrap(arg, node) for arg in args]
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        for candidate in models:
            tag = _tag_of(candidate)
            if tag is None:
                return candidate
            name, value = tag
            if isinstance(node, dict) and node.get(name) == value:
                return candidate
        return models[0] if len(models) == 1 else None
    return annotation


def _tag_of(model_class: Any) -> tuple[str, str] | None:
    for name in ("kind", "mode"):
        field = model_class.model_fields.get(name)
        if field is not None:
            values = get_args(field.annotation)
            if len(values) == 1 and isinstance(values[0], str):
                return name, values[0]
    return None


def _dotted(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step + 1}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _meaning_problems(programme: Programme) -> Iterator[tuple[Path, str]]:
    """What the types cannot see: names that must refer to something, numbers in range."""
    codes = [service.code for service in programme.services]
    for index, code in enumerate(codes):
        if codes.index(code) != index:
            yield ("services", index, "code"), f"{code!r} is listed twice."
    known_codes = set(codes)
    for index, service in enumerate(programme.services):
        yield from _tool_problems(("services", index, "tools"), service.tools)
    for index, cycle in enumerate(programme.timetable.cycles):
        here: Path = ("timetable", "cycles", index)
        for code in cycle.services:
            if code not in known_codes:
                yield here + ("services",), _unknown_service(code, codes)
        if cycle.tool is not None:
            yield from _tool_problems(here + ("tool",), [cycle.tool])
        counts = [cycle.cases.per_cycle, cycle.cases.per_team, cycle.cases.per_auditor]
        if sum(count is not None for count in counts) != 1:
            yield here + ("cases",), "give exactly one of per_cycle, per_team or per_auditor."
        if cycle.kind == "recurring" and (cycle.every_months is None) == (cycle.months is None):
            yield here, "a recurring cycle needs exactly one of every_months or months."
        if cycle.kind == "thematic" and not cycle.months and not cycle.times_a_year:
            yield here, "a thematic cycle needs months or times_a_year."
        if cycle.kind == "ad_hoc" and cycle.desktop:
            if cycle.tool is None or _is_desktop(cycle.tool) is False:
                yield (
                    here + ("tool",),
                    'a desktop cycle needs a desktop audit tool (one with "desktop": true),'
                    " so nobody is asked for a conversation that does not happen.",
                )
    for path, moderation in _moderations(programme):
        if moderation.mode == "sample":
            yield from _sample_problems(path + ("sample",), moderation.sample)
        if moderation.mode == "panel" and not isinstance(moderation.panel.reviews, str):
            yield from _sample_problems(path + ("panel", "reviews"), moderation.panel.reviews)
    for key in (*programme.moderation_by_service, *programme.follow_up_by_service):
        if key not in known_codes:
            table = (
                "moderation_by_service"
                if key in programme.moderation_by_service
                else ("follow_up_by_service")
            )
            yield (table, key), _unknown_service(key, codes)
    for index, service in enumerate(programme.services):
        if programme.follow_up_for(service.code).meeting == "part_b":
            usual = service.tools[0]
            if _part_b_missing(usual):
                yield (
                    ("services", index, "tools", 0),
                    (f"the follow-up is part B, but the audit tool {usual!r} has no part_b."),
                )
    if not programme.audit.with_practitioner:
        for index, service in enumerate(programme.services):
            for number, tool_id in enumerate(service.tools):
                if _is_desktop(tool_id) is False:
                    yield (
                        ("services", index, "tools", number),
                        f"audits are desktop only (with_practitioner = false), but the tool "
                        f"{tool_id!r} asks for a conversation with the practitioner.",
                    )
    yield from _audit_shape_problems(programme)
    if programme.disputes.route == "panel_chair":
        for path, moderation in _moderations(programme):
            if moderation.mode != "panel":
                yield (
                    ("disputes", "route"),
                    f"disputes go to the panel's chair, but {_dotted(path)} has no panel "
                    f'(mode = {moderation.mode!r}): use mode = "panel" or another route.',
                )
    dip = programme.reaudit
    if dip.dip_audit and not dip.dip_grades:
        yield ("reaudit", "dip_grades"), "say which grades get a dip audit."


def _raw_rules(data: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """The numbers of workflow/rules.py the file overrides, checked by the rules themselves
    (before the rest of the file is read, so their problems come with any others)."""
    base = data.get("rules")
    base = base if isinstance(base, dict) else {}
    base_problems = list(_rules_problems(("rules",), base))
    yield from base_problems
    beneath = {} if base_problems else base
    services = data.get("services")
    for index, service in enumerate(services if isinstance(services, list) else []):
        own = service.get("rules") if isinstance(service, dict) else None
        if isinstance(own, dict):
            yield from _rules_problems(("services", index, "rules"), own, beneath)


def _audit_shape_problems(programme: Programme) -> Iterator[tuple[Path, str]]:
    """A conversation audit's tool must carry what `[audit]` says each audit has: the
    practitioner's own section and feedback, or neither (a desktop tool has neither)."""
    wants = {
        SectionKind.PRACTITIONER_REFLECTION: (
            "practitioner_section",
            programme.audit.practitioner_section,
            "a section the practitioner writes",
        ),
        SectionKind.FEEDBACK: ("family_feedback", programme.audit.family_feedback, "feedback"),
    }
    for index, service in enumerate(programme.services):
        for number, tool_id in enumerate(service.tools):
            try:
                tool = load_tool(tool_id)
            except (ToolNotFound, ToolInvalid):
                continue  # said already, as a tool that cannot be used
            if tool.desktop:
                continue
            kinds = {section.kind for section in tool.sections}
            for kind, (setting, wanted, what) in wants.items():
                if (kind in kinds) != wanted:
                    has = "has" if kind in kinds else "has no"
                    yield (
                        ("services", index, "tools", number),
                        f"the tool {tool_id!r} {has} {what}, but [audit] {setting} = "
                        f"{str(wanted).lower()}.",
                    )


def _part_b_missing(tool_id: str) -> bool:
    try:
        return load_tool(tool_id).part_b is None
    except (ToolNotFound, ToolInvalid):
        return False  # said already, as a tool that cannot be used


def _is_desktop(tool_id: str) -> bool | None:
    """Whether the tool is a desktop one; None when it cannot be read (said already)."""
    try:
        return load_tool(tool_id).desktop
    except (ToolNotFound, ToolInvalid):
        return None


def _moderations(programme: Programme) -> Iterable[tuple[Path, Any]]:
    yield ("moderation",), programme.moderation
    for code, moderation in programme.moderation_by_service.items():
        yield ("moderation_by_service", code), moderation


def _sample_problems(path: Path, sample: Any) -> Iterator[tuple[Path, str]]:
    if (sample.percent is None) == (sample.per_cycle is None):
        yield path, "give exactly one of percent or per_cycle."


def _unknown_service(code: str, codes: list[str]) -> str:
    return f"{code!r} is not one of this programme's services ({', '.join(codes)})."


def _tool_problems(path: Path, tool_ids: list[str]) -> Iterator[tuple[Path, str]]:
    for index, tool_id in enumerate(tool_ids):
        try:
            load_tool(tool_id)
        except ToolNotFound:
            yield (
                path + ((index,) if len(path) and path[-1] == "tools" else ()),
                (
                    f"there is no audit tool {tool_id!r}; the tools are the files in "
                    f"workflow/tools/ (auditbot programme tools lists them)."
                ),
            )
        except ToolInvalid as error:
            yield path, f"the audit tool {tool_id!r} cannot be used: {error.problem}"


def _rules_problems(
    path: Path, overrides: dict[str, object], beneath: dict[str, object] | None = None
) -> Iterator[tuple[Path, str]]:
    """Each override that workflow/rules.py refuses, then (if each is good alone) the
    whole set on top of `beneath`, for rules that depend on each other."""
    found = False
    for name, value in overrides.items():
        if name in MOVED_TO_STAGES:
            found = True
            yield path + (name,), f"is a stage of the programme now: set {MOVED_TO_STAGES[name]}."
            continue
        try:
            ProgrammeRules().with_overrides({name: value})
        except (ValueError, TypeError) as error:
            found = True
            yield path + (name,), str(error).removeprefix(f"{name}: ")
    if found:
        return
    try:
        ProgrammeRules().with_overrides({**(beneath or {}), **overrides})
    except (ValueError, TypeError) as error:
        if beneath is None or overrides:
            yield path, str(error)


# Numbers that were settings and are now the stages' own choices.
MOVED_TO_STAGES = {
    "kloe_lead_weeks": "lead_weeks under [kloes]",
    "selection_weeks_after_kloe": "weeks_after_kloe under [selection]",
    "audit_lookback_months": "lookback = { months = N } under [selection]",
}


class _KeyLines:
    """Where each key of a TOML text is written, so a problem can name its line.

    Follows tables (`[a.b]`), arrays of tables (`[[a]]`, counted) and keys
    (`a.b = ...`); a problem inside a value written on one line points at that
    line, and a missing key at its table's header.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        counts: dict[Path, int] = {}
        table: Path = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                keys = _split_key(header.group(2))
                table = self._resolve(keys, counts)
                if header.group(1) == "[[":
                    plain = tuple(keys)
                    counts[plain] = counts.get(plain, -1) + 1
                    table = table + (counts[plain],)
                self._lines.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key and not line.lstrip().startswith("#"):
                path = table + tuple(_split_key(key.group(1)))
                self._lines.setdefault(path, number)

    def _resolve(self, keys: list[str], counts: dict[Path, int]) -> Path:
        """`[services.rules]` is inside the latest `[[services]]`: put its index in."""
        path: list[str | int] = []
        for depth, key in enumerate(keys):
            path.append(key)
            plain = tuple(keys[: depth + 1])
            if plain in counts and depth < len(keys) - 1:
                path.append(counts[plain])
        return tuple(path)

    def line_of(self, path: Path) -> int:
        for end in range(len(path), 0, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return 0


def _split_key(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in text.split(".")]
