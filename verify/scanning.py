"""Reading QR codes from uploaded images, PDF files and camera frames.

`scan` identifies the file type from its first bytes, never from a file name, and
returns the text of every distinct QR code it finds. `ScanLimits` caps every
untrusted size before the work it would cost is done.

Each page is decoded in up to six attempts, stopping at the first that finds a
code, so that a clear code costs one decoder call and a page with no code costs at
most six:

1. zxing-cpp on the working image. Pages over 9 million pixels are reduced by a
   whole factor first, because a 600 dpi scan contains far more pixels than a
   printed QR code needs.
2. zxing-cpp on the full-resolution page, only when step 1 used a reduced one.
3. zbar in binary mode. Its bytes are kept only when they are valid UTF-8, because
   in its default mode zbar guesses the character set and returns wrong text.
4. zxing-cpp with one global threshold instead of local averages.
5. The same on the image reduced to half size, which averages halftone dots and
   textured modules into solid ones.
6. zxing-cpp on a sharpened copy, for out-of-focus photos and scans.

zxing-cpp comes first because it read more images of the zxing and zxing-cpp test
sets than zbar, in less time (`bench/decoders.py` measures both).
"""

from __future__ import annotations

import ctypes
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import zxingcpp
from PIL import Image, ImageFilter
from pyzbar import wrapper as zbar

from verify._imaging import (
    check_pixels,
    open_pdf,
    pdf_keywords,
    pdf_page_count,
    raster_pages,
    render_pdf_pages,
    to_gray,
)
from verify.errors import CorruptInput, InputTooLarge, NoQrFound, UnknownFormat

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_BYTES",
    "MAX_PDF_PAGES",
    "MAX_PIXELS",
    "PDF_DPI",
    "PDF_KEYWORDS_PREFIX",
    "ScanLimits",
    "detect_format",
    "embedded_qr_text",
    "scan",
    "scan_images",
]

logger = logging.getLogger(__name__)

# A 600 dpi scan of an A4 page saved as JPEG is a few megabytes (an estimate), so
# larger uploads are almost always the wrong file.
MAX_BYTES = 10 * 1024 * 1024

# An A4 page scanned at 600 dpi is 4961 × 7016 = 34.8 million pixels, and US Letter
# 33.7 million. Decoded as RGB that is about 105 MB.
MAX_PIXELS = 36_000_000

# Every page is rendered and decoded, so the page count bounds the time spent.
# Issued documents carry their QR text in the metadata and skip this limit.
MAX_PDF_PAGES = 20

# Scanned pages are usually stored at 200–300 dpi, and a 40 mm code of a version 15
# symbol gets about 5.5 pixels per module at 300 dpi.
PDF_DPI = 300

# Pages up to an A4 page at 300 dpi (8.7 million pixels) are decoded at full
# resolution. Larger ones are first reduced below this count, and decoded at full
# resolution only when the reduced page yields no code.
_WORK_MAX_PIXELS = 9_000_000

# Maximum characters in a QR symbol: 7089 digits in a version 40-L symbol.
_MAX_QR_TEXT_CHARS = 7089

PDF_KEYWORDS_PREFIX = "WATHIQ-QR "
"""Prefix of the Keywords metadata of issued PDFs, followed by the QR text."""

_ACCEPTED_FORMATS = "a PNG, JPEG, WebP or TIFF image, or a PDF document"

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)

# Formats that people often upload instead, named in the error message.
_REJECTED_SIGNATURES = (
    (b"GIF8", "GIF images"),
    (b"BM", "BMP images"),
    (b"II+\x00", "BigTIFF images"),
    (b"MM\x00+", "BigTIFF images"),
    (b"PK\x03\x04", "ZIP archives and Office documents"),
)

# PDFium opens a file whose "%PDF-" header follows up to about 1 KB of other bytes
# (measured with pypdfium2 5.15), and some PDF writers emit such a prefix.
_PDF_HEADER_WINDOW = 1024

# Micro QR and rMQR symbols are not read: they contain at most 35 and 361 digits, far
# less than a wathiq QR text.
_QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)

