"""Tests for verify.scanning: QR codes in images and PDF files people upload.

Every fixture is generated here: QR codes drawn with the `qrcode` library, placed on
white A4 pages, then saved in the formats, resolutions and damage that uploads and
scanners produce.
"""

from __future__ import annotations

import base64
import contextlib
import io
import random
import struct
import zlib
from functools import cache

import numpy as np
import pytest
import qrcode
from PIL import Image, ImageFilter, ImageOps

from verify import _imaging, scanning
from verify.errors import (
    CorruptInput,
    InputError,
    InputTooLarge,
    NoQrFound,
    TooManyPixels,
    UnknownFormat,
)
from verify.scanning import ScanLimits, detect_format, scan, scan_images

A4_MM = (210, 297)
FOREIGN_TEXT = "https://example.com/pay?x=1"


def wathiq_text(seed: int = 1, length: int = 560) -> str:
    """Return an uppercase text shaped like an issued QR text: a URL and base32."""
    prefix = "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1."
    body = base64.b32encode(random.Random(seed).randbytes(length)).decode()
    return prefix + body[: length - len(prefix)]


TEXT = wathiq_text()


def mm_to_px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


@cache
def qr_symbol(text: str) -> Image.Image:
    """Draw `text` as a QR code with one pixel per module and a 4-module border."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4
    )
    code.add_data(text)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def a4_page(
    dpi: int, codes: tuple[tuple[str, float, float], ...] = ((TEXT, 160, 242),)
) -> Image.Image:
    """Draw a white A4 page with 40 mm QR codes at the given (text, x mm, y mm)."""
    page = Image.new("L", (mm_to_px(A4_MM[0], dpi), mm_to_px(A4_MM[1], dpi)), 255)
    side = mm_to_px(40, dpi)
    for text, x_mm, y_mm in codes:
        symbol = qr_symbol(text).resize((side, side), Image.Resampling.NEAREST)
        page.paste(symbol, (mm_to_px(x_mm, dpi), mm_to_px(y_mm, dpi)))
    return page


@cache
def page_300() -> Image.Image:
    return a4_page(300)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    checksum = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)


def png_declaring(width: int, height: int) -> bytes:
    """Return a small PNG whose header declares `width` × `height` gray pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def perspective_coefficients(
    source: list[tuple[float, float]], target: list[tuple[float, float]]
) -> list[float]:
    """Solve the 8 coefficients Pillow needs to map `target` points to `source`."""
    rows, values = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return list(np.linalg.solve(np.array(rows), np.array(values)))


# Round trips and image variants


@pytest.mark.parametrize("dpi", [150, 300])
def test_png_round_trip(dpi: int) -> None:
    assert scan(encode(a4_page(dpi), "PNG")) == [TEXT]


@pytest.mark.parametrize("angle", [90, 180, 7])
def test_rotated_page(angle: int) -> None:
    rotated = page_300().rotate(
        angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255
    )
    assert scan(encode(rotated, "PNG")) == [TEXT]


def test_perspective_warp() -> None:
    page = page_300()
    width, height = page.size
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    # Photographed from below and to the left: the top edge is 25% narrower.
    skewed = [
        (0.05 * width, 0.10 * height),
        (0.80 * width, 0.0),
        (width, height),
        (0.0, 0.92 * height),
    ]
    warped = page.transform(
        page.size,
        Image.Transform.PERSPECTIVE,
        perspective_coefficients(corners, skewed),
        Image.Resampling.BICUBIC,
        fillcolor=255,
    )
    assert scan(encode(warped, "PNG")) == [TEXT]


@pytest.mark.parametrize("radius", [1.5, 3])
def test_gaussian_blur(radius: float) -> None:
    # A module of the 40 mm code is about 5.5 pixels wide at 300 dpi.
    blurred = page_300().filter(ImageFilter.GaussianBlur(radius))
    assert scan(encode(blurred, "PNG")) == [TEXT]


def test_jpeg_quality_40() -> None:
    assert scan(encode(page_300(), "JPEG", quality=40)) == [TEXT]


def test_inverted_colours() -> None:
    assert scan(encode(ImageOps.invert(page_300()), "PNG")) == [TEXT]


