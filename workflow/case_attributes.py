"""Which case attributes a council has declared, and what each may hold.

A case is a reference and who holds the work; thematic audits also select by
a few attributes of it (the plan the child is on, say). Which attributes,
and the values each may take, the council declares. Nothing else about a
case enters auditbot: a cases file with any other column is refused whole,
a value outside an attribute's declared values refuses its row, and a
selection criterion may only name declared attributes with declared values.
The rule is an allow-list because a deny-list of personal column names can
never be complete (`Child Name`, `young_person`, `family`...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
VALUE_MAX = 64


@dataclass(frozen=True)
class DeclaredAttribute:
    name: str
    values: frozenset[str] | None = None  # None: any value (a free attribute)
    description: str = ""

    def allows(self, value: str) -> bool:
        return self.values is None or value in self.values

    def describe_values(self) -> str:
        return "any value" if self.values is None else ", ".join(sorted(self.values))


@dataclass(frozen=True)
class Declaration:
    """The council's declared case attributes, by name."""

    attributes: Mapping[str, DeclaredAttribute]

    @classmethod
    def of(cls, attributes: Iterable[DeclaredAttribute]) -> Declaration:
        return cls({attribute.name: attribute for attribute in attributes})

    @property
    def names(self) -> list[str]:
        return sorted(self.attributes)

    def allows(self, name: str, value: str) -> bool:
        declared = self.attributes.get(name)
        return declared is not None and declared.allows(value)

    def undeclared(self, attributes: Mapping[str, object]) -> list[str]:
        """The names in `attributes` whose value the declaration does not allow (an
        undeclared name, or a value outside a declared attribute's values)."""
        return sorted(
            name for name, value in attributes.items() if not self.allows(name, str(value))
        )

    def kept(self, attributes: Mapping[str, object]) -> dict[str, str]:
        """`attributes` without what the declaration does not allow."""
        return {
            name: str(value) for name, value in attributes.items() if self.allows(name, str(value))
        }

    def criteria_problem(self, criteria: Mapping[str, str]) -> str | None:
        """Why these selection criteria may not be used, in the Audit Team's words (never
        echoing a value, which could be anything); None when they may."""
        for name, value in criteria.items():
            declared = self.attributes.get(name)
            if declared is None:
                known = ", ".join(self.names) or "none yet"
                return (
                    f"{name} is not a declared case attribute, so cases cannot be selected "
                    f"by it (declared: {known})."
                )
            if not declared.allows(value):
                return f"{name} can only be one of {declared.describe_values()}."
        return None

    def describe_criteria(self, criteria: Mapping[str, str]) -> str:
        """The criteria in words for cards: declared ones as `name = value`; any other is
        only counted, so a value that should never have been stored is not shown."""
        shown = [
            f"{name} = {value}" for name, value in criteria.items() if self.allows(name, value)
        ]
        hidden = len(criteria) - len(shown)
        if hidden:
            shown.append(f"{hidden} criterion on an attribute not declared (not shown)")
        return ", ".join(shown)


def attribute_name_problem(name: str, reserved: Iterable[str]) -> str | None:
    """Why `name` cannot be declared as a case attribute; None when it can."""
    if not NAME.match(name):
        return (
            "attribute must be lower-case letters, digits and underscores, starting with a "
            "letter, up to 64 long (e.g. plan)"
        )
    if name in set(reserved):
        return f"{name} is already a column of the cases file"
    return None