# ZBAR_CFG_BINARY from zbar.h (zbar 0.23 and later), which pyzbar 0.1.9 does not
# name: zbar then returns the symbol's bytes instead of text in a guessed charset.
_ZBAR_CFG_BINARY = 4
_ZBAR_Y800 = int.from_bytes(b"Y800", "little")

# Sharpening restores modules that an out-of-focus photo or scan has blurred. With
# it, a 40 mm code at 300 dpi is read under a Gaussian blur of radius 3 pixels,
# where the other attempts stop at 2. Larger images are reduced first, because the
# filter's cost grows with the pixel count.
_SHARPEN_MAX_PIXELS = 3_000_000
_UNSHARP_MASK = ImageFilter.UnsharpMask(radius=2, percent=500, threshold=0)


@dataclass(frozen=True)
class ScanLimits:
    """Caps on the untrusted input of one `scan` call."""

    max_bytes: int = MAX_BYTES
    """Maximum file size, in bytes."""
    max_pixels: int = MAX_PIXELS
    """Maximum pixels in an image or rendered PDF page, checked before decoding."""
    max_pdf_pages: int = MAX_PDF_PAGES
    """Maximum number of pages in a PDF, or frames in a TIFF or WebP file."""
    pdf_dpi: int = PDF_DPI
    """Resolution at which PDF pages are rendered, in dots per inch."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_pdf_pages", "pdf_dpi"):
            if getattr(self, name) < 1:
                raise ValueError(f"ScanLimits.{name} must be at least 1")


DEFAULT_LIMITS = ScanLimits()


@dataclass(frozen=True)
class _Symbol:
    """A decoded QR code and its bounding box, in pixels of the decoded image."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def center_y(self) -> float:
        return (self.top + self.bottom) / 2


def detect_format(data: bytes) -> str:
    """Return "png", "jpeg", "webp", "tiff" or "pdf" from the file's first bytes.

    Raises `UnknownFormat` for empty input and for any other file type.
    """
    if not data:
        raise UnknownFormat(f"The file is empty: upload {_ACCEPTED_FORMATS}.")
    for signature, fmt in _SIGNATURES:
        if data.startswith(signature):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "pdf"

    kind = "This file type"
    for signature, name in _REJECTED_SIGNATURES:
        if data.startswith(signature):
            kind = name
    if data[4:8] == b"ftyp":
        kind = "HEIC, AVIF and MP4 files"
    raise UnknownFormat(f"{kind} cannot be read: upload {_ACCEPTED_FORMATS}.")


def scan(data: bytes, limits: ScanLimits = DEFAULT_LIMITS) -> list[str]:
    """Read every distinct QR code in an image or PDF file, in reading order.

    Codes are ordered by page, then top to bottom, then left to right. PDF pages
    are rendered and read like images; their metadata is ignored (see
    `embedded_qr_text`).

    Raises `InputTooLarge` when the input is over a limit, `UnsupportedInput` when it
    is not an accepted format or is damaged, and `NoQrFound` when no code is read.
    """
    if len(data) > limits.max_bytes:
        raise InputTooLarge(
            f"The file is {len(data):,} bytes, over the limit of"
            f" {limits.max_bytes:,} bytes: upload a smaller file, such as a JPEG"
            " photo or a scan at 300 dpi."
        )
    fmt = detect_format(data)
    if fmt == "pdf":
        texts, where = _scan_pdf(data, limits)
    else:
        pages = raster_pages(data, fmt, limits.max_pixels, limits.max_pdf_pages)
        texts, where = _scan_pages(to_gray(page) for page in pages), "in the image"

    if not texts:
        raise NoQrFound(
            f"No QR code was found {where}: scan or photograph the whole code,"
            " flat, in focus and without glare."
        )
    logger.debug("Read %d QR codes from a %s file", len(texts), fmt)
    return texts


