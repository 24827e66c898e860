"""Decoding of untrusted image and PDF bytes into 8-bit grayscale pages.

Invariants:

- The declared pixel count of every image or frame is checked against the limit
  before its pixels are decoded, so a small file that declares huge dimensions
  raises `InputTooLarge` without allocating them.
- Errors from Pillow or PDFium on damaged input become `CorruptInput`, chained
  to the original exception.
- PDFium is not thread-safe, even across separate documents (pypdfium2 documentation,
  "Incompatibility with Threading"), so every call into it holds `PDFIUM_LOCK`, and
  every PDFium object is closed explicitly while the lock is held.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from verify.errors import CorruptInput, InputTooLarge, TooManyPixels

__all__ = [
    "MAX_SIDE",
    "PDFIUM_LOCK",
    "check_pixels",
    "open_pdf",
    "pdf_keywords",
    "pdf_page_count",
    "raster_pages",
    "render_pdf_pages",
    "to_gray",
]

logger = logging.getLogger(__name__)

PDFIUM_LOCK = threading.Lock()
"""Lock that every PDFium call in the process must hold."""

# Exceptions that Pillow raises on damaged or truncated files. Its decoders are
# written in C and Python, and a malformed header or chunk can surface as any of
# these rather than as `PIL.UnidentifiedImageError`.
_PIL_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

# One PDF canvas unit is 1/72 inch.
_PDF_UNITS_PER_INCH = 72

# zxing-cpp 3.1 raises ValueError for an image wider or taller than this.
MAX_SIDE = 65_535

_FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP", "tiff": "TIFF"}


def check_pixels(width: int, height: int, max_pixels: int, label: str) -> None:
    """Raise `TooManyPixels` if the image is over `max_pixels` or `MAX_SIDE`."""
    if width * height > max_pixels:
        raise TooManyPixels(
            f"The {label} is {width} × {height} pixels, over the limit of"
            f" {max_pixels:,} pixels: scan or photograph it at a lower resolution,"
            " for example 300 dpi."
        )
    if max(width, height) > MAX_SIDE:
        raise TooManyPixels(
            f"The {label} is {width} × {height} pixels, over the limit of"
            f" {MAX_SIDE:,} pixels on a side: crop it to the QR code."
        )


def raster_pages(
    data: bytes, fmt: str, max_pixels: int, max_pages: int
) -> Iterator[Image.Image]:
    """Decode each frame of a PNG, JPEG, WebP or TIFF file, upright.

    A multi-page TIFF or an animated WebP yields one image per frame. Raises
    `InputTooLarge` when a frame is over `max_pixels` or there are more than
    `max_pages` frames, and `CorruptInput` when the file is damaged.
    """
    name = _FORMAT_NAMES[fmt]
    image = _open_raster(data, name, max_pixels)
    frames = _count_frames(image, name, max_pages + 1)
    if frames > max_pages:
        raise InputTooLarge(
            f"The {name} file has more than {max_pages} pages, over the limit:"
            " upload only the page with the QR code."
        )

    for index in range(frames):
        try:
            image.seek(index)
            check_pixels(image.width, image.height, max_pixels, f"{name} image")
            if fmt == "jpeg":
                # Decoding only the luma channel skips the colour conversion.
                image.draft("L", image.size)
            image.load()
            frame = image.copy() if frames > 1 else image
        except _PIL_ERRORS as exc:
            raise _damaged(name) from exc
        yield _upright(frame)


def to_gray(image: Image.Image) -> np.ndarray:
    """Convert any Pillow image mode to an 8-bit grayscale array.

    Transparent pixels are composited on white, because their colour is often
    black, which would hide the dark modules. Images with more than 8 bits per
    sample are stretched to the full 0–255 range.
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _stretch_to_bytes(np.asarray(image))
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in ("CMYK", "LAB", "HSV"):
        image = image.convert("RGB")
    return np.asarray(image.convert("L"))


