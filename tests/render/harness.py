"""Drive Microsoft's Adaptive Cards renderer (npm `adaptivecards`) in headless Chromium.

`render.mjs` (Node, with playwright-core) opens `page.html`, which loads the
renderer and `card.js`; each card is parsed as schema 1.5 with a Teams-like
host config (`host-config.json`), its parse and validation events are
collected, and it is screenshotted, with each show-card form opened too.
One browser renders a whole batch.

Needs Chromium (Debian's `chromium`, or AUDITBOT_TEST_CHROMIUM naming one)
and Node with npm; the Node packages are installed here with `npm ci` from
the committed lock file the first time they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "cards"
CHROMIUM_VARIABLE = "AUDITBOT_TEST_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RENDER_TIMEOUT_SECONDS = 300


class RendererUnavailable(Exception):
    """Chromium, Node or the renderer's packages are missing; the message says which."""


@dataclass(frozen=True)
class Rendered:
    name: str
    events: list[dict[str, str]]  # parse and validation warnings, page errors
    screenshots: list[Path]
    width: float
    height: float
    # Teams-only elements (charts) this renderer drew from their fallback, as a client
    # without charts would; not warnings (see card.js).
    fallbacks: list[str] = field(default_factory=list)


def find_chromium() -> str:
    named = os.environ.get(CHROMIUM_VARIABLE)
    if named:
        if not Path(named).is_file():
            raise RendererUnavailable(f"{CHROMIUM_VARIABLE}={named} is not a file")
        return named
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RendererUnavailable(
        "Chromium is not installed (apt-get install chromium, or set "
        f"{CHROMIUM_VARIABLE}); .ci/run installs it"
    )


def ensure_node_packages() -> str:
    """The path of `node`, with the renderer's packages installed from the lock file."""
    node = shutil.which("node")
    if node is None:
        raise RendererUnavailable("Node.js is not installed (it runs the card renderer)")
    packages = ("adaptivecards", "playwright-core", "axe-core")
    if all((HERE / "node_modules" / name / "package.json").is_file() for name in packages):
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise RendererUnavailable("npm is not installed, so tests/render's packages cannot be")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise RendererUnavailable(f"npm ci in tests/render failed: {result.stderr.strip()[-500:]}")
    return node


def render_cards(
    cards: Mapping[str, dict[str, Any]], out_dir: Path, *, chromium: str, node: str
) -> dict[str, Rendered]:
    """Render every card; screenshots go to `out_dir/<name>.png` (and `--form-N.png`, but
    not for the `-most` examples, whose forms are their plain twin's); a name may have a
    folder in it, as in "controls/bad-colour"."""
    for name in cards:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
    job = {
        "chromium": chromium,
        "cards": [
            {
                "name": name,
                "card": card,
                "screenshot": str(out_dir / f"{name}.png"),
                "forms": not name.endswith("-most"),
            }
            for name, card in cards.items()
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(job, file)
    try:
        result = subprocess.run(
            [node, str(HERE / "render.mjs"), file.name],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_SECONDS,
        )
    finally:
        os.unlink(file.name)
    if result.returncode != 0:
        raise RuntimeError(f"the card renderer failed:\n{result.stderr[-3000:]}")
    return {
        item["name"]: Rendered(
            name=item["name"],
            events=item["events"],
            screenshots=[Path(path) for path in item["screenshots"]],
            width=item["width"],
            height=item["height"],
            fallbacks=item.get("fallbacks", []),
        )
        for item in json.loads(result.stdout)["results"]
    }


def clear_screenshots(folder: Path) -> None:
    """Forget the last run's pictures, so the folder shows exactly this run's cards."""
    if folder.is_dir():
        for old in folder.rglob("*.png"):
            old.unlink()
