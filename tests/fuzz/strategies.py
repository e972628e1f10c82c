"""Hostile card presses: who presses, and what the button's data has become.

A press starts from a genuine button (a subject's data) and has each field
kept, changed harmlessly, broken, or removed, plus unknown keys. Whether the
press is legitimate is known by construction: the actor is someone the
workflow names for that subject, and no field was broken. The fuzz asserts
that every other press leaves the database exactly as it was.

What counts as broken is the card's contract, not the code's behaviour:
ids are positive whole numbers of things that exist; decisions and roles
are the values the card offers; free text is text of at most MAX_TEXT
characters, and not blank where the form requires it; the cycle form's
month is one it offers and its number of cases is 1 to 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from dialogs.actions import MAX_TEXT
from dialogs.conversation import Actor
from tests.fuzz.world import TENANT_ID, Subject, World, actor_for

# --- hostile values -------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NESTED = st.one_of(
    st.lists(JSON, max_size=3), st.dictionaries(st.text(max_size=8), JSON, max_size=3)
)
NOT_TEXT = st.one_of(
    st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), NESTED
)
# Longer than any free-text field accepts, even once stripped; some far longer.
TOO_LONG = st.builds(
    lambda pad, tail, times: "y" * (MAX_TEXT + 1) * times + tail,
    st.just(None),
    st.text(max_size=20),
    st.sampled_from([1, 1, 25]),
)
BLANK = st.sampled_from(["", " ", "\n\t", "\u00a0\u2003", "\u2028"])
# Real words in any script, within limits: harmless wherever text is expected.
WORDS = st.text(min_size=1, max_size=120).filter(lambda text: text.strip() != "")


def _whole_number(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return not isinstance(value, float)


BAD_IDS = st.one_of(
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, 1.0, 7.5, True, False, None, "", " ", "1e3",
                     "0x10", "NaN", "-5", "١٢٣٤٥٦٧", "9" * 400]),
    st.integers(max_value=0),
    st.integers(min_value=2**31),
    st.integers(min_value=10**6, max_value=2**31 - 1),  # well-formed, but nothing has it
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20).filter(lambda text: not _whole_number(text)),
    NESTED,
)  # fmt: skip


def not_one_of(allowed: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Anything a card could be tampered to send instead of one of `allowed`."""
    near = [variant for value in allowed for variant in (value.upper(), value.title(), f" {value}")]
    return st.one_of(
        st.sampled_from(near + ["", "yes", "true", "*", "approved;DROP TABLE staff"]),
        st.text(max_size=30),
        NOT_TEXT,
        st.none(),
    ).filter(lambda value: value not in allowed)


# --- fields ---------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """How a field may be harmlessly changed, and how it may be broken."""

    harmless: st.SearchStrategy[Any] | None
    broken: st.SearchStrategy[Any]
    required: bool = True


def id_field(value: int) -> Field:
    return Field(harmless=st.just(str(value)), broken=BAD_IDS)


def choice_field(allowed: tuple[str, ...], *, harmless: st.SearchStrategy[Any] | None = None):
    return Field(harmless=harmless, broken=not_one_of(allowed))


def text_field(*, required: bool) -> Field:
    broken = st.one_of(NOT_TEXT, TOO_LONG, BLANK) if required else st.one_of(NOT_TEXT, TOO_LONG)
    return Field(harmless=WORDS, broken=broken, required=required)


MONTH_TAMPERED = st.sampled_from(
    ["", "abc", "2026-13", "2026-00", "0-0", "2026-12-01", "12-2026", "1999-01", "0001-01",
     "9999-12", "2026-11", "2030-01", "-1--1"]
)  # fmt: skip
CASES_TAMPERED = st.one_of(
    st.sampled_from(["", "0", "-3", "501", "1e400", "-1e400", "inf", "nan", "1e3", "many",
                     "10**9", " "]),
    st.integers(min_value=501).map(str),
    st.integers(max_value=0).map(str),
    NOT_TEXT,
)  # fmt: skip


# --- one spec per card action ------------------------------------------------------

Fields = Callable[[World, dict[str, Any]], dict[str, Field]]


def _exemption_request(world: World, data: dict[str, Any]) -> dict[str, Field]:
    return {"audit_id": id_field(data["audit_id"]), "reason": text_field(required=True)}


