"""Both document types verified from images rendered from our own issued PDFs."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qrcode
from PIL import Image, ImageFilter, ImageOps

from tests.conftest import PASSPHRASE
from verify.config import Home
from verify.demo import photograph, render_page
from verify.documents import parse_document
from verify.inputs import verify_file
from verify.signing.authority import Authority
from verify.trust import TrustStore
from verify.verdict import Status

EXAMPLES = Path(__file__).parent.parent / "examples"
KINDS = ["judgment_copy", "attendance_proof"]


@dataclass
class Issued:
    pdf: bytes
    document_id: str
    store: TrustStore
    page_300: Image.Image
    page_150: Image.Image


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Issued]]:
    home = tmp_path_factory.mktemp("home")
    saved = {
        name: os.environ.get(name) for name in ("WATHIQ_HOME", "WATHIQ_KEY_PASSPHRASE")
    }
    os.environ["WATHIQ_HOME"] = str(home)
    os.environ["WATHIQ_KEY_PASSPHRASE"] = PASSPHRASE
    try:
        authority = Authority(Home.from_env())
        now = datetime.now(UTC)
        authority.init_keys("RYD-ADM", now)
        authority.publish(now)
        store = TrustStore.load(authority.home.trust_dir)
        documents = {}
        for kind in KINDS:
            data = json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))
            result = authority.issue(parse_document(kind, data), now, with_pdf=True)
            assert result.pdf is not None
            documents[kind] = Issued(
                result.pdf,
                result.document_id,
                store,
                render_page(result.pdf, 300),
                render_page(result.pdf, 150),
            )
        yield documents
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def encode(image: Image.Image, kind: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def perspective(image: Image.Image) -> Image.Image:
    width, height = image.size
    # Map the output rectangle onto a trapezoid of the page: a camera held at an angle.
    return image.transform(
        image.size,
        Image.Transform.QUAD,
        (
            width * 0.04, height * 0.02,
            width * 0.02, height * 0.97,
            width * 0.99, height * 1.0,
            width * 0.93, height * 0.0,
        ),
        Image.Resampling.BICUBIC,
        fillcolor="white",
    )  # fmt: skip


def with_glare(image: Image.Image, strength: float = 0.7) -> Image.Image:
    """Brighten a disc over the QR code, as a lamp reflected in glossy paper does."""
    import numpy as np

    pixels = np.asarray(image, dtype=np.float32)
    height, width = pixels.shape[:2]
    rows, columns = np.mgrid[0:height, 0:width]
    centre_x, centre_y, radius = width * 0.12, height * 0.88, width * 0.12
    distance = np.hypot(columns - centre_x, rows - centre_y)
    light = np.clip(1 - distance / radius, 0, 1)[..., None] * strength * 255
    return Image.fromarray(np.clip(pixels + light, 0, 255).astype(np.uint8))


def with_foreign_code(image: Image.Image) -> Image.Image:
    foreign = qrcode.make("https://pay.example.com/invoice?id=99182&amount=250.00")
    page = image.copy()
    foreign = foreign.convert("RGB").resize((360, 360), Image.Resampling.NEAREST)
    page.paste(foreign, (page.width - 460, page.height // 2))
    return page


VARIANTS: dict[str, Callable[[Issued], bytes]] = {
    "pdf": lambda doc: doc.pdf,
    "png_300dpi": lambda doc: encode(doc.page_300),
    "png_150dpi": lambda doc: encode(doc.page_150),
    "rotated_90": lambda doc: encode(doc.page_300.rotate(90, expand=True)),
    "rotated_180": lambda doc: encode(doc.page_150.rotate(180)),
    "rotated_7": lambda doc: encode(
        doc.page_300.rotate(7, Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    ),
    "perspective": lambda doc: encode(perspective(doc.page_300)),
    "blurred": lambda doc: encode(doc.page_300.filter(ImageFilter.GaussianBlur(1.5))),
    "jpeg_q35": lambda doc: encode(doc.page_150, "JPEG", quality=35),
    "inverted": lambda doc: encode(ImageOps.invert(doc.page_150)),
    "photographed": lambda doc: encode(photograph(doc.page_300.resize((1700, 2405)))),
    "foreign_code_beside": lambda doc: encode(with_foreign_code(doc.page_150)),
    "glare": lambda doc: encode(with_glare(doc.page_300), "JPEG", quality=80),
    "webp": lambda doc: encode(doc.page_150, "WEBP", quality=80),
    "tiff": lambda doc: encode(doc.page_150, "TIFF"),
    "grayscale_16bit": lambda doc: encode(
        Image.fromarray(
            __import__("numpy").asarray(doc.page_150.convert("L")).astype("uint16")
            * 257
        )
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("kind", KINDS)
def test_document_image_verifies(kind: str, variant: str, issued: dict[str, Issued]):
    document = issued[kind]
    data = VARIANTS[variant](document)
    verdict = verify_file(data, document.store, now=datetime.now(UTC))
    assert verdict.status is Status.GENUINE, (verdict.status, verdict.reason)
    assert verdict.document_id == document.document_id


def test_page_without_code_is_no_qr_found(issued: dict[str, Issued]):
    document = issued["judgment_copy"]
    blank = Image.new("RGB", document.page_150.size, "white")
    verdict = verify_file(encode(blank), document.store, now=datetime.now(UTC))
    assert verdict.status is Status.NO_QR_FOUND


def test_only_foreign_code_is_not_ours(issued: dict[str, Issued]):
    document = issued["judgment_copy"]
    page = with_foreign_code(Image.new("RGB", document.page_150.size, "white"))
    verdict = verify_file(encode(page), document.store, now=datetime.now(UTC))
    assert verdict.status is Status.NOT_A_WATHIQ_CODE


def test_text_file_is_unsupported(issued: dict[str, Issued]):
    document = issued["judgment_copy"]
    verdict = verify_file(b"hello, this is text", document.store, now=datetime.now(UTC))
    assert verdict.status is Status.UNSUPPORTED_INPUT
    assert verdict.reason
