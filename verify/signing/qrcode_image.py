"""QR symbols for signed document texts, as a module matrix and as a PNG.

Invariants:

- Every symbol uses error correction level M and one segment in the QR alphanumeric
  mode (`0-9A-Z $%*+-./:`). Text with any other character raises ValueError instead
  of falling back to byte mode, which takes 8 bits per character instead of 5.5.
- `QrSymbol.modules` has no quiet zone. Callers that draw the symbol add at least
  `MIN_QUIET_ZONE` light modules on every side.
- A PNG has whole-pixel square modules, so it can be scaled again without blurring.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import qrcode.constants
import qrcode.util
import zxingcpp
from PIL import Image

__all__ = [
    "ALPHANUMERIC_CHARS",
    "MAX_TEXT_CHARS",
    "MIN_QUIET_ZONE",
    "QrSymbol",
    "qr_matrix",
    "qr_png",
]

ALPHANUMERIC_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
"""The 45 characters of the QR alphanumeric mode."""

MIN_QUIET_ZONE = 4
"""Light border, in modules, that the QR standard requires around a symbol."""

MAX_TEXT_CHARS = 3391
"""Alphanumeric capacity of a version 40 symbol at error correction M."""

# Caps a version 40 PNG at 185 * 64 = 11,840 pixels a side.
_MAX_MODULE_PX = 64


@dataclass(frozen=True)
class QrSymbol:
    """A QR symbol as rows of modules, True for dark, without the quiet zone."""

    version: int
    modules: list[list[bool]]

    @property
    def size(self) -> int:
        """Number of modules on each side: 17 + 4 * version."""
        return len(self.modules)

    def dark_runs(self) -> list[tuple[int, int, int]]:
        """Return (row, first column, length) of each horizontal run of dark modules."""
        runs = []
        for row_index, row in enumerate(self.modules):
            start = None
            for column, dark in enumerate([*row, False]):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    runs.append((row_index, start, column - start))
                    start = None
        return runs


def qr_matrix(text: str) -> QrSymbol:
    """Encode `text` as a QR symbol at error correction M in alphanumeric mode.

    Raises ValueError if `text` is empty, has a character outside
    `ALPHANUMERIC_CHARS` (lowercase letters included), or does not fit in version 40.
    """
    _check_alphanumeric(text)
    # qrcode 8.2 raises a generic "Invalid version" error past version 40, so the
    # capacity is checked here first.
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"QR text has {len(text)} characters, but a version 40 symbol at error"
            f" correction M fits at most {MAX_TEXT_CHARS}"
        )
    # zxing-cpp's encoder runs in C++ and is about 30 times faster than qrcode's
    # mask selection in Python, which was a fifth of the time to render a PDF.
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    version = (pixels.shape[0] - 17) // 4
    expected = _alphanumeric_version(len(text))
    if version != expected:
        raise ValueError(
            f"the encoder chose version {version}, but alphanumeric mode needs"
            f" version {expected}; it did not use alphanumeric mode"
        )
    modules = (pixels < 128).tolist()
    return QrSymbol(version=version, modules=modules)


def _alphanumeric_version(length: int) -> int:
    """Return the smallest version whose capacity at level M fits `length` characters
    in one alphanumeric segment (mode indicator, count and 5.5 bits a character)."""
    for version in range(1, 41):
        count_bits = qrcode.util.length_in_bits(qrcode.util.MODE_ALPHA_NUM, version)
        needed = 4 + count_bits + 11 * (length // 2) + 6 * (length % 2)
        if (
            needed
            <= qrcode.util.BIT_LIMIT_TABLE[qrcode.constants.ERROR_CORRECT_M][version]
        ):
            return version
    raise ValueError(f"{length} alphanumeric characters do not fit in version 40")


def qr_png(text: str, module_px: int = 8, quiet_zone: int = MIN_QUIET_ZONE) -> bytes:
    """Draw the QR symbol of `text` as a black-and-white PNG.

    Each module is `module_px` by `module_px` pixels, and `quiet_zone` light modules
    surround the symbol. Raises ValueError for the texts `qr_matrix` rejects, for
    `module_px` outside 1 to 64, or for a quiet zone under `MIN_QUIET_ZONE` modules.
    """
    if not 1 <= module_px <= _MAX_MODULE_PX:
        raise ValueError(
            f"module_px is {module_px}, but must be a whole number of pixels from 1"
            f" to {_MAX_MODULE_PX}"
        )
    if quiet_zone < MIN_QUIET_ZONE:
        raise ValueError(
            f"quiet_zone is {quiet_zone} modules, but QR readers need at least"
            f" {MIN_QUIET_ZONE}"
        )
    symbol = qr_matrix(text)
    side = symbol.size + 2 * quiet_zone

    # Draw one pixel per module, then enlarge by a whole factor with nearest
    # neighbour, so every module stays a sharp square.
    image = Image.new("1", (side, side), color=1)
    for y, row in enumerate(symbol.modules):
        for x, dark in enumerate(row):
            if dark:
                image.putpixel((x + quiet_zone, y + quiet_zone), 0)
    image = image.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)

    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _check_alphanumeric(text: str) -> None:
    if not text:
        raise ValueError("QR text is empty")
    invalid = sorted(set(text) - ALPHANUMERIC_CHARS)
    if invalid:
        first_invalid = ", ".join(repr(char) for char in invalid[:5])
        raise ValueError(
            f"QR text contains {first_invalid}, outside the QR alphanumeric set"
            " (0-9, A-Z, space and $%*+-./:). Write the URL in uppercase."
        )
