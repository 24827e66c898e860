"""Tests for the QR symbol and the A4 PDF renderer, read back with pdfium and zxing."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import qrcode
import qrcode.util
import zxingcpp
from PIL import Image

from verify.documents import Document, parse_document
from verify.signing import render as render_module
from verify.signing.qrcode_image import qr_matrix, qr_png
from verify.signing.render import Letterhead, render_pdf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCUMENT_TYPES = ("judgment_copy", "attendance_proof")
DOCUMENT_ID = "WQ1-7K3M-9QXD-2F4T"
ISSUED_AT = datetime(2026, 11, 18, 7, 20, tzinfo=UTC)
LETTERHEAD = Letterhead(
    court_ar="المحكمة الإدارية بالرياض",
    court_en="Administrative Court in Riyadh",
    circuit_ar="الدائرة الإدارية السابعة",
    circuit_en="Seventh Administrative Circuit",
)
MM_PER_INCH = 25.4


def make_qr_text(length: int = 560, seed: int = 7) -> str:
    """Build an uppercase verification URL with a base32-like signed payload."""
    prefix = "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1."
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(rng.choice(alphabet) for _ in range(length - len(prefix)))


def load_example(doc_type: str) -> dict:
    return json.loads((EXAMPLES / f"{doc_type}.json").read_text(encoding="utf-8"))


def render_example(doc_type: str, qr_text: str) -> bytes:
    document = parse_document(doc_type, load_example(doc_type))
    return render_document(document, qr_text)


def render_document(document: Document, qr_text: str) -> bytes:
    return render_pdf(
        document,
        document_id=DOCUMENT_ID,
        issued_at=ISSUED_AT,
        qr_text=qr_text,
        letterhead=LETTERHEAD,
    )


def extract_text(pdf_bytes: bytes) -> str:
    """Return the text of every page, with each run of whitespace as one space."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    pages = [page.get_textpage().get_text_range() for page in pdf]
    return " ".join(" ".join(pages).split())


def read_qr(pdf_bytes: bytes, dpi: int) -> list[zxingcpp.Barcode]:
    page = pdfium.PdfDocument(pdf_bytes)[0]
    image = page.render(scale=dpi / 72).to_pil()
    return zxingcpp.read_barcodes(image)


@pytest.fixture(scope="module")
def qr_text() -> str:
    return make_qr_text()


@pytest.fixture(scope="module", params=DOCUMENT_TYPES)
def rendered(request: pytest.FixtureRequest, qr_text: str) -> tuple[str, bytes]:
    return request.param, render_example(request.param, qr_text)


# QR symbol


def test_qr_matrix_version_for_560_chars(qr_text: str) -> None:
    symbol = qr_matrix(qr_text)

    assert len(qr_text) == 560
    assert symbol.version <= 18
    assert symbol.version < byte_mode_version(qr_text)
    assert symbol.size == 17 + 4 * symbol.version
    assert all(len(row) == symbol.size for row in symbol.modules)


