"""Texts that explain a verdict to a person, in Arabic and English.

The CLI, the web pages and the kiosk all take their headlines, next steps and field
labels from here, so the three never disagree about what a status means.
"""

from __future__ import annotations

from typing import Any

from verify.verdict import Outcome, Status, Verdict

__all__ = [
    "LANGUAGES",
    "check_summary",
    "field_rows",
    "headline",
    "next_step",
    "status_text",
]

LANGUAGES = ("ar", "en")

_HEADLINES = {
    Outcome.GENUINE: (
        "المستند صحيح وصادر من المحكمة",
        "Genuine document issued by the court",
    ),
    Outcome.NOT_GENUINE: ("المستند غير صحيح أو غير ساري", "Not a valid document"),
    Outcome.CANNOT_VERIFY: ("تعذّر التحقق هنا", "Cannot verify here"),
}

_STATUS = {
    Status.GENUINE: (
        "التوقيع صحيح والمستند ساري",
        "Signature valid and document in force",
    ),
    Status.REVOKED: ("أُلغي هذا المستند", "This document has been revoked"),
    Status.INVALID_SIGNATURE: (
        "التوقيع لا يطابق المحتوى: قد يكون المستند معدّلًا",
        "The signature does not match the content: the document may have been altered",
    ),
    Status.UNKNOWN_KEY: (
        "موقّع بمفتاح غير موجود في بيانات التحقق لدى هذا الجهاز",
        "Signed with a key that is not in this verifier's trust data",
    ),
    Status.KEY_NOT_TRUSTED: (
        "موقّع بمفتاح غير موثوق لهذا المستند",
        "Signed with a key not trusted for this document",
    ),
    Status.EXPIRED: ("انتهت صلاحية المستند", "The document has expired"),
    Status.MALFORMED: (
        "رمز الاستجابة تالف أو ناقص",
        "The QR code is damaged or incomplete",
    ),
    Status.NOT_A_WATHIQ_CODE: (
        "هذا الرمز ليس رمز تحقق من المحكمة",
        "This is not a court verification code",
    ),
    Status.INDETERMINATE: (
        "لا يمكن الجزم بصحة المستند بالبيانات المتوفرة هنا",
        "The data available here cannot confirm this document",
    ),
    Status.NO_QR_FOUND: ("لم يُعثر على رمز استجابة", "No QR code was found"),
    Status.UNSUPPORTED_INPUT: (
        "تعذّر فحص هذا الملف: نوعه غير مدعوم أو هو تالف أو كبير جدًا",
        "This file cannot be checked: its type is not supported, or it is damaged"
        " or too large",
    ),
}

_REASONS = {
    "revoked": ("بقرار من المحكمة", "withdrawn by the court"),
    "superseded": ("استُبدل بمستند أحدث", "superseded by a newer document"),
    "set-aside": ("نُقض الحكم أو أُلغي", "set aside"),
}

_NEXT_STEPS = {
    Outcome.GENUINE: (
        "طابق البيانات المعروضة مع الورقة. يجب أن تتطابق تمامًا.",
        "Compare the details shown with the paper. They must match exactly.",
    ),
    Outcome.NOT_GENUINE: (
        "لا تعتمد هذا المستند. راجع المحكمة أو الجهة التي قدّمته.",
        "Do not rely on this document. Contact the court or whoever presented it.",
    ),
    Outcome.CANNOT_VERIFY: (
        "تحقق عبر بوابة المحكمة الإلكترونية أو راجع المحكمة.",
        "Verify online on the court's portal, or contact the court.",
    ),
}

_LABELS = {
    "title": ("نوع المستند", "Document type"),
    "document_id": ("رقم المستند", "Document number"),
    "court": ("المحكمة", "Court"),
    "circuit": ("الدائرة", "Circuit"),
    "case_number": ("رقم القضية", "Case number"),
    "judgment_date": ("تاريخ الحكم", "Judgment date"),
    "parties": ("الأطراف", "Parties"),
    "attendee_name": ("اسم الحاضر", "Attendee"),
    "capacity": ("الصفة", "Capacity"),
    "session_start": ("موعد الجلسة", "Session date and time"),
    "national_id_last4": ("آخر أربعة أرقام من الهوية", "National ID, last 4 digits"),
    "issued_at": ("تاريخ الإصدار", "Issued"),
    "expires_at": ("ينتهي في", "Expires"),
}

ROLE_NAMES = {
    "plaintiff": ("المدعي", "Plaintiff"),
    "defendant": ("المدعى عليه", "Defendant"),
    "intervener": ("المتدخل", "Intervener"),
    "attorney": ("وكيل", "Attorney"),
    "agent": ("ممثل نظامي", "Agent"),
    "witness": ("شاهد", "Witness"),
    "expert": ("خبير", "Expert"),
}


