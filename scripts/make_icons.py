"""Draw the PWA icons (black square, a small white 'o' and a large 'O') with the stdlib only.

Run once: `python scripts/make_icons.py`; the PNGs in assets/ are committed.
"""

import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def ring(cx: float, cy: float, r_out: float, r_in: float, x: float, y: float) -> float:
    """Coverage (0..1) of a pixel centre by a ring, with 1-pixel anti-aliasing."""
    d = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
    return max(0.0, min(1.0, r_out - d + 0.5, d - r_in + 0.5))


def draw(size: int, safe: float) -> bytes:
    """RGBA rows: the mark scaled into the central ``safe`` fraction (maskable icons need ~80%)."""
    s = size * safe
    off = (size - s) / 2
    big = (off + s * 0.65, size / 2, s * 0.34, s * 0.22)
    small = (off + s * 0.15, size / 2 + s * 0.14, s * 0.15, s * 0.08)
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            c = max(ring(*big, x + 0.5, y + 0.5), ring(*small, x + 0.5, y + 0.5))
            v = int(255 * c)
            row += bytes((v, v, v, 255))
        rows.append(bytes(row))
    return b"".join(rows)


def png(size: int, safe: float) -> bytes:
    """A PNG file's bytes."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(draw(size, safe), 9))
        + chunk(b"IEND", b"")
    )


def ico(sizes: tuple[int, ...] = (16, 32, 48)) -> bytes:
    """A favicon.ico: an ICONDIR whose entries hold PNG images (every current browser reads these)."""
    images = [png(size, 0.9) for size in sizes]
    offset = 6 + 16 * len(images)
    head = struct.pack("<HHH", 0, 1, len(images))
    for size, data in zip(sizes, images, strict=True):
        head += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return head + b"".join(images)


if __name__ == "__main__":
    (ASSETS / "favicon.ico").write_bytes(ico())
    for name, size, safe in (
        ("icon-192.png", 192, 0.9),
        ("icon-512.png", 512, 0.9),
        ("icon-maskable-512.png", 512, 0.7),
    ):
        (ASSETS / name).write_bytes(png(size, safe))