def byte_mode_version(text: str) -> int:
    """Return the version qrcode picks for `text` in byte mode at level M."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(qrcode.util.QRData(text.encode(), mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    return code.version


def test_qr_matrix_has_no_quiet_zone(qr_text: str) -> None:
    symbol = qr_matrix(qr_text)

    # The top left finder pattern starts with 7 dark modules in the first row.
    assert symbol.modules[0][:7] == [True] * 7
    assert symbol.modules[0][7] is False


@pytest.mark.parametrize(
    "text",
    [
        "https://wathiq.example.sa/v/wq1.abc",
        "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1.abc",
        "HTTPS://WATHIQ.EXAMPLE.SA/V?ID=1",
        "HTTPS://WATHIQ.EXAMPLE.SA/V/وثيقة",
        "",
    ],
)
def test_qr_matrix_rejects_non_alphanumeric(text: str) -> None:
    with pytest.raises(ValueError, match="QR text"):
        qr_matrix(text)


def test_qr_matrix_rejects_overlong_text() -> None:
    with pytest.raises(ValueError, match="at most 3391"):
        qr_matrix("A" * 3392)


def test_qr_png_decodes(qr_text: str) -> None:
    png = qr_png(qr_text, module_px=4)
    image = Image.open(io.BytesIO(png))
    symbol = qr_matrix(qr_text)

    assert image.format == "PNG"
    assert image.size == ((symbol.size + 8) * 4,) * 2
    results = zxingcpp.read_barcodes(image)
    assert [result.text for result in results] == [qr_text]


def test_qr_png_modules_are_whole_pixels() -> None:
    text = "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1.ABC"
    symbol = qr_matrix(text)
    image = Image.open(io.BytesIO(qr_png(text, module_px=3, quiet_zone=5))).convert("L")

    for row_index, row in enumerate(symbol.modules):
        for column_index, dark in enumerate(row):
            for dy in range(3):
                for dx in range(3):
                    x = (column_index + 5) * 3 + dx
                    y = (row_index + 5) * 3 + dy
                    assert image.getpixel((x, y)) == (0 if dark else 255)


@pytest.mark.parametrize(("module_px", "quiet_zone"), [(0, 4), (65, 4), (8, 3)])
def test_qr_png_rejects_bad_geometry(module_px: int, quiet_zone: int) -> None:
    with pytest.raises(ValueError, match=r"module_px|quiet_zone"):
        qr_png("HTTPS://WATHIQ.EXAMPLE.SA", module_px=module_px, quiet_zone=quiet_zone)


# Rendered PDF


def test_pdf_text_has_names_and_case(rendered: tuple[str, bytes]) -> None:
    doc_type, pdf_bytes = rendered
    content = load_example(doc_type)
    text = extract_text(pdf_bytes)

    if doc_type == "judgment_copy":
        names = [party["name"] for party in content["parties"]] + content["judges"]
    else:
        names = [content["attendee"]["name"]]
    for name in names:
        assert name in text
    assert content["case_number"] in text


def test_pdf_text_has_document_id(rendered: tuple[str, bytes]) -> None:
    _, pdf_bytes = rendered
    text = extract_text(pdf_bytes)

    assert DOCUMENT_ID in text
    assert "2026-11-18 10:20 (+03:00)" in text


def test_judgment_marked_non_executive(qr_text: str) -> None:
    text = extract_text(render_example("judgment_copy", qr_text))

    assert "صورة غير تنفيذية" in text
    assert "Non-executive copy" in text


def test_attendance_masks_national_id(qr_text: str) -> None:
    text = extract_text(render_example("attendance_proof", qr_text))

    assert "******4321" in text
    assert "1087654321" not in text


def test_attendance_session_in_saudi_time(qr_text: str) -> None:
    data = load_example("attendance_proof")
    data["session_start"] = "2026-11-18T06:30:00+00:00"
    data["session_end"] = "2026-11-18T07:15:00+00:00"
    text = extract_text(
        render_document(parse_document("attendance_proof", data), qr_text)
    )

    assert "09:30 - 10:15 (+03:00)" in text
    assert "2026-11-18" in text


def test_attendance_shows_capacity_and_hall(qr_text: str) -> None:
    text = extract_text(render_example("attendance_proof", qr_text))

    assert "Attorney" in text
    assert "وكيل" in text
    assert "قاعة 4" in text


@pytest.mark.parametrize("dpi", [150, 300])
def test_pdf_qr_decodes(rendered: tuple[str, bytes], qr_text: str, dpi: int) -> None:
    _, pdf_bytes = rendered
    results = read_qr(pdf_bytes, dpi)

    assert [result.text for result in results] == [qr_text]
    extra = results[0].extra
    assert isinstance(extra, dict)
    assert extra["ECLevel"] == "M"
    assert int(extra["Version"]) == qr_matrix(qr_text).version


def test_pdf_qr_printed_size(rendered: tuple[str, bytes], qr_text: str) -> None:
    _, pdf_bytes = rendered
    dpi = 300
    position = read_qr(pdf_bytes, dpi)[0].position
    symbol_mm = (position.top_right.x - position.top_left.x) / dpi * MM_PER_INCH
    module_mm = symbol_mm / qr_matrix(qr_text).size

    assert module_mm >= 0.5 - 0.01
    assert module_mm * (qr_matrix(qr_text).size + 8) <= 45.0 + 0.5


def test_pdf_qr_is_vector(rendered: tuple[str, bytes]) -> None:
    _, pdf_bytes = rendered
    page = pdfium.PdfDocument(pdf_bytes)[0]

    images = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    paths = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]))
    assert images == []
    assert len(paths) > 500


def test_pdf_keywords_hold_qr_text(rendered: tuple[str, bytes], qr_text: str) -> None:
    _, pdf_bytes = rendered
    metadata = pdfium.PdfDocument(pdf_bytes).get_metadata_dict()

    assert metadata["Keywords"] == f"WATHIQ-QR {qr_text}"
    assert "ADM-1447-004471" in metadata["Title"]
    assert DOCUMENT_ID in metadata["Subject"]
    assert metadata["CreationDate"].startswith("D:20261118072000")


def test_pdf_page_is_a4(rendered: tuple[str, bytes]) -> None:
    _, pdf_bytes = rendered
    width, height = pdfium.PdfDocument(pdf_bytes)[0].get_size()

    assert round(width / 72 * MM_PER_INCH) == 210
    assert round(height / 72 * MM_PER_INCH) == 297


def test_pdf_render_is_deterministic(qr_text: str) -> None:
    for doc_type in DOCUMENT_TYPES:
        assert render_example(doc_type, qr_text) == render_example(doc_type, qr_text)


def test_pdf_differs_by_document_id(qr_text: str) -> None:
    document = parse_document("judgment_copy", load_example("judgment_copy"))
    other = render_pdf(
        document,
        document_id="WQ1-OTHER",
        issued_at=ISSUED_AT,
        qr_text=qr_text,
        letterhead=LETTERHEAD,
    )

    assert other != render_document(document, qr_text)


def test_long_judgment_has_qr_on_every_page(qr_text: str) -> None:
    data = load_example("judgment_copy")
    data["operative_part"] = (data["operative_part"] + " ") * 20
    data["operative_part"] = data["operative_part"][:4000].strip()
    pdf_bytes = render_document(parse_document("judgment_copy", data), qr_text)
    pdf = pdfium.PdfDocument(pdf_bytes)

    assert len(pdf) >= 2
    for page in pdf:
        image = page.render(scale=150 / 72).to_pil()
        assert [result.text for result in zxingcpp.read_barcodes(image)] == [qr_text]


def test_render_rejects_naive_time(qr_text: str) -> None:
    document = parse_document("judgment_copy", load_example("judgment_copy"))

    with pytest.raises(ValueError, match="aware"):
        render_pdf(
            document,
            document_id=DOCUMENT_ID,
            issued_at=datetime(2026, 11, 18, 10, 20),
            qr_text=qr_text,
            letterhead=LETTERHEAD,
        )


def test_render_rejects_oversized_qr() -> None:
    document = parse_document("judgment_copy", load_example("judgment_copy"))

    with pytest.raises(ValueError, match="does not fit"):
        render_document(document, make_qr_text(length=720))


def test_render_rejects_lowercase_qr() -> None:
    document = parse_document("judgment_copy", load_example("judgment_copy"))

    with pytest.raises(ValueError, match="alphanumeric"):
        render_document(document, "https://wathiq.example.sa/v/wq1.abc")


def test_render_missing_font_names_package(
    qr_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_module, "FONT_DIR", tmp_path)
    document = parse_document("judgment_copy", load_example("judgment_copy"))

    with pytest.raises(RuntimeError, match="fonts-hosny-amiri"):
        render_pdf(
            document,
            document_id=DOCUMENT_ID,
            issued_at=ISSUED_AT,
            qr_text=qr_text,
            letterhead=LETTERHEAD,
        )


def test_letterhead_rejects_empty_name() -> None:
    with pytest.raises(ValueError, match="court_en"):
        Letterhead("المحكمة", " ", "الدائرة", "Circuit")
