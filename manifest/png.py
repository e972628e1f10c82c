"""Just enough PNG to write the app's icons and check them, with no imaging library.

Only 8-bit RGBA, non-interlaced images are written or read: that is what the
icons are, and what Teams expects of them.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGBA = 6

Pixel = tuple[int, int, int, int]


class PngError(ValueError):
    """The bytes are not a PNG this module can read."""


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: list[Pixel]  # row by row, top left first

    def pixel(self, x: int, y: int) -> Pixel:
        return self.pixels[y * self.width + x]


def write_png(width: int, height: int, pixels: Sequence[Pixel]) -> bytes:
    """Encode `pixels` (row by row) as an RGBA PNG; the same pixels always give the same bytes."""
    if len(pixels) != width * height:
        raise ValueError(f"{len(pixels)} pixels for a {width}x{height} image")
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        for pixel in pixels[y * width : (y + 1) * width]:
            raw.extend(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, RGBA, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header, without decoding the image."""
    chunks = _chunks(data)
    kind, header = next(chunks)
    if kind != b"IHDR":
        raise PngError("the first chunk is not IHDR")
    width, height = struct.unpack(">II", header[:8])
    return width, height


def read_png(data: bytes) -> Image:
    """Decode an 8-bit RGBA, non-interlaced PNG (any row filter)."""
    header = b""
    compressed = bytearray()
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.extend(body)
    if len(header) != 13:
        raise PngError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if (depth, colour, interlace) != (8, RGBA, 0):
        raise PngError("only 8-bit RGBA, non-interlaced PNGs are read")
    rows = _unfilter(zlib.decompress(bytes(compressed)), width, height)
    pixels = [
        (row[i], row[i + 1], row[i + 2], row[i + 3]) for row in rows for i in range(0, width * 4, 4)
    ]
    return Image(width, height, pixels)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _chunks(data: bytes):
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    offset = len(SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise PngError(f"chunk {kind!r} fails its CRC")
        yield kind, body
        offset += 12 + length


def _unfilter(raw: bytes, width: int, height: int) -> list[bytearray]:
    stride = width * 4
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = row[i - 4] if i >= 4 else 0
            up = previous[i]
            corner = previous[i - 4] if i >= 4 else 0
            row[i] = (row[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(row)
        previous = row
    return rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    if kind == 4:
        estimate = left + up - corner
        near = min((abs(estimate - left), 0), (abs(estimate - up), 1), (abs(estimate - corner), 2))
        return (left, up, corner)[near[1]]
    raise PngError(f"unknown row filter {kind}")