def _exemption_decide(world: World, data: dict[str, Any]) -> dict[str, Field]:
    return {
        "request_id": id_field(data["request_id"]),
        "decision": choice_field(("approved", "declined")),
        "comment": text_field(required=False),
    }


def _reallocate(world: World, data: dict[str, Any]) -> dict[str, Field]:
    return {"audit_id": id_field(data["audit_id"])}


def _kloe_decide(world: World, data: dict[str, Any]) -> dict[str, Field]:
    return {
        "cycle_id": id_field(data["cycle_id"]),
        "role": choice_field((data["role"],)),
        "decision": choice_field(("approved", "sent_back")),
        "comment": text_field(required=data["decision"] == "sent_back"),
    }


def _propose(world: World, data: dict[str, Any]) -> dict[str, Field]:
    return {
        "service": Field(  # a service code, in any case
            harmless=st.just(f" {data['service'].lower()} "),
            broken=not_one_of(world.service_codes).filter(
                lambda code: (
                    not isinstance(code, str) or code.strip().upper() not in world.service_codes
                )
            ),
        ),
        "month": Field(harmless=None, broken=st.one_of(MONTH_TAMPERED, NOT_TEXT)),
        "cases": Field(
            harmless=st.sampled_from(["1", "500", " 12 ", "6.0"]), broken=CASES_TAMPERED
        ),
        "kloes": text_field(required=True),
    }


def _genuine(verb: str, world: World, subject: Subject) -> st.SearchStrategy[dict[str, Any]]:
    """The data the genuine button sends, with the form filled in sensibly."""
    base = dict(subject.data)
    if verb == "exemption.request":
        return st.just({**base, "reason": "I supervised this practitioner."})
    if verb == "exemption.decide":
        return st.sampled_from(
            [{**base, "decision": "approved"}, {**base, "decision": "declined", "comment": "No."}]
        )
    if verb == "kloe.decide":
        return st.sampled_from(
            [{**base, "decision": "approved"},
             {**base, "decision": "sent_back", "comment": "Add a KLOE on neglect."}]
        )  # fmt: skip
    if verb == "cycle.propose":
        return st.builds(
            lambda month, cases: {**base, "month": month, "cases": cases, "kloes": "Is it safe?"},
            st.sampled_from(world.offered_months),
            st.sampled_from(["1", "3", "500"]),
        )
    return st.just(base)


SPECS: dict[str, Fields] = {
    "exemption.request": _exemption_request,
    "exemption.decide": _exemption_decide,
    "audit.reallocate": _reallocate,
    "kloe.decide": _kloe_decide,
    "cycle.propose": _propose,
}


# --- presses ---------------------------------------------------------------------


@dataclass(frozen=True)
class Press:
    actor: Actor
    data: dict[str, Any]
    legitimate: bool
    why: str  # what was done to it, for the failure message
    named: bool = False  # pressed by someone the workflow names for the subject
    by_leaver: bool = False  # pressed by someone deactivated in the staff list

    def __repr__(self) -> str:
        data = {
            key: value if len(repr(value)) < 200 else f"<{len(repr(value))} characters>"
            for key, value in self.data.items()
        }
        return f"Press({self.why}; actor={self.actor.aad_object_id!r}; data={data!r})"


def hostile_actors(world: World) -> st.SearchStrategy[tuple[Actor, str]]:
    """People who may never act: unknown to auditbot, anonymous, without a role, or gone."""
    return st.one_of(
        st.uuids().map(lambda u: (Actor(str(u), TENANT_ID, "Stranger"), "unknown aad id")),
        st.sampled_from(
            [None, "", " ", "00000000-0000-0000-0000-000000000000", "*", "%", "' OR 1=1 --"]
        ).map(lambda aad: (Actor(aad, TENANT_ID, "Nobody"), f"aad id {aad!r}")),
        st.text(max_size=60).map(lambda aad: (Actor(aad, None, ""), "aad id is random text")),
        st.sampled_from(world.outsiders).map(
            lambda person: (
                actor_for(person),
                f"{person.name}, {'no role' if person.active else 'has left'}",
            )
        ),
    )


# How a press goes wrong. Most bugs need one fault alone (the right person, one
# bad field; the genuine button, the wrong person), so those are drawn most.
ONE_BAD_FIELD, WRONG_PERSON, ANYTHING = "one bad field", "wrong person", "anything"
MODES = st.sampled_from([ONE_BAD_FIELD] * 5 + [WRONG_PERSON] * 3 + [ANYTHING] * 2)


