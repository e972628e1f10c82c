"""Every card the bot can send, drawn by Microsoft's Adaptive Cards renderer as Teams
would (schema 1.5), with no parse or validation warning, and fit to send.

Screenshots are kept in test-artifacts/cards/ after the run, one per gallery
entry and one more per show-card form, opened.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import cards
from dialogs import flows  # noqa: F401 (declares every card action)
from dialogs.actions import ACTIONS
from tests.render.checks import card_problems, execute_verbs
from tests.render.conftest import CONTROLS
from tests.render.gallery import GALLERY, Example
from tests.render.harness import Rendered

NAMES = [example.name for example in GALLERY]


def card_builders() -> dict[str, Callable[..., Any]]:
    """Every public `*_card` function defined in the cards package, by qualified name."""
    found = {}
    for module_info in pkgutil.iter_modules(cards.__path__, prefix="cards."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and value.__module__ == module.__name__
                and name.endswith("_card")
                and not name.startswith("_")
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_card_builder_has_a_gallery_entry():
    drawn = {example.builder for example in GALLERY}
    missing = sorted(name for name, builder in card_builders().items() if builder not in drawn)
    assert not missing, f"add an example(...) to tests/render/gallery.py for: {missing}"


def test_gallery_names_are_unique_file_names():
    assert len(set(NAMES)) == len(NAMES)
    assert all(name.replace("-", "").isalnum() and name.islower() for name in NAMES)


@pytest.mark.parametrize("example", GALLERY, ids=NAMES)
def test_card_is_teams_sized_versioned_and_accessible(example: Example):
    assert card_problems(example.build()) == []


@pytest.mark.parametrize("example", GALLERY, ids=NAMES)
def test_every_button_names_a_declared_card_action(example: Example):
    unknown = execute_verbs(example.build()) - set(ACTIONS)
    assert not unknown, f"buttons whose verb no card action handles: {sorted(unknown)}"


@pytest.mark.parametrize("name", NAMES)
def test_card_renders_without_warnings(rendered: dict[str, Rendered], name: str):
    result = rendered[name]

    assert result.events == []
    assert result.width > 0 and result.height > 0
    for screenshot in result.screenshots:
        assert screenshot.stat().st_size > 0, screenshot


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_renderer_reports_a_broken_card(rendered: dict[str, Rendered], name: str):
    """The harness is only worth its green if it goes red: each control card must warn."""
    assert rendered[f"controls/{name}"].events != []


def test_teams_charts_are_drawn_from_their_fallback_and_reported(rendered: dict[str, Rendered]):
    """This renderer has no charts; like any client without them it draws each chart's
    fallback, which the harness reports apart from warnings (see card.js)."""
    digest = rendered["digest"]
    assert digest.fallbacks == ["Chart.VerticalBar.Grouped", "Chart.Donut"]
    assert digest.events == []
    assert rendered["controls/chart-with-unknown-fallback"].fallbacks == ["Chart.Donut"]


def test_a_card_with_buttons_screenshots_its_forms(rendered: dict[str, Rendered]):
    """The auditor's card has "Ask to be exempt"; its opened form is pictured too."""
    screenshots = rendered["allocation-auditor"].screenshots
    assert [path.name for path in screenshots] == [
        "allocation-auditor.png",
        "allocation-auditor--form-1.png",
    ]


class TestChecksCatchWhatTheyShould:
    def card(self, *body: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {"type": "AdaptiveCard", "version": "1.5", "body": list(body), **fields}

    def test_an_unlabelled_input_in_a_form(self):
        form = {"type": "AdaptiveCard", "body": [{"type": "Input.Text", "id": "why"}]}
        card = self.card(actions=[{"type": "Action.ShowCard", "title": "Ask", "card": form}])
        assert card_problems(card) == ["$.actions[0].card.body[0]: Input.Text 'why' has no label"]

    def test_colour_alone(self):
        dot = {"type": "TextBlock", "text": "●", "color": "Attention"}
        word = {"type": "TextBlock", "text": "Overdue", "color": "Attention"}
        empty = {"type": "Container", "style": "good", "items": []}
        assert card_problems(self.card(dot, word, empty)) == [
            "$.body[0]: TextBlock is coloured attention without words saying why",
            "$.body[2]: Container is styled good without words saying why",
        ]

    def test_size_version_and_images(self):
        big = {"type": "TextBlock", "text": "x" * 90_000}
        image = {"type": "Image", "url": "https://example.org/chart.png"}
        problems = card_problems(self.card(big, image, version="1.6"))
        assert problems[0] == "$: version is '1.6'; Teams renders 1.5"
        assert problems[1].endswith("cards must stay under 81920")
        assert problems[2] == "$.body[1]: image has no altText"