def test_rgba_transparent_background() -> None:
    # Dark modules are opaque black and every other pixel is transparent black,
    # so dropping the alpha channel would leave a black square.
    symbol = qr_symbol(TEXT).resize((400, 400), Image.Resampling.NEAREST)
    alpha = ImageOps.invert(symbol)
    image = Image.merge("RGBA", (*Image.new("RGB", symbol.size, 0).split(), alpha))
    assert scan(encode(image, "PNG")) == [TEXT]


def test_16_bit_grayscale_png() -> None:
    # Dark modules at 20000 and paper at 60000: clipping to 8 bits leaves all white.
    light = np.asarray(a4_page(150), dtype=np.uint32) // 255
    samples = (20_000 + light * 40_000).astype(np.uint16)
    data = encode(Image.fromarray(samples), "PNG")
    assert data[24] == 16, "the fixture must be a 16-bit PNG"
    assert scan(data) == [TEXT]


def test_cmyk_jpeg() -> None:
    data = encode(page_300().convert("CMYK"), "JPEG", quality=90)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert scan(data) == [TEXT]


def test_palette_png_with_transparency() -> None:
    # Both palette entries are black and entry 0 is transparent, so only
    # compositing on white separates the modules from the background.
    symbol = np.asarray(qr_symbol(TEXT).resize((400, 400), Image.Resampling.NEAREST))
    image = Image.fromarray((symbol == 0).astype(np.uint8), "P")
    image.putpalette([0, 0, 0, 0, 0, 0])
    assert scan(encode(image, "PNG", transparency=0)) == [TEXT]


def test_exif_rotated_jpeg() -> None:
    page = a4_page(150)
    stored = page.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display.
    data = encode(stored, "JPEG", quality=90, exif=exif)

    assert scan(data) == [TEXT]
    (upright,) = _imaging.raster_pages(data, "jpeg", 10**8, 1)
    assert upright.size == page.size


def test_tiff() -> None:
    assert scan(encode(page_300(), "TIFF", compression="tiff_lzw")) == [TEXT]


def test_multi_page_tiff() -> None:
    second = a4_page(150, ((FOREIGN_TEXT, 20, 20),))
    data = encode(a4_page(150), "TIFF", save_all=True, append_images=[second])
    assert scan(data) == [TEXT, FOREIGN_TEXT]


def test_webp() -> None:
    assert scan(encode(page_300(), "WEBP", quality=80)) == [TEXT]


def test_foreign_code_beside_ours() -> None:
    page = a4_page(300, ((FOREIGN_TEXT, 20, 200), (TEXT, 120, 200)))
    assert scan(encode(page, "PNG")) == [FOREIGN_TEXT, TEXT]


def test_text_kept_exactly() -> None:
    # Control characters, CR LF and trailing spaces are content, not formatting.
    text = "LINE 1\r\nTAB\tGS\x1dEND  "
    symbol = qr_symbol(text).resize((300, 300), Image.Resampling.NEAREST)
    assert scan(encode(symbol, "PNG")) == [text]


def test_codes_in_reading_order() -> None:
    page = a4_page(150, ((TEXT, 150, 230), (FOREIGN_TEXT, 20, 20)))
    assert scan(encode(page, "PNG")) == [FOREIGN_TEXT, TEXT]


def test_small_code() -> None:
    # 15 mm for a version 15 symbol: 0.18 mm, about 2 pixels, per module.
    page = a4_page(300, ())
    symbol = qr_symbol(TEXT).resize((mm_to_px(15, 300),) * 2, Image.Resampling.NEAREST)
    page.paste(symbol, (300, 300))
    assert scan(encode(page, "PNG")) == [TEXT]


def test_600_dpi_page() -> None:
    page = a4_page(600)
    assert page.width * page.height > scanning._WORK_MAX_PIXELS
    assert scan(encode(page, "PNG", compress_level=1)) == [TEXT]


def test_small_code_on_600_dpi_page() -> None:
    # Too small to read once the page is reduced, so only the full-resolution
    # attempt reads it.
    page = a4_page(600, ())
    symbol = qr_symbol(TEXT).resize((mm_to_px(10, 600),) * 2, Image.Resampling.NEAREST)
    page.paste(symbol, (600, 600))
    assert scan(encode(page, "PNG", compress_level=1)) == [TEXT]


def test_scan_images_camera_frames() -> None:
    frame = page_300().resize((720, 1018)).convert("RGB")
    empty = Image.new("RGB", (720, 1018), "white")
    assert scan_images([empty, frame]) == [TEXT]
    assert scan_images([empty]) == []


