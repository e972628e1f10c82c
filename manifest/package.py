"""Check the manifest against the vendored schema and write the zip Teams accepts.

Teams takes a zip with `manifest.json` and the two icons at its root (no
folder inside). The manifest is checked against Microsoft's own schema,
vendored in `schema/` so the check needs no network, before anything is
written: a package that Teams would refuse is never produced.
"""

from __future__ import annotations

import json
import re
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import ValidationError

from manifest.app import AppListing, ManifestError, build_manifest, listing_problems
from manifest.png import png_size, read_png

HERE = Path(__file__).parent
SCHEMA_FILE = HERE / "schema" / "MicrosoftTeams.schema.json"
PACKAGE_NAME = "auditbot.zip"
ICONS = {"color.png": (192, 192), "outline.png": (32, 32)}
# A fixed timestamp, so the same manifest and icons always make the same zip.
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Every way `manifest` breaks the vendored schema, as `path: problem` lines (empty if none).

    Validates as the official validator does: JSON Schema draft-04, plus
    `const`, which the schema uses and that validator enforces.
    """
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top level)'}: {error.message}"
        for error in _validator().iter_errors(manifest)
    ]


def icon_problems(folder: Path = HERE) -> list[str]:
    """What is wrong with the icons Teams requires, if anything."""
    problems = []
    for name, size in ICONS.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name}: missing (run python -m manifest.icons)")
        elif png_size(path.read_bytes()) != size:
            problems.append(f"{name}: must be {size[0]}x{size[1]} pixels")
    if problems:
        return problems
    outline = read_png((folder / "outline.png").read_bytes())
    white = all(pixel[:3] == (255, 255, 255) for pixel in outline.pixels)
    if not white or all(pixel[3] for pixel in outline.pixels):
        problems.append("outline.png: must be white on a transparent background")
    return problems


def write_package(listing: AppListing, output: Path, icons: Path = HERE) -> Path:
    """Build, check and zip the app for `listing` into `output`/auditbot.zip; return its path.

    Raises ManifestError, writing nothing, when the manifest or the icons
    would be refused.
    """
    manifest = build_manifest(listing)
    problems = listing_problems(listing) + schema_errors(manifest) + icon_problems(icons)
    if problems:
        raise ManifestError("the Teams app package would be refused: " + "; ".join(problems))
    output.mkdir(parents=True, exist_ok=True)
    path = output / PACKAGE_NAME
    files = {"manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()}
    files.update((name, (icons / name).read_bytes()) for name in ICONS)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return path


@cache
def _validator() -> Any:
    validators = jsonschema.validators
    teams_draft4 = validators.extend(
        jsonschema.Draft4Validator,
        {"const": jsonschema.Draft6Validator.VALIDATORS["const"], "pattern": _pattern},
    )
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("uri")(_is_uri)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return teams_draft4(schema, format_checker=formats)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str) -> Any:
    """The schema's patterns are ECMAScript; a few (`\\p{L}`) need the `regex` module."""
    try:
        return re.compile(pattern)
    except re.error:
        import regex  # installed with botbuilder-dialogs

        return regex.compile(pattern)


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$", value))
