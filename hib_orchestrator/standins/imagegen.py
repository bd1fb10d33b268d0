"""Real, small, deterministic PNG and JPEG files for the stand-ins and tests.

PNGs carry random RGB noise (so they do not compress and sizes vary); JPEGs are a valid
baseline 8x8 grayscale frame with a random comment segment (each one unique).
"""

from __future__ import annotations

import random
import struct
import zlib

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rng: random.Random, width: int | None = None, height: int | None = None) -> bytes:
    """A truecolour PNG of random noise (8-64 px a side unless given)."""
    w = width or rng.randint(8, 64)
    h = height or rng.randint(8, 64)
    rows = b"".join(b"\x00" + rng.randbytes(w * 3) for _ in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(rows, 1))
        + _chunk(b"IEND", b"")
    )


def jpeg(rng: random.Random) -> bytes:
    """A baseline 8x8 mid-grey JPEG with a random comment (``FFFE``) segment."""
    comment = rng.randbytes(rng.randint(64, 2048))
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    # One-symbol Huffman tables: DC category 0 and AC end-of-block, both coded as bit "0".
    counts = b"\x01" + b"\x00" * 15
    dht = b"".join(
        b"\xff\xc4" + struct.pack(">H", 20) + cls + counts + b"\x00" for cls in (b"\x00", b"\x10")
    )
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    com = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return _SOI + com + dqt + sof + dht + sos + b"\x3f" + _EOI


def image(rng: random.Random) -> tuple[str, bytes]:
    """A random image and its extension (mostly PNG)."""
    if rng.random() < 0.25:
        return ".jpg", jpeg(rng)
    return ".png", png(rng)
