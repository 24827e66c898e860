"""Render an issued document as an A4 PDF in Arabic, with English secondary labels.

Invariants:

- Every page carries the court letterhead, and its footer carries the signed QR
  code, the document id and the issue time, so each page can be verified alone.
- The QR code is drawn as filled vector rectangles, one per horizontal run of dark
  modules, inside a light quiet zone of `MIN_QUIET_ZONE` modules. Modules are at
  least `MIN_MODULE_MM` wide and the whole code at most `MAX_QR_MM`, so a 150 dpi
  scan still has 3 pixels per module. That allows QR symbols up to version 16
  (656 alphanumeric characters at level M); longer texts raise ValueError.
- The Keywords metadata is exactly `WATHIQ-QR <qr_text>`, so a scanner can read the
  QR text of our own PDFs without rendering them.
- The same inputs render to the same bytes: the creation date is `issued_at` and
  fpdf2 derives the file /ID from the content.
- Times are shown at +03:00, the time of Saudi Arabia, which has no daylight saving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple, cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from verify.documents import Document, mask_national_id
from verify.signing.qrcode_image import MIN_QUIET_ZONE, QrSymbol, qr_matrix

__all__ = ["KEYWORDS_PREFIX", "MAX_QR_MM", "MIN_MODULE_MM", "Letterhead", "render_pdf"]

KEYWORDS_PREFIX = "WATHIQ-QR "
"""Start of the Keywords metadata, equal to `verify.scanning.PDF_KEYWORDS_PREFIX`."""

MIN_MODULE_MM = 0.5
"""Smallest printed module: about 3 pixels in a 150 dpi scan."""
MAX_QR_MM = 45.0
"""Largest printed QR code, quiet zone included, that fits the page footer."""
# Short texts get modules up to 1 mm rather than a needlessly large code.
_MAX_MODULE_MM = 1.0

FONT_DIR = Path("/usr/share/fonts/opentype/fonts-hosny-amiri")
# Amiri has Latin letters and digits as well as Arabic, so one family covers case
# numbers and English labels. Noto Naskh Arabic has no Latin letters.
_FONT_FILES = {"": "Amiri-Regular.ttf", "B": "Amiri-Bold.ttf"}
_FONT = "amiri"

# Two Amiri features are off so that copied or extracted text equals the input.
# With "kern", fpdf2 2.8.9 positions some glyphs one by one and pdfium reads a space
# inside words such as "والقروية". With "calt", Amiri adds tatweel glyphs, and fpdf2
# maps the letter after each one to no character. Letters join without either.
_SHAPING_FEATURES = {"kern": False, "calt": False}

_SAUDI_TIME = timezone(timedelta(hours=3))

_PAGE_MARGIN = 15.0
_PAGE_WIDTH = 210.0
_PAGE_HEIGHT = 297.0
_CONTENT_WIDTH = _PAGE_WIDTH - 2 * _PAGE_MARGIN
_HEADER_BOTTOM = 40.0
_FOOTER_TOP = _PAGE_HEIGHT - 10.0 - MAX_QR_MM - 4.0
_BODY_HEIGHT = _FOOTER_TOP - 2.0 - _HEADER_BOTTOM
_LINE_MM = 6.5
_LABEL_AR_MM = 38.0
_LABEL_EN_MM = 36.0
_BLACK = (0, 0, 0)
_GREY = (90, 90, 90)
_RED = (150, 20, 20)

_PARTY_ROLES = {
    "plaintiff": ("المدعي", "Plaintiff"),
    "defendant": ("المدعى عليه", "Defendant"),
    "intervener": ("المتدخل", "Intervener"),
}
# NOTE: pdfium (pypdfium2 5.15) extracts the tanween of "مدعٍ" and "محامٍ" apart
# from its letter, because fpdf2 2.8.9 moves the text matrix for each placed mark.
_CAPACITIES = {
    "plaintiff": ("مدعٍ", "Plaintiff"),
    "defendant": ("مدعى عليه", "Defendant"),
    "attorney": ("وكيل (محامٍ)", "Attorney"),
    "agent": ("وكيل", "Agent"),
    "witness": ("شاهد", "Witness"),
    "expert": ("خبير", "Expert"),
}


@dataclass(frozen=True)
class Letterhead:
    """Names of the issuing court and circuit, in Arabic and English."""

    court_ar: str
    court_en: str
    circuit_ar: str
    circuit_en: str

    def __post_init__(self) -> None:
        for field in fields(self):
            if not getattr(self, field.name).strip():
                raise ValueError(f"Letterhead.{field.name} is empty")


class _Row(NamedTuple):
    label_ar: str
    value: str
    label_en: str


@dataclass(frozen=True)
class _Footer:
    symbol: QrSymbol
    module_mm: float
    document_id: str
    issued_at: str
    verification_site: str | None


def render_pdf(
    document: Document,
    *,
    document_id: str,
    issued_at: datetime,
    qr_text: str,
    letterhead: Letterhead,
) -> bytes:
    """Render `document` as a one- or multi-page A4 PDF and return its bytes.

    Raises ValueError if `issued_at` has no time zone, if the document type is
    unknown, or if `qr_text` is not uppercase QR alphanumeric text of at most 656
    characters. Raises RuntimeError if the Amiri font is not installed.
    """
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be an aware datetime, such as one in UTC")
    if document.type not in _BODY_ROWS:
        raise ValueError(f"cannot render document type {document.type!r}")
    symbol = qr_matrix(qr_text)
    footer = _Footer(
        symbol=symbol,
        module_mm=_module_size(symbol),
        document_id=document_id,
        issued_at=_format_time(issued_at),
        verification_site=_verification_site(qr_text),
    )
    pdf = _DocumentPdf(letterhead, footer)
    _set_metadata(pdf, document, document_id, issued_at, qr_text, letterhead)
    pdf.add_page()
    _draw_title(pdf, document)
    for row in _BODY_ROWS[document.type](document.content, letterhead):
        _draw_row(pdf, row)
    return bytes(pdf.output())


class _DocumentPdf(FPDF):
    """An FPDF document that draws the letterhead and the QR footer on every page."""

    def __init__(self, letterhead: Letterhead, footer: _Footer) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._letterhead = letterhead
        self._footer = footer
        for style, filename in _FONT_FILES.items():
            self.add_font(_FONT, style, _font_path(filename))
        self.set_text_shaping(True, features=_SHAPING_FEATURES)
        self.set_margins(_PAGE_MARGIN, 12.0, _PAGE_MARGIN)
        self.set_auto_page_break(True, margin=_PAGE_HEIGHT - _FOOTER_TOP + 2.0)

    def header(self) -> None:
        _draw_letterhead(self, self._letterhead)

    def footer(self) -> None:
        _draw_footer(self, self._footer)


def _font_path(filename: str) -> Path:
    path = FONT_DIR / filename
    if not path.is_file():
        raise RuntimeError(
            f"Arabic font {path} not found. Install the Debian package"
            " fonts-hosny-amiri (apt-get install fonts-hosny-amiri)."
        )
    return path


def _set_metadata(
    pdf: FPDF,
    document: Document,
    document_id: str,
    issued_at: datetime,
    qr_text: str,
    letterhead: Letterhead,
) -> None:
    doc_type = document.document_type
    pdf.set_title(f"{doc_type.title_ar} - {document.content['case_number']}")
    pdf.set_subject(f"{doc_type.title_en}, {letterhead.court_en}, {document_id}")
    pdf.set_keywords(KEYWORDS_PREFIX + qr_text)
    pdf.set_author(letterhead.court_en)
    pdf.set_creator("wathiq")
    pdf.set_lang("ar-SA")
    pdf.set_creation_date(issued_at)


def _module_size(symbol: QrSymbol) -> float:
    """Return the printed module width in mm for `symbol` and its quiet zone."""
    modules = symbol.size + 2 * MIN_QUIET_ZONE
    module_mm = min(_MAX_MODULE_MM, MAX_QR_MM / modules)
    if module_mm < MIN_MODULE_MM:
        raise ValueError(
            f"QR text needs a version {symbol.version} symbol, {modules} modules wide"
            f" with its quiet zone, which does not fit {MAX_QR_MM:g} mm at"
            f" {MIN_MODULE_MM:g} mm per module. Shorten the QR text."
        )
    return module_mm


def _verification_site(qr_text: str) -> str | None:
    """Return the lowercase site of a QR text that is an HTTPS URL, else None."""
    prefix = "HTTPS://"
    if not qr_text.startswith(prefix):
        return None
    host = qr_text[len(prefix) :].split("/", 1)[0]
    return f"https://{host.lower()}" if host else None


def _format_time(moment: datetime) -> str:
    local = moment.astimezone(_SAUDI_TIME)
    return local.strftime("%Y-%m-%d %H:%M") + " (+03:00)"


def _set_font(
    pdf: FPDF, size: float, bold: bool = False, color: tuple[int, int, int] = _BLACK
) -> None:
    pdf.set_font(_FONT, "B" if bold else "", size)
    pdf.set_text_color(*color)


def _draw_letterhead(pdf: FPDF, letterhead: Letterhead) -> None:
    lines = (
        ("المملكة العربية السعودية", "Kingdom of Saudi Arabia", True),
        ("ديوان المظالم", "Board of Grievances", True),
        (letterhead.court_ar, letterhead.court_en, False),
        (letterhead.circuit_ar, letterhead.circuit_en, False),
    )
    half = _CONTENT_WIDTH / 2
    for index, (text_ar, text_en, bold) in enumerate(lines):
        y = 12.0 + index * 5.5
        _set_font(pdf, 12 if bold else 11, bold=bold)
        pdf.set_xy(_PAGE_MARGIN + half, y)
        pdf.cell(half, 5.5, text_ar, align="R")
        _set_font(pdf, 10 if bold else 9.5, bold=bold, color=_GREY)
        pdf.set_xy(_PAGE_MARGIN, y)
        pdf.cell(half, 5.5, text_en, align="L")
    rule_y = _HEADER_BOTTOM - 4.0
    pdf.set_line_width(0.4)
    pdf.line(_PAGE_MARGIN, rule_y, _PAGE_WIDTH - _PAGE_MARGIN, rule_y)
    pdf.set_xy(_PAGE_MARGIN, _HEADER_BOTTOM)


def _draw_title(pdf: FPDF, document: Document) -> None:
    doc_type = document.document_type
    _set_font(pdf, 17, bold=True)
    pdf.cell(0, 9, doc_type.title_ar, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _set_font(pdf, 11, color=_GREY)
    pdf.cell(0, 6, doc_type.title_en, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.type == "judgment_copy":
        _draw_non_executive_mark(pdf)
    pdf.ln(4)


def _draw_non_executive_mark(pdf: FPDF) -> None:
    """Draw a framed red mark stating that this copy cannot be enforced."""
    width = 70.0
    pdf.ln(2)
    pdf.set_x((_PAGE_WIDTH - width) / 2)
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(0.6)
    pdf.rect(pdf.get_x(), pdf.get_y(), width, 14.0)
    _set_font(pdf, 14, bold=True, color=_RED)
    pdf.cell(
        width, 7.5, "صورة غير تنفيذية", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    _set_font(pdf, 10, bold=True, color=_RED)
    pdf.cell(width, 6.5, "Non-executive copy", align="C", new_x=XPos.LMARGIN)
    pdf.set_y(pdf.get_y() + 6.5)
    pdf.set_draw_color(*_BLACK)


def _judgment_rows(content: dict[str, Any], letterhead: Letterhead) -> list[_Row]:
    rows = [
        _Row("رقم القضية", content["case_number"], "Case number"),
        _Row("تاريخ الحكم", content["judgment_date"], "Judgment date"),
    ]
    for party in content["parties"]:
        role_ar, role_en = _PARTY_ROLES[party["role"]]
        rows.append(_Row(role_ar, party["name"], role_en))
    rows += [
        _Row("موضوع الدعوى", content["subject"], "Subject"),
        _Row("منطوق الحكم", content["operative_part"], "Operative part"),
        _Row("الهيئة القضائية", "\n".join(content["judges"]), "Judicial panel"),
    ]
    return rows


def _attendance_rows(content: dict[str, Any], letterhead: Letterhead) -> list[_Row]:
    attendee = content["attendee"]
    capacity_ar, capacity_en = _CAPACITIES[attendee["capacity"]]
    start = datetime.fromisoformat(content["session_start"]).astimezone(_SAUDI_TIME)
    end = datetime.fromisoformat(content["session_end"]).astimezone(_SAUDI_TIME)
    end_format = "%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M"
    session_time = f"{start:%H:%M} - {end.strftime(end_format)} (+03:00)"
    statement = (
        "تشهد المحكمة بحضور الشخص المبينة بياناته أدناه الجلسة المذكورة،"
        " في الزمان والمكان الموضحين."
    )
    return [
        _Row("الإفادة", statement, "Statement"),
        _Row("الاسم", attendee["name"], "Name"),
        _Row("رقم الهوية", mask_national_id(attendee["national_id"]), "National ID"),
        _Row("الصفة", capacity_ar, f"Capacity: {capacity_en}"),
        _Row("رقم القضية", content["case_number"], "Case number"),
        _Row("تاريخ الجلسة", f"{start:%Y-%m-%d}", "Session date"),
        _Row("وقت الجلسة", session_time, "Session time"),
        _Row("المحكمة", letterhead.court_ar, "Court"),
        _Row("الدائرة", letterhead.circuit_ar, "Circuit"),
        _Row("القاعة", content["hall"], "Hall"),
        _Row("الغرض من الحضور", content["purpose"], "Purpose"),
    ]


_BODY_ROWS: dict[str, Callable[[dict[str, Any], Letterhead], list[_Row]]] = {
    "judgment_copy": _judgment_rows,
    "attendance_proof": _attendance_rows,
}


def _draw_row(pdf: FPDF, row: _Row) -> None:
    """Draw one field: Arabic label at the right, value, English label at the left.

    NOTE: pdfium (pypdfium2 5.15) reads a line with more Latin than Arabic words left
    to right, so text extracted from rows such as the case number has the Arabic
    label's words in reverse order. The printed order is correct.
    """
    value_width = _CONTENT_WIDTH - _LABEL_AR_MM - _LABEL_EN_MM
    _set_font(pdf, 11.5)
    lines = pdf.multi_cell(
        value_width, _LINE_MM, row.value, dry_run=True, output=MethodReturnValue.LINES
    )
    height = len(cast(list[str], lines)) * _LINE_MM
    # A row taller than a page is left to split across pages where it starts.
    if height <= _BODY_HEIGHT and pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()

    _set_font(pdf, 11.5, bold=True)
    pdf.set_xy(_PAGE_WIDTH - _PAGE_MARGIN - _LABEL_AR_MM, top)
    pdf.cell(_LABEL_AR_MM, _LINE_MM, row.label_ar, align="R")
    _set_font(pdf, 9, color=_GREY)
    pdf.set_xy(_PAGE_MARGIN, top)
    pdf.cell(_LABEL_EN_MM, _LINE_MM, row.label_en, align="L")
    _set_font(pdf, 11.5)
    pdf.set_xy(_PAGE_MARGIN + _LABEL_EN_MM, top)
    pdf.multi_cell(value_width, _LINE_MM, row.value, align="R")
    pdf.set_xy(_PAGE_MARGIN, max(pdf.get_y(), top + _LINE_MM) + 1.0)


def _draw_footer(pdf: FPDF, footer: _Footer) -> None:
    pdf.set_line_width(0.3)
    pdf.line(_PAGE_MARGIN, _FOOTER_TOP, _PAGE_WIDTH - _PAGE_MARGIN, _FOOTER_TOP)
    qr_side = (footer.symbol.size + 2 * MIN_QUIET_ZONE) * footer.module_mm
    qr_top = _FOOTER_TOP + 2.0
    _draw_qr(pdf, footer.symbol, _PAGE_MARGIN, qr_top, footer.module_mm)

    left = _PAGE_MARGIN + qr_side + 4.0
    width = _PAGE_WIDTH - _PAGE_MARGIN - left
    pdf.set_xy(left, qr_top + 2.0)
    _set_font(pdf, 10.5, bold=True)
    pdf.multi_cell(width, 6.0, _CAPTION_AR, align="R", new_x=XPos.LEFT)
    _set_font(pdf, 8.5, color=_GREY)
    pdf.multi_cell(width, 4.5, _caption_en(footer.verification_site), align="L")
    pdf.ln(1.5)
    rows = (
        _Row("رقم الوثيقة", footer.document_id, "Document ID"),
        _Row("تاريخ الإصدار", footer.issued_at, "Issued at"),
        _Row("الصفحة", f"{pdf.page_no()} / {{nb}}", "Page"),
    )
    for row in rows:
        _draw_footer_row(pdf, row, left, width)


_CAPTION_AR = (
    "للتحقق من صحة هذه الوثيقة امسح الرمز بكاميرا الجوال،"
    " أو أدخل رقم الوثيقة في صفحة التحقق الإلكترونية للمحكمة."
)


def _caption_en(verification_site: str | None) -> str:
    where = f" at {verification_site}" if verification_site else ""
    return (
        "To verify this document, scan the code with a phone camera, or enter the"
        f" document ID on the court's verification page{where}."
    )


def _draw_footer_row(pdf: FPDF, row: _Row, left: float, width: float) -> None:
    top = pdf.get_y()
    _set_font(pdf, 9.5, bold=True)
    pdf.set_xy(left + width - 28.0, top)
    pdf.cell(28.0, 5.0, row.label_ar, align="R")
    _set_font(pdf, 8.5, color=_GREY)
    pdf.set_xy(left, top)
    pdf.cell(24.0, 5.0, row.label_en, align="L")
    _set_font(pdf, 9.5)
    pdf.cell(width - 52.0, 5.0, row.value, align="R", new_x=XPos.LMARGIN)
    pdf.set_y(top + 5.0)


def _draw_qr(pdf: FPDF, symbol: QrSymbol, x: float, y: float, module_mm: float) -> None:
    """Draw `symbol` with its quiet zone, its top left corner at (`x`, `y`) in mm."""
    side = (symbol.size + 2 * MIN_QUIET_ZONE) * module_mm
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    origin = MIN_QUIET_ZONE * module_mm
    for row, column, length in symbol.dark_runs():
        left = x + origin + column * module_mm
        top = y + origin + row * module_mm
        pdf.rect(left, top, length * module_mm, module_mm, style="F")