@contextmanager
def open_pdf(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """Open PDF bytes with PDFium and close the document on exit."""
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise CorruptInput(
                "The PDF file is damaged, truncated or password-protected and"
                " cannot be opened: upload the original file without a password."
            ) from exc
    try:
        yield document
    finally:
        with PDFIUM_LOCK:
            document.close()


def pdf_keywords(document: pdfium.PdfDocument) -> str:
    """Return the document's Keywords metadata, or "" when it has none."""
    with PDFIUM_LOCK:
        try:
            return document.get_metadata_value("Keywords")
        except pdfium.PdfiumError:
            logger.debug("PDF Keywords metadata could not be read", exc_info=True)
            return ""


def pdf_page_count(document: pdfium.PdfDocument) -> int:
    with PDFIUM_LOCK:
        return len(document)


def render_pdf_pages(
    document: pdfium.PdfDocument, dpi: int, max_pixels: int
) -> Iterator[np.ndarray]:
    """Render each page at `dpi` as an 8-bit grayscale array.

    A page whose rendering would be over `max_pixels` or `MAX_SIDE` is rendered at
    the highest resolution under the limits instead, because PDF page sizes are not
    bounded.
    """
    for index in range(pdf_page_count(document)):
        with PDFIUM_LOCK:
            try:
                gray = _render_page(document, index, dpi, max_pixels)
            except pdfium.PdfiumError as exc:
                raise CorruptInput(
                    f"Page {index + 1} of the PDF file is damaged and cannot be"
                    " rendered: upload the original file again."
                ) from exc
        yield gray


def _render_page(
    document: pdfium.PdfDocument, index: int, dpi: int, max_pixels: int
) -> np.ndarray:
    page = document[index]
    try:
        scale = _render_scale(page.get_size(), dpi, max_pixels)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            return np.array(bitmap.to_numpy(), dtype=np.uint8)
        finally:
            bitmap.close()
    finally:
        page.close()


def _render_scale(size: tuple[float, float], dpi: int, max_pixels: int) -> float:
    width, height = size
    scale = dpi / _PDF_UNITS_PER_INCH
    area = width * height * scale * scale
    if area > max_pixels:
        scale *= math.sqrt(max_pixels / area)
    side = max(width, height) * scale
    if side > MAX_SIDE - 1:
        # PDFium rounds the bitmap size up, so aim one pixel under the limit.
        scale *= (MAX_SIDE - 1) / side
    if scale < dpi / _PDF_UNITS_PER_INCH:
        logger.debug("Rendering a large PDF page at scale %.3f", scale)
    return scale


def _open_raster(data: bytes, name: str, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(
            f"The {name} image declares more pixels than Pillow will decode:"
            " scan or photograph it at a lower resolution, for example 300 dpi."
        ) from exc
    except _PIL_ERRORS as exc:
        raise _damaged(name) from exc
    check_pixels(image.width, image.height, max_pixels, f"{name} image")
    return image


def _count_frames(image: Image.Image, name: str, stop: int) -> int:
    """Count frames, but no more than `stop`.

    Pillow's `n_frames` reads every frame header, and a 10 MB TIFF file can chain
    tens of thousands of them, so this seeks frame by frame instead.
    """
    count = 1
    try:
        while count < stop:
            image.seek(count)
            count += 1
    except EOFError:
        pass
    except _PIL_ERRORS as exc:
        raise _damaged(name) from exc
    try:
        image.seek(0)
    except _PIL_ERRORS as exc:
        raise _damaged(name) from exc
    return count


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, keeping the image as stored if the tag is bad."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except _PIL_ERRORS:
        # zxing-cpp and zbar read codes at any rotation, mirrored too, so a
        # damaged orientation tag changes only the reading order of several codes.
        logger.debug("EXIF orientation could not be applied", exc_info=True)
    return image


def _stretch_to_bytes(samples: np.ndarray) -> np.ndarray:
    values = np.nan_to_num(samples.astype(np.float32), copy=False)
    low = float(values.min())
    high = float(values.max())
    if not high > low:
        return np.full(values.shape, 255, dtype=np.uint8)
    values -= low
    values *= 255.0 / (high - low)
    return values.astype(np.uint8)


def _damaged(name: str) -> CorruptInput:
    return CorruptInput(
        f"The {name} file is damaged or truncated and cannot be decoded:"
        " upload the original file again."
    )