def scan_images(
    images: Iterable[Image.Image], limits: ScanLimits = DEFAULT_LIMITS
) -> list[str]:
    """Read every distinct QR code in already decoded images, such as camera frames.

    Unlike `scan`, this returns an empty list when no code is found, because most
    frames of a camera waiting for a document contain none. Raises `InputTooLarge`
    for an image over `limits.max_pixels`.
    """
    checked = []
    for image in images:
        check_pixels(image.width, image.height, limits.max_pixels, "image")
        checked.append(image)
    return _scan_pages(to_gray(image) for image in checked)


def embedded_qr_text(data: bytes) -> str | None:
    """Return the QR text an issued PDF carries in its Keywords metadata, if any.

    Anyone can edit metadata, so this text is only a key for finding the original
    in the registry: `scan` never returns it, because what decides is the printed
    code on the page.
    """
    with open_pdf(data) as document:
        return _embedded_qr_text(pdf_keywords(document))


def _scan_pdf(data: bytes, limits: ScanLimits) -> tuple[list[str], str]:
    with open_pdf(data) as document:
        count = pdf_page_count(document)
        if count > limits.max_pdf_pages:
            raise InputTooLarge(
                f"The PDF file has {count} pages, over the limit of"
                f" {limits.max_pdf_pages}: upload only the page with the QR code."
            )
        if count == 0:
            raise CorruptInput("The PDF file has no pages: upload the document.")
        pages = render_pdf_pages(document, limits.pdf_dpi, limits.max_pixels)
        return _scan_pages(pages), "on any page of the PDF file"


def _embedded_qr_text(keywords: str) -> str | None:
    if not keywords.startswith(PDF_KEYWORDS_PREFIX):
        return None
    text = keywords[len(PDF_KEYWORDS_PREFIX) :]
    if not text or len(text) > _MAX_QR_TEXT_CHARS:
        logger.debug("Ignored PDF Keywords QR text of %d characters", len(text))
        return None
    return text


def _scan_pages(pages: Iterable[np.ndarray]) -> list[str]:
    texts: list[str] = []
    for gray in pages:
        texts.extend(_decode_page(gray))
    return list(dict.fromkeys(texts))


def _decode_page(full: np.ndarray) -> list[str]:
    """Return the distinct QR texts of one grayscale page, in reading order."""
    # NOTE: the first attempt that reads any code ends the search, so on a reduced
    # page a second code too small to read at that size is not returned.
    work = _reduce(full, _WORK_MAX_PIXELS)
    for number, (label, attempt) in enumerate(_attempts(full, work), start=1):
        symbols = attempt()
        if symbols:
            logger.debug("Attempt %d (%s) read %d codes", number, label, len(symbols))
            return _in_reading_order(symbols)
    logger.debug("No QR code in a %d × %d page", full.shape[1], full.shape[0])
    return []


def _attempts(
    full: np.ndarray, work: np.ndarray
) -> Iterator[tuple[str, Callable[[], list[_Symbol]]]]:
    global_threshold = zxingcpp.Binarizer.GlobalHistogram
    yield "zxing-cpp", lambda: _read_zxing(work)
    if work is not full:
        yield "zxing-cpp, full resolution", lambda: _read_zxing(full)
    yield "zbar", lambda: _read_zbar(work)
    yield "zxing-cpp, global threshold", lambda: _read_zxing(work, global_threshold)
    yield "zxing-cpp, half size", lambda: _read_zxing(_halve(work), global_threshold)
    yield "zxing-cpp, sharpened", lambda: _read_zxing(_sharpen(work))


def _reduce(gray: np.ndarray, max_pixels: int) -> np.ndarray:
    """Shrink by the smallest whole factor that brings the image to `max_pixels`."""
    if gray.size <= max_pixels:
        return gray
    factor = math.ceil(math.sqrt(gray.size / max_pixels))
    return np.asarray(Image.fromarray(gray).reduce(factor))


def _halve(gray: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(gray).reduce(2))


def _sharpen(gray: np.ndarray) -> np.ndarray:
    image = Image.fromarray(_reduce(gray, _SHARPEN_MAX_PIXELS))
    return np.asarray(image.filter(_UNSHARP_MASK))


