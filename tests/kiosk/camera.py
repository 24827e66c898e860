"""Photo-like camera pictures of printed documents, and Y4M videos of them.

A printed page is rendered from the issued PDF, then photographed in software: the
part of the page around the QR code is tilted in perspective, lit unevenly,
blurred a little and given sensor noise, over a dark desk. Chromium plays the
video in a loop as its fake camera (``--use-file-for-fake-video-capture``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image, ImageFilter

FRAME_SIZE = (1280, 720)
# Printed documents rendered at this resolution have about 4 pixels per QR module,
# close to what a 720p camera captures of a page held 20 to 30 cm away.
PRINT_DPI = 200


def render_page(pdf: bytes, dpi: int = PRINT_DPI) -> Image.Image:
    """Render the first page of `pdf` as an RGB image."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        bitmap = page.render(scale=dpi / 72)
        image = bitmap.to_pil().convert("RGB")
        page.close()
    finally:
        document.close()
    return image


def qr_box(page: Image.Image) -> tuple[int, int, int, int]:
    """Return the bounding box (left, top, right, bottom) of the page's QR code."""
    results = zxingcpp.read_barcodes(np.asarray(page.convert("L")))
    if not results:
        raise AssertionError("the rendered page has no readable QR code")
    position = results[0].position
    corners = [
        position.top_left,
        position.top_right,
        position.bottom_right,
        position.bottom_left,
    ]
    xs = [point.x for point in corners]
    ys = [point.y for point in corners]
    return min(xs), min(ys), max(xs), max(ys)


def photograph(
    page: Image.Image, seed: int = 0, size: tuple[int, int] = FRAME_SIZE
) -> Image.Image:
    """Return a camera-like picture of the part of `page` around its QR code."""
    rng = np.random.default_rng(seed)
    left, top, right, bottom = qr_box(page)
    side = max(right - left, bottom - top)
    # The visitor holds the code near the middle of the picture, with some of the
    # page's text around it.
    margin = side * 0.9
    # The crop stops at the paper's edges, and the desk shows beyond them.
    crop = page.crop(
        (
            max(0, int(left - margin * 1.4)),
            max(0, int(top - margin * 0.7)),
            min(page.width, int(right + margin * 1.4)),
            min(page.height, int(bottom + margin * 0.5)),
        )
    )
    width, height = size
    scale = height * 0.95 / crop.height
    crop = crop.resize(
        (int(crop.width * scale), int(crop.height * scale)), Image.Resampling.LANCZOS
    )
    desk = Image.new("RGB", size, (58, 52, 47))
    offset = (
        (width - crop.width) // 2 + int(rng.integers(-20, 20)),
        (height - crop.height) // 2 + int(rng.integers(-10, 10)),
    )
    desk.paste(crop, offset)
    picture = desk.transform(
        size,
        Image.Transform.PERSPECTIVE,
        _perspective(size, rng),
        Image.Resampling.BICUBIC,
        fillcolor=(58, 52, 47),
    )
    picture = picture.filter(ImageFilter.GaussianBlur(radius=0.8))
    return _light_and_noise(picture, rng)


def _perspective(size: tuple[int, int], rng: np.random.Generator) -> list[float]:
    """Return PIL perspective coefficients for a page tilted a few degrees."""
    width, height = size
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    jitter = rng.uniform(-0.04, 0.04, size=(4, 2)) * [width, height]
    target = source + jitter + [[0, 0], [0, 0.03 * height], [0, -0.02 * height], [0, 0]]
    # Solve for the 8 coefficients that map output pixels to input pixels.
    rows, values = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    return list(np.linalg.solve(np.array(rows), np.array(values)))


def _light_and_noise(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(picture).astype(np.float32)
    width = pixels.shape[1]
    # Light falls from one side: 100 % down to about 70 %, warm paper tone.
    ramp = np.linspace(1.0, 0.7, width, dtype=np.float32)[None, :, None]
    pixels = pixels * ramp * np.array([1.0, 0.97, 0.9], np.float32)
    pixels += rng.normal(0, 6, size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def blank_picture(size: tuple[int, int] = FRAME_SIZE) -> Image.Image:
    """Return a picture of an empty desk, for a camera with no document in view."""
    rng = np.random.default_rng(1)
    return _light_and_noise(Image.new("RGB", size, (58, 52, 47)), rng)


def write_y4m(path: Path, pictures: list[Image.Image], fps: int = 15) -> Path:
    """Write `pictures` as a YUV4MPEG2 4:2:0 video, the format Chromium plays."""
    width, height = pictures[0].size
    with open(path, "wb") as stream:
        stream.write(
            f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
        )
        for picture in pictures:
            y, cb, cr = picture.convert("YCbCr").split()
            half = (width // 2, height // 2)
            stream.write(b"FRAME\n")
            stream.write(y.tobytes())
            stream.write(cb.resize(half, Image.Resampling.BILINEAR).tobytes())
            stream.write(cr.resize(half, Image.Resampling.BILINEAR).tobytes())
    return path
