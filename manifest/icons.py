"""Draw auditbot's two Teams icons: a clipboard with a tick.

Teams asks for a full-colour 192x192 icon (full bleed, the mark inside the
central 120x120) and a 32x32 outline icon that is white on transparent. Both
are drawn here from shapes, anti-aliased by signed distance, and written as
PNGs beside this file:

    python -m manifest.icons

The PNGs are committed; run this again only when the design changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from manifest.png import Pixel, write_png

ACCENT = "#0B5D6B"  # the tile behind the mark, and the manifest's accentColor
CLIP = "#FFC940"
WHITE = "#FFFFFF"

COLOR_SIZE = 192
OUTLINE_SIZE = 32
HERE = Path(__file__).parent

Distance = Callable[[float, float], float]  # negative inside the shape


def rounded_rect(left: float, top: float, right: float, bottom: float, radius: float) -> Distance:
    cx, cy = (left + right) / 2, (top + bottom) / 2
    hx, hy = (right - left) / 2 - radius, (bottom - top) / 2 - radius

    def distance(x: float, y: float) -> float:
        qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - radius

    return distance


def circle(cx: float, cy: float, radius: float) -> Distance:
    return lambda x, y: math.hypot(x - cx, y - cy) - radius


def stroke(points: list[tuple[float, float]], width: float) -> Distance:
    """A line through `points`, `width` wide, with round ends and joins."""
    segments = list(zip(points, points[1:], strict=False))

    def distance(x: float, y: float) -> float:
        return min(_to_segment(x, y, a, b) for a, b in segments) - width / 2

    return distance


def outline_of(shape: Distance, width: float) -> Distance:
    """The band `width` wide centred on the edge of `shape`."""
    return lambda x, y: abs(shape(x, y)) - width / 2


def union(*shapes: Distance) -> Distance:
    return lambda x, y: min(shape(x, y) for shape in shapes)


def coverage(shape: Distance, x: int, y: int) -> float:
    """How much of pixel (x, y) the shape covers, from the distance at its centre."""
    return min(max(0.5 - shape(x + 0.5, y + 0.5), 0.0), 1.0)


def color_icon() -> bytes:
    """192x192, full bleed: a white clipboard with a teal tick on the accent colour."""
    layers: list[tuple[Distance, str]] = [
        (rounded_rect(54, 46, 138, 156, 11), WHITE),  # the board
        (union(rounded_rect(72, 36, 120, 60, 7), circle(96, 36, 11)), CLIP),
        (circle(96, 35, 4.5), ACCENT),  # the clip's hole
        (stroke([(72, 106), (89, 123), (121, 86)], 13), ACCENT),  # the tick
    ]
    background = _rgb(ACCENT)
    pixels: list[Pixel] = []
    for y in range(COLOR_SIZE):
        for x in range(COLOR_SIZE):
            colour = background
            for shape, paint in layers:
                colour = _over(colour, _rgb(paint), coverage(shape, x, y))
            pixels.append((*colour, 255))
    return write_png(COLOR_SIZE, COLOR_SIZE, pixels)


def outline_icon() -> bytes:
    """32x32, white on transparent: the same clipboard as line art."""
    mark = union(
        outline_of(rounded_rect(7, 7, 25, 29, 3), 2),  # the board
        rounded_rect(11, 3, 21, 9, 1.5),  # the clip
        stroke([(11, 18.5), (14.5, 22), (21, 14.5)], 2.4),  # the tick
    )
    pixels: list[Pixel] = [
        (255, 255, 255, round(255 * coverage(mark, x, y)))
        for y in range(OUTLINE_SIZE)
        for x in range(OUTLINE_SIZE)
    ]
    return write_png(OUTLINE_SIZE, OUTLINE_SIZE, pixels)


def write_icons(folder: Path = HERE) -> list[Path]:
    written = []
    for name, data in (("color.png", color_icon()), ("outline.png", outline_icon())):
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


def _to_segment(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _over(below: tuple[int, int, int], above: tuple[int, int, int], amount: float):
    r, g, b = (round(lo + (hi - lo) * amount) for lo, hi in zip(below, above, strict=True))
    return r, g, b


if __name__ == "__main__":
    for path in write_icons():
        print(f"wrote {path}")  # noqa: T201 - a script run by hand