# What each check found, in Arabic, by check name and result: (passed, failed).
# The checks' own details stay in English, for staff and support.
_CHECK_SUMMARIES_AR = {
    "input": ("قُرئ الملف", "تعذّرت قراءة الملف"),
    "format": (
        "الرمز بصيغة رموز التحقق من المحكمة",
        "الرمز ليس بصيغة المحكمة أو هو تالف",
    ),
    "link_address": (
        "الرمز يشير إلى صفحة التحقق الرسمية",
        "الرمز يشير إلى موقع آخر غير صفحة المحكمة؛ لا تفتح ذلك الرابط",
    ),
    "key_list": ("بيانات التحقق حديثة", "بيانات التحقق قديمة أو غير متوفرة"),
    "clock": ("ساعة الجهاز سليمة", "ساعة الجهاز متأخرة عن بيانات التحقق"),
    "key_known": ("مفتاح التوقيع من مفاتيح المحكمة", "مفتاح التوقيع غير معروف هنا"),
    "signature": ("التوقيع الرقمي يطابق المحتوى", "التوقيع الرقمي لا يطابق المحتوى"),
    "claims": ("بيانات المستند مقروءة", "بيانات المستند تالفة"),
    "key_trusted": (
        "المفتاح كان مخوّلًا بهذا المستند وقت التوقيع",
        "المفتاح لم يكن مخوّلًا بهذا المستند وقت التوقيع",
    ),
    "not_expired": ("المستند ضمن مدة صلاحيته", "انتهت صلاحية المستند"),
    "not_revoked": ("المستند غير ملغى", "المستند ملغى، أو تعذّر التأكد من حالته"),
    "identical_to_original": (
        "الملف مطابق تمامًا للأصل الصادر",
        "الملف يختلف عن الأصل الصادر؛ اعتمد البيانات الموقّعة فقط",
    ),
}


def check_summary(name: str, passed: bool, lang: str) -> str | None:
    """Return what a check found, in words for a person, or None if unknown.

    Only Arabic has summaries: in English the check's own detail reads well.
    """
    if lang != "ar" or name not in _CHECK_SUMMARIES_AR:
        return None
    passed_text, failed_text = _CHECK_SUMMARIES_AR[name]
    return passed_text if passed else failed_text


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "ar" else pair[1]


def headline(verdict: Verdict, lang: str) -> str:
    return _pick(_HEADLINES[verdict.outcome], lang)


def status_text(verdict: Verdict, lang: str) -> str:
    text = _pick(_STATUS[verdict.status], lang)
    if verdict.status is Status.REVOKED and verdict.reason in _REASONS:
        text += ": " + _pick(_REASONS[verdict.reason], lang)
    return text


def next_step(verdict: Verdict, lang: str) -> str:
    step = _pick(_NEXT_STEPS[verdict.outcome], lang)
    if verdict.successor_id:
        step += " " + _pick(("المستند البديل:", "Replacement document:"), lang)
        step += f" {verdict.successor_id}"
    return step


def field_rows(document: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """Return (label, value) rows of the signed fields, in reading order."""
    if not document:
        return []
    suffix = "_ar" if lang == "ar" else "_en"
    values: dict[str, str] = {
        "title": document["title" + suffix],
        "document_id": document["document_id"],
        "court": document["court" + suffix],
        "circuit": document["circuit" + suffix],
        "case_number": document["case_number"],
    }
    if "parties" in document:
        values["judgment_date"] = document["judgment_date"]
        separator = "؛ " if lang == "ar" else "; "
        # In English, each Arabic name is a bidirectional isolate (U+2068 ... U+2069)
        # so the colons and separators around it stay in reading order.
        isolate = "{}" if lang == "ar" else "\u2068{}\u2069"
        values["parties"] = separator.join(
            f"{_pick(ROLE_NAMES[party['role']], lang)}: "
            + isolate.format(party["name"])
            for party in document["parties"]
        )
    else:
        values["attendee_name"] = document["attendee_name"]
        values["capacity"] = _pick(ROLE_NAMES[document["capacity"]], lang)
        values["session_start"] = document["session_start"].replace("T", " ")
        values["national_id_last4"] = document["national_id_last4"]
    values["issued_at"] = document["issued_at"][:16].replace("T", " ") + " UTC"
    if document.get("expires_at"):
        values["expires_at"] = document["expires_at"][:10]
    return [(_pick(_LABELS[name], lang), value) for name, value in values.items()]
