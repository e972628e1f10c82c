"""A gallery entry: a card builder and the example data to call it with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialogs.actions import MAX_TEXT

# Free text as long as any card action accepts.
LONGEST = ("A long answer, typed in full. " * 200)[:MAX_TEXT]


@dataclass(frozen=True)
class Example:
    name: str
    builder: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def build(self) -> dict[str, Any]:
        return self.builder(*self.args, **self.kwargs)


def example(
    name: str, builder: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any
) -> Example:
    """One gallery entry: the card `builder(*args, **kwargs)` makes, saved as `name`.png."""
    return Example(name, builder, args, kwargs)
