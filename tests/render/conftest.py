"""The gallery rendered once per test session, shared by the render tests.

Without Chromium or Node the render tests skip with the reason, except in
CI (CI=true), where they fail: CI must not go green without rendering.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.render.gallery import GALLERY
from tests.render.harness import (
    ARTIFACTS,
    Rendered,
    RendererUnavailable,
    clear_screenshots,
    ensure_node_packages,
    find_chromium,
    render_cards,
)

# Deliberately broken cards: the renderer must complain about each, or the
# render tests would pass whatever the cards contained.
CONTROLS: dict[str, dict[str, Any]] = {
    "unknown-element": {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "Chart.Pie", "data": []}],
    },
    "newer-than-teams": {
        "type": "AdaptiveCard",
        "version": "1.6",
        "body": [{"type": "TextBlock", "text": "Hello"}],
    },
    "unlabelled-required-input": {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "Input.Text", "id": "reason", "isRequired": True}],
    },
    # Teams' charts are drawn from their fallback here; these must still warn: a chart
    # whose fallback is itself unknown, and an unknown element that is not a chart.
    "chart-with-unknown-fallback": {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "Chart.Donut", "data": [], "fallback": {"type": "Chart.Pie"}}],
    },
    "unknown-element-with-fallback": {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "Custom.Widget", "fallback": {"type": "TextBlock", "text": "Hi"}}],
    },
    "bad-colour": {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Overdue", "color": "Red"}],
    },
}


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every gallery card and control, rendered in one browser; screenshots kept in
    test-artifacts/cards/ (the controls in its controls/ folder)."""
    try:
        chromium = find_chromium()
        node = ensure_node_packages()
    except RendererUnavailable as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"card rendering cannot be skipped in CI: {missing}")
        pytest.skip(f"cannot render cards: {missing}")
    clear_screenshots(ARTIFACTS)
    cards = {example.name: example.build() for example in GALLERY}
    cards.update({f"controls/{name}": card for name, card in CONTROLS.items()})
    return render_cards(cards, ARTIFACTS, chromium=chromium, node=node)