@st.composite
def presses(draw: st.DrawFn, world: World, verb: str) -> Press:
    subject = draw(st.sampled_from(world.subjects[verb]))
    data = dict(draw(_genuine(verb, world, subject)))
    fields = SPECS[verb](world, data)
    mode = draw(MODES, label="mode")
    spoilt = draw(st.sampled_from(sorted(fields))) if mode == ONE_BAD_FIELD else None
    notes = []
    broken = False
    for name, field in fields.items():
        if mode == ANYTHING:
            change = draw(st.sampled_from(["keep", "keep", "harmless", "broken", "drop"]))
        elif name == spoilt:
            change = draw(st.sampled_from(["broken", "broken", "broken", "drop"]))
        else:
            change = draw(st.sampled_from(["keep", "keep", "harmless"]))
        if change == "drop" and not field.required and mode == ONE_BAD_FIELD:
            change = "broken"
        if change == "harmless" and field.harmless is not None:
            data[name] = draw(field.harmless)
            notes.append(f"{name} harmlessly changed")
        elif change == "broken":
            data[name] = draw(field.broken)
            notes.append(f"{name} broken")
            broken = True
        elif change == "drop":
            data.pop(name, None)
            notes.append(f"{name} dropped")
            broken = broken or field.required
    extra = draw(
        st.dictionaries(st.text(max_size=12).filter(lambda k: k not in fields), JSON, max_size=3)
    )
    data.update(extra)
    if mode == WRONG_PERSON or (mode == ANYTHING and draw(st.booleans())):
        if draw(st.booleans()):
            actor, who = draw(hostile_actors(world))
        else:
            person = draw(st.sampled_from([p for p in world.people if p.id not in subject.legit]))
            actor, who = actor_for(person), f"{person.name}, not named"
        named = False
    else:
        named_people = [p for p in world.people if p.id in subject.legit]
        person = draw(st.sampled_from(named_people or world.people))
        named = person.id in subject.legit
        actor = actor_for(person)
        if draw(st.integers(0, 9)) == 0:  # object ids are case-insensitive GUIDs
            actor = Actor(person.aad_object_id.upper(), TENANT_ID, person.name)
        who = f"{person.name}{' (named)' if named else ''}"
    return Press(
        actor,
        data,
        named and not broken,
        f"{mode}: {who}; {', '.join(notes) or 'as sent'}",
        named=named,
        by_leaver="has left" in who,
    )


GENERIC_KEYS = [
    "audit_id", "cycle_id", "request_id", "dispute_id", "version", "rev", "step",
    "section", "grade", "decision", "role", "comment", "reason", "note", "agree",
]  # fmt: skip
PLAUSIBLE = st.one_of(
    JSON, st.sampled_from(["good", "inadequate", "agree", "disagree", "yes", "true", "approved"])
)


@st.composite
def generic_presses(draw: st.DrawFn, world: World) -> Press:
    """For a card action with no spec here: never legitimate, whatever the data.

    Strangers, people with no role or who have left; ids that name nothing, from anyone;
    or a real audit's id and version, from someone with no part in that audit.
    """
    data = draw(st.dictionaries(st.sampled_from(GENERIC_KEYS) | st.text(max_size=10), PLAUSIBLE,
                                max_size=6))  # fmt: skip
    mode = draw(st.sampled_from(["stranger", "ids of nothing", "not their audit"]))
    if mode == "stranger":
        actor, who = draw(hostile_actors(world))
    elif mode == "ids of nothing":
        for key in [*data, "audit_id", "cycle_id", "request_id", "dispute_id"]:
            if key.endswith("_id"):
                data[key] = draw(BAD_IDS)
        person = draw(st.sampled_from(world.people))
        actor, who = actor_for(person), f"{person.name}, every id names nothing"
    else:
        audit = draw(st.sampled_from([a for a in world.audits if a.unrelated]))
        person = draw(st.sampled_from(audit.unrelated))
        data.update({"audit_id": audit.id, "version": audit.version})
        actor, who = actor_for(person), f"{person.name}, no part in audit {audit.id}"
    return Press(actor, data, False, f"{mode}: {who}", by_leaver="has left" in who)