def test_zbar_reads_utf8_exactly() -> None:
    # zbar's default mode would return this UTF-8 text as Shift_JIS mojibake.
    text = "héllo wörld ثبت"
    symbol = np.asarray(qr_symbol(text).resize((300, 300), Image.Resampling.NEAREST))
    assert [found.text for found in scanning._read_zbar(symbol)] == [text]


@pytest.mark.parametrize("raw", [b"h\xe9llo", b"\x93\xfa\x96{", b""])
def test_zbar_rejects_non_utf8(raw: bytes) -> None:
    assert scanning._zbar_text(raw, binary_mode=True) is None


def test_zbar_fallback_keeps_ascii_only() -> None:
    assert scanning._zbar_text(b"PLAIN", binary_mode=False) == "PLAIN"
    assert scanning._zbar_text("héllo".encode(), binary_mode=False) is None


# PDF files


def test_pdf_from_pillow() -> None:
    data = encode(page_300().convert("RGB"), "PDF", resolution=300)
    assert scan(data) == [TEXT]


def test_pdf_every_page_read() -> None:
    second = a4_page(150, ((FOREIGN_TEXT, 20, 20),)).convert("RGB")
    first = a4_page(150).convert("RGB")
    data = encode(first, "PDF", resolution=150, save_all=True, append_images=[second])
    assert scan(data) == [TEXT, FOREIGN_TEXT]


def test_pdf_keywords_never_replace_printed_code() -> None:
    # Metadata can be edited by anyone: the printed code decides.
    page = a4_page(150, ((FOREIGN_TEXT, 20, 20),)).convert("RGB")
    keywords = scanning.PDF_KEYWORDS_PREFIX + TEXT
    data = encode(page, "PDF", resolution=150, keywords=keywords)
    assert scan(data) == [FOREIGN_TEXT]
    assert scanning.embedded_qr_text(data) == TEXT


def test_pdf_other_keywords_ignored() -> None:
    page = a4_page(150).convert("RGB")
    data = encode(page, "PDF", resolution=150, keywords="judgment, appeal")
    assert scan(data) == [TEXT]


def test_pdf_keywords_keep_page_limit() -> None:
    pages = [Image.new("RGB", (100, 100), "white") for _ in range(3)]
    keywords = scanning.PDF_KEYWORDS_PREFIX + TEXT
    data = encode(
        pages[0], "PDF", save_all=True, append_images=pages[1:], keywords=keywords
    )
    with pytest.raises(InputTooLarge, match="pages"):
        scan(data, ScanLimits(max_pdf_pages=1))


def test_pdf_header_after_prefix() -> None:
    data = b"\xef\xbb\xbf" + encode(a4_page(150).convert("RGB"), "PDF", resolution=150)
    assert detect_format(data) == "pdf"
    assert scan(data) == [TEXT]


# Formats and limits


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("WEBP", "webp"),
        ("TIFF", "tiff"),
        ("PDF", "pdf"),
    ],
)
def test_detect_format(fmt: str, expected: str) -> None:
    data = encode(Image.new("RGB", (8, 8), "white"), fmt)
    assert detect_format(data) == expected


def test_jpeg_signature_on_png_rejected() -> None:
    # The first bytes decide the format, so this is decoded as a damaged JPEG.
    data = b"\xff\xd8\xff" + encode(Image.new("L", (8, 8)), "PNG")
    assert detect_format(data) == "jpeg"
    with pytest.raises(CorruptInput, match="damaged or truncated"):
        scan(data)


def test_too_many_bytes() -> None:
    data = encode(page_300(), "PNG")
    with pytest.raises(InputTooLarge) as caught:
        scan(data, ScanLimits(max_bytes=len(data) - 1))
    assert "bytes, over the limit" in str(caught.value)
    assert f"{len(data) - 1:,}" in str(caught.value)


def test_decompression_bomb_header() -> None:
    with pytest.raises(TooManyPixels, match="pixels"):
        scan(png_declaring(100_000, 100_000))