def _read_zxing(
    gray: np.ndarray,
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
) -> list[_Symbol]:
    # TextMode.Plain returns the decoded text as encoded, where the default
    # human-readable mode rewrites control characters and GS1 data.
    results = zxingcpp.read_barcodes(
        gray,
        formats=_QR_FORMATS,
        text_mode=zxingcpp.TextMode.Plain,
        binarizer=binarizer,
    )
    symbols = []
    for result in results:
        position = result.position
        corners = (
            position.top_left,
            position.top_right,
            position.bottom_right,
            position.bottom_left,
        )
        xs = [point.x for point in corners]
        ys = [point.y for point in corners]
        symbols.append(_Symbol(result.text, min(xs), min(ys), max(xs), max(ys)))
    return symbols


def _read_zbar(gray: np.ndarray) -> list[_Symbol]:
    height, width = gray.shape
    pixels = np.ascontiguousarray(gray).tobytes()
    scanner = zbar.zbar_image_scanner_create()
    image = zbar.zbar_image_create()
    try:
        if not scanner or not image:
            raise MemoryError("zbar could not allocate an image scanner")
        symbol_none, qr = zbar.ZBarSymbol.NONE, zbar.ZBarSymbol.QRCODE
        enable = zbar.ZBarConfig.CFG_ENABLE
        zbar.zbar_image_scanner_set_config(scanner, symbol_none, enable, 0)
        zbar.zbar_image_scanner_set_config(scanner, qr, enable, 1)
        binary = zbar.zbar_image_scanner_set_config(scanner, qr, _ZBAR_CFG_BINARY, 1)
        zbar.zbar_image_set_format(image, _ZBAR_Y800)
        zbar.zbar_image_set_size(image, width, height)
        zbar.zbar_image_set_data(image, pixels, len(pixels), None)
        zbar.zbar_scan_image(scanner, image)
        return list(_zbar_symbols(image, binary_mode=binary == 0))
    finally:
        if image:
            zbar.zbar_image_destroy(image)
        if scanner:
            zbar.zbar_image_scanner_destroy(scanner)


def _zbar_symbols(image: ctypes.c_void_p, binary_mode: bool) -> Iterator[_Symbol]:
    symbol = zbar.zbar_image_first_symbol(image)
    while symbol:
        raw = ctypes.string_at(
            zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol)
        )
        text = _zbar_text(raw, binary_mode)
        if text is not None:
            count = zbar.zbar_symbol_get_loc_size(symbol)
            xs = [zbar.zbar_symbol_get_loc_x(symbol, i) for i in range(count)]
            ys = [zbar.zbar_symbol_get_loc_y(symbol, i) for i in range(count)]
            yield _Symbol(text, min(xs), min(ys), max(xs), max(ys))
        symbol = zbar.zbar_symbol_next(symbol)


def _zbar_text(raw: bytes, binary_mode: bool) -> str | None:
    """Return zbar's bytes as text, or None when they cannot be trusted as text."""
    if not binary_mode and not raw.isascii():
        # A zbar older than 0.23 has converted the bytes from a guessed charset,
        # so only ASCII is certain to match what the symbol contains.
        # NOTE: only zbar 0.23.92 was tested; older releases are expected to
        # reject the binary option, which leads here.
        logger.debug("Dropped a non-ASCII zbar result without binary mode")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        logger.debug("Dropped a zbar result of %d bytes that is not UTF-8", len(raw))
        return None
    return text or None


def _in_reading_order(symbols: list[_Symbol]) -> list[str]:
    """Sort codes into rows, top to bottom, then each row left to right.

    A code joins the current row when its centre is within half the height of the
    row's first code.
    """
    rows: list[list[_Symbol]] = []
    for symbol in sorted(symbols, key=lambda s: s.center_y):
        if rows:
            first = rows[-1][0]
            if symbol.center_y - first.center_y < (first.bottom - first.top) / 2:
                rows[-1].append(symbol)
                continue
        rows.append([symbol])
    ordered = [s.text for row in rows for s in sorted(row, key=lambda s: s.left)]
    return list(dict.fromkeys(ordered))
