"""The public web pages: the verification form, the result page and the original PDF.

Pages work without JavaScript. The only script, ``static/camera.js``, adds camera
scanning to the form; the Content-Security-Policy allows no other. Arabic is the
default language (right to left); ``?lang=en`` switches to English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from verify.api.errors import ApiError, status_for
from verify.api.metrics import Metrics
from verify.api.ratelimit import RateLimiter
from verify.api.registries import ReadRegistry
from verify.api.verifications import (
    Verification,
    VerificationContext,
    check_rate,
    uploaded_bytes,
    verify_bytes,
    verify_text,
)
from verify.errors import WathiqError
from verify.messages import (
    check_summary,
    field_rows,
    headline,
    next_step,
    status_text,
)
from verify.verdict import Status
from verify.verifier import verify_qr_text

__all__ = ["PageContext", "page_router"]

# The payload part of a QR text: the format marker and the base32 body.
_PAYLOAD = re.compile(r"WQ\d+\.[A-Z2-7]+", re.IGNORECASE)

_CHECK_LABELS = {
    "input": ("قراءة الملف", "Reading the file"),
    "format": ("صيغة الرمز", "Code format"),
    "key_list": ("قائمة المفاتيح المعتمدة", "Trusted key list"),
    "clock": ("ساعة الجهاز", "Device clock"),
    "key_known": ("مفتاح التوقيع معروف", "Signing key known"),
    "signature": ("التوقيع الرقمي", "Digital signature"),
    "claims": ("بيانات المستند", "Document data"),
    "key_trusted": ("المفتاح مخوّل لهذا المستند", "Key authorised for this document"),
    "not_expired": ("سريان المستند", "Not expired"),
    "not_revoked": ("غير ملغى في سجل المحكمة", "Not revoked"),
    "identical_to_original": ("مطابقة الملف الأصلي", "Identical to the original file"),
    "link_address": ("عنوان الرابط في الرمز", "Link address in the code"),
}

_TEXT = {
    "title": ("التحقق من مستندات المحكمة", "Court document verification"),
    "court": ("المحكمة الإدارية", "Administrative Court"),
    "switch": ("English", "العربية"),
    "intro": (
        "تحقق من صحة مستند صادر من المحكمة: الصق نص رمز الاستجابة السريعة،"
        " أو ارفع صورة ممسوحة أو ملف PDF، أو امسح الرمز بالكاميرا.",
        "Check a document issued by the court: paste the text of its QR code,"
        " upload a scan or the PDF, or scan the code with the camera.",
    ),
    "qr_text": ("نص رمز الاستجابة السريعة", "QR code text"),
    "file": ("صورة ممسوحة أو ملف PDF", "Scan or PDF file"),
    "submit": ("تحقق", "Verify"),
    "camera": ("المسح بالكاميرا", "Scan with the camera"),
    "camera_start": ("تشغيل الكاميرا", "Start camera"),
    "camera_stop": ("إيقاف", "Stop"),
    "camera_help": (
        "وجّه الكاميرا إلى الرمز حتى يملأ معظم الإطار.",
        "Point the camera at the code so that it fills most of the frame.",
    ),
    "camera_denied": (
        "تعذّر تشغيل الكاميرا. ارفع صورة للرمز بدلًا من ذلك.",
        "The camera could not be started. Upload a photo of the code instead.",
    ),
    "camera_searching": ("جارٍ البحث عن الرمز…", "Looking for the code…"),
    "fields": ("البيانات الموقّعة", "Signed details"),
    "checks": ("ما فحصناه", "What was checked"),
    "passed": ("سليم", "passed"),
    "failed": ("لم يجتز", "failed"),
    "next": ("ما العمل الآن", "What to do next"),
    "download": ("تنزيل الملف الأصلي (PDF)", "Download the original PDF"),
    "another": ("تحقق من مستند آخر", "Verify another document"),
    "status_code": ("رمز النتيجة", "Result code"),
    "checked_at": ("وقت التحقق", "Checked at"),
    "key_list_version": ("إصدار قائمة المفاتيح", "Key list version"),
    "error": ("تعذّر إتمام الطلب", "The request could not be completed"),
}

_MISSING_INPUT = (
    "الصق نص الرمز أو اختر ملفًا ثم اضغط تحقق.",
    "Paste the QR text or choose a file, then press Verify.",
)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "ar" else pair[1]


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "ar"


@dataclass(frozen=True)
class PageContext:
    """Dependencies of the pages beyond the verification context."""

    verification: VerificationContext
    registry: ReadRegistry | None
    download_limiter: RateLimiter | None
    metrics: Metrics | None


class _Templates:
    def __init__(self) -> None:
        self.environment = Environment(
            loader=PackageLoader("verify.api", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self, name: str, lang: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        def text(key: str) -> str:
            return _pick(_TEXT[key], lang)

        html = self.environment.get_template(name).render(
            lang=lang, dir="rtl" if lang == "ar" else "ltr", t=text, **values
        )
        return HTMLResponse(
            html, status_code=status_code, headers={"Cache-Control": "no-store"}
        )


def _result_values(
    result: Verification, lang: str, download_url: str | None
) -> dict[str, Any]:
    verdict = result.verdict
    checks = [
        {
            "label": _pick(
                _CHECK_LABELS.get(check.name, (check.name, check.name)), lang
            ),
            "passed": check.passed,
            "summary": check_summary(check.name, check.passed, lang),
            "detail": check.detail,
        }
        for check in verdict.checks
    ]
    show_reason = verdict.reason and verdict.status is not Status.REVOKED
    return {
        "outcome": verdict.outcome.value,
        "status": verdict.status.value,
        "headline": headline(verdict, lang),
        "status_text": status_text(verdict, lang),
        "reason": verdict.reason if show_reason else None,
        "next_step": next_step(verdict, lang),
        "fields": field_rows(verdict.document, lang),
        "checks": checks,
        "reference_time": verdict.reference_time.strftime("%Y-%m-%d %H:%M UTC"),
        "key_list_version": verdict.key_list_version,
        "download_url": download_url,
    }


def page_router(context: PageContext) -> APIRouter:
    """Return the router of the public pages."""
    router = APIRouter(include_in_schema=False)
    templates = _Templates()
    verification = context.verification

    def error_page(lang: str, error: Exception) -> HTMLResponse:
        if isinstance(error, ApiError):
            status, code, message = error.status_code, error.code, error.message
            headers = error.headers
        else:
            assert isinstance(error, WathiqError)
            (status, code), message, headers = status_for(error), str(error), {}
        response = templates.render(
            "error.html", lang, status, code=code, message=message
        )
        response.headers.update(headers)
        return response

    def download_url(result: Verification, payload: str) -> str | None:
        verdict = result.verdict
        if context.registry is None or verdict.status is not Status.GENUINE:
            return None
        assert verdict.document_id is not None
        if context.registry.pdf_sha256(verdict.document_id) is None:
            return None
        return f"/v/{payload}/original.pdf"

    @router.get("/")
    async def index(request: Request) -> HTMLResponse:
        return templates.render("index.html", _lang(request))

    @router.post("/")
    async def submit(request: Request) -> Response:
        lang = _lang(request)
        try:
            check_rate(verification.rate_limiter, request, "verify", context.metrics)
            form = await request.form(max_files=1, max_fields=4)
            try:
                lang = "en" if form.get("lang") == "en" else lang
                data = await uploaded_bytes(form, verification.limits.max_bytes)
                text = form.get("qr_text")
            finally:
                await form.close()
            if data is not None:
                result = await verify_bytes(verification, data, source="page")
                values = _result_values(result, lang, None)
                return templates.render("result.html", lang, **values)
            if not isinstance(text, str) or not text.strip():
                raise ApiError(422, "missing_input", _pick(_MISSING_INPUT, lang))
            payload = _PAYLOAD.search(text)
            if payload is not None:
                target = f"/v/{payload.group(0).upper()}?lang={lang}"
                return RedirectResponse(target, status_code=303)
            result = await verify_text(verification, text.strip(), source="page")
            values = _result_values(result, lang, None)
            return templates.render("result.html", lang, **values)
        except (ApiError, WathiqError) as error:
            return error_page(lang, error)

    async def show(request: Request, payload: str) -> HTMLResponse:
        lang = _lang(request)
        try:
            check_rate(verification.rate_limiter, request, "verify", context.metrics)
            result = await verify_text(verification, payload, source="page")
        except (ApiError, WathiqError) as error:
            return error_page(lang, error)
        values = _result_values(result, lang, download_url(result, payload))
        values["switch_url"] = f"/v/{payload}?lang={'ar' if lang == 'en' else 'en'}"
        response = templates.render("result.html", lang, **values)
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    @router.get("/v/{payload}")
    async def result_page(request: Request, payload: str) -> HTMLResponse:
        return await show(request, payload)

    @router.get("/V/{payload}")
    async def result_page_from_camera(request: Request, payload: str) -> HTMLResponse:
        # Phone cameras open the QR text as it is: an uppercase URL.
        return await show(request, payload)

    @router.get("/v/{payload}/original.pdf")
    async def original_pdf(request: Request, payload: str) -> Response:
        lang = _lang(request)
        try:
            check_rate(context.download_limiter, request, "download", context.metrics)
            return _original(payload)
        except (ApiError, WathiqError) as error:
            return error_page(lang, error)

    def _original(payload: str) -> Response:
        # The payload is the proof of possession: only a holder of the QR code can
        # name a genuine document here, and only a genuine one is served.
        not_available = ApiError(
            404,
            "original_not_available",
            "the original PDF is offered only for a genuine document issued with one",
        )
        if context.registry is None:
            raise not_available
        verdict = verify_qr_text(
            payload,
            verification.trust_store(),
            now=verification.clock(),
            policy=verification.policy,
            registry=context.registry,
        )
        if verdict.status is not Status.GENUINE or verdict.document_id is None:
            raise not_available
        pdf = context.registry.pdf(verdict.document_id)
        if pdf is None:
            raise not_available
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="{verdict.document_id}.pdf"'
                ),
                "Cache-Control": "no-store",
            },
        )

    return router