def test_image_over_pixel_limit() -> None:
    # 8000 × 6000 = 48 million pixels: under Pillow's own bomb check, over ours.
    data = encode(Image.new("1", (8000, 6000), 1), "PNG")
    assert len(data) < scanning.MAX_BYTES
    with pytest.raises(TooManyPixels) as caught:
        scan(data)
    assert "8000 × 6000 pixels" in str(caught.value)
    assert f"{scanning.MAX_PIXELS:,}" in str(caught.value)


def test_image_too_wide() -> None:
    # 70000 × 1 is few pixels, but wider than zxing-cpp accepts.
    with pytest.raises(TooManyPixels, match="70000 × 1 pixels, over the limit of"):
        scan(png_declaring(70_000, 1))


def test_pdf_page_extreme_aspect_ratio() -> None:
    # 2000 × 1 pixels at 0.001 dpi: a page 2 million inches wide and 1/1000 tall.
    data = encode(Image.new("RGB", (2000, 1), "white"), "PDF", resolution=0.001)
    with pytest.raises(NoQrFound):
        scan(data)


def test_huge_pdf_page_rendered_smaller() -> None:
    # A 5 × 5 m page at 300 dpi would be about 3.6 billion pixels.
    symbol = qr_symbol(TEXT).resize((1200, 1200), Image.Resampling.NEAREST)
    data = encode(symbol.convert("RGB"), "PDF", resolution=6)
    assert scan(data, ScanLimits(max_pixels=4_000_000)) == [TEXT]


def test_too_many_pdf_pages() -> None:
    pages = [Image.new("RGB", (100, 100), "white") for _ in range(3)]
    data = encode(pages[0], "PDF", save_all=True, append_images=pages[1:])
    with pytest.raises(InputTooLarge, match="has 3 pages, over the limit of 2"):
        scan(data, ScanLimits(max_pdf_pages=2))


def test_too_many_tiff_pages() -> None:
    pages = [Image.new("L", (50, 50), 255) for _ in range(3)]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(InputTooLarge, match="has more than 2 pages"):
        scan(data, ScanLimits(max_pdf_pages=2))


def test_truncated_png() -> None:
    data = encode(page_300(), "PNG")
    with pytest.raises(CorruptInput, match="PNG file is damaged or truncated"):
        scan(data[: len(data) // 2])


def test_truncated_pdf() -> None:
    data = encode(page_300().convert("RGB"), "PDF")
    with pytest.raises(CorruptInput, match="PDF file is damaged"):
        scan(data[:200])


def test_random_bytes() -> None:
    data = random.Random(3).randbytes(4096)
    with pytest.raises(UnknownFormat, match="cannot be read: upload a PNG"):
        scan(data)


def test_empty_input() -> None:
    with pytest.raises(UnknownFormat, match="empty"):
        scan(b"")


def test_text_file() -> None:
    with pytest.raises(UnknownFormat, match="This file type cannot be read"):
        scan(b"HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1.ABC\n")


def test_gif_named_in_error() -> None:
    data = encode(page_300(), "GIF")
    with pytest.raises(UnknownFormat, match="GIF images cannot be read"):
        scan(data)


def test_image_without_code() -> None:
    with pytest.raises(NoQrFound, match="No QR code was found in the image"):
        scan(encode(a4_page(300, ()), "PNG"))


def test_pdf_without_code() -> None:
    page = a4_page(150, ()).convert("RGB")
    with pytest.raises(NoQrFound, match="No QR code was found on any page of the PDF"):
        scan(encode(page, "PDF", resolution=150))


def test_noise_without_code() -> None:
    noise = np.random.default_rng(5).integers(0, 256, (1200, 900), dtype=np.uint8)
    with pytest.raises(NoQrFound):
        scan(encode(Image.fromarray(noise), "PNG"))


def test_limits_reject_zero() -> None:
    with pytest.raises(ValueError, match="max_pdf_pages"):
        ScanLimits(max_pdf_pages=0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "PDF"])
def test_damaged_files_raise_input_errors(fmt: str) -> None:
    # Truncations and flipped bytes must never let a Pillow or PDFium error out.
    image = a4_page(50).convert("RGB")
    data = encode(image, fmt)
    generator = random.Random(fmt)
    for _ in range(40):
        damaged = bytearray(data)
        for _ in range(generator.randint(1, 8)):
            damaged[generator.randrange(len(damaged))] = generator.randrange(256)
        cut = generator.randrange(1, len(damaged) + 1)
        with contextlib.suppress(InputError):
            scan(bytes(damaged[:cut]))
