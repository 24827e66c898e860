"""Texts of the kiosk screen for a verdict and for its trust data, Arabic first.

Headlines, status texts, next steps and field labels come from `verify.messages`,
so the kiosk never disagrees with the CLI or the web pages. This module adds what a
kiosk visitor needs beyond them: why this kiosk cannot decide (old trust data, a
wrong clock, a compromised key), and where to check online instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from verify.messages import field_rows, headline, next_step, status_text
from verify.trust import TrustStore
from verify.verdict import Status, Verdict
from verify.verifier import Policy

__all__ = ["duration_text", "trust_view", "verdict_view"]

Bilingual = dict[str, str]

_UNITS = {
    # (one, two, three to ten, eleven to ninety-nine, English singular)
    "day": ("يوم واحد", "يومان", "أيام", "يومًا", "day"),
    "hour": ("ساعة واحدة", "ساعتان", "ساعات", "ساعةً", "hour"),
    "minute": ("دقيقة واحدة", "دقيقتان", "دقائق", "دقيقةً", "minute"),
}


def duration_text(seconds: float, lang: str) -> str:
    """Write an age as whole days, hours or minutes, with Arabic number agreement."""
    seconds = max(0.0, seconds)
    if seconds >= 2 * 86400:
        count, unit = int(seconds // 86400), "day"
    elif seconds >= 3600:
        count, unit = int(seconds // 3600), "hour"
    else:
        count, unit = max(1, int(seconds // 60)), "minute"
    one, two, few, many, english = _UNITS[unit]
    if lang == "en":
        return f"{count} {english}{'' if count == 1 else 's'}"
    if count == 1:
        return one
    if count == 2:
        return two
    if 3 <= count % 100 <= 10:
        return f"{count} {few}"
    if 11 <= count % 100 <= 99:
        return f"{count} {many}"
    return f"{count} {one.split()[0]}"


def _both(ar: str, en: str) -> Bilingual:
    return {"ar": ar, "en": en}


def verdict_view(verdict: Verdict, online_url: str) -> dict[str, Any]:
    """Return the result screen for `verdict`: texts in both languages and rows."""
    outcome = verdict.outcome.value
    return {
        "status": verdict.status.value,
        "outcome": outcome,
        "headline": _both(headline(verdict, "ar"), headline(verdict, "en")),
        "status_text": _both(status_text(verdict, "ar"), status_text(verdict, "en")),
        "explanation": _explanation(verdict, online_url),
        "next_step": _both(next_step(verdict, "ar"), next_step(verdict, "en")),
        # Signed fields are shown only for a genuine document, because under the
        # heading "the paper must say" those of a revoked one would read as valid.
        "fields": _field_rows(verdict) if outcome == "genuine" else [],
    }


def _field_rows(verdict: Verdict) -> list[dict[str, str]]:
    arabic = field_rows(verdict.document, "ar")
    english = field_rows(verdict.document, "en")
    return [
        {
            "label_ar": label_ar,
            "value_ar": value_ar,
            "label_en": label_en,
            "value_en": value_en,
        }
        for (label_ar, value_ar), (label_en, value_en) in zip(
            arabic, english, strict=True
        )
    ]


def _failed_check(verdict: Verdict) -> str | None:
    # The last failed check is the step that decided: verification stops there,
    # and a failed link_address check before it only warns.
    failed = [check.name for check in verdict.checks if not check.passed]
    return failed[-1] if failed else None


def _explanation(verdict: Verdict, online_url: str) -> Bilingual | None:
    """Explain why this kiosk cannot decide, from the check that decided."""
    if verdict.status is not Status.INDETERMINATE:
        return None
    check = _failed_check(verdict)
    if check == "clock":
        return _both(
            "ساعة هذا الجهاز متأخرة عن تاريخ بيانات التحقق المحفوظة فيه، فلا يمكن"
            " الاعتماد عليها. أبلغ الموظف المختص لضبط الساعة.",
            "This kiosk's clock is earlier than the date of its trust data, so the"
            " clock cannot be trusted. Ask staff to correct the clock.",
        )
    if check == "key_trusted":
        return _both(
            "وُقّع هذا المستند بمفتاح تبيّن لاحقًا أنه مخترق، ولا يؤكده إلا التحقق"
            f" الإلكتروني عبر {online_url}",
            "This document was signed with a key later found compromised. Only the"
            f" court's online service can confirm it: {online_url}",
        )
    if check in ("key_list", "not_revoked"):
        age = _data_age(verdict, check)
        if age is None:
            return _both(
                f"لا توجد في هذا الجهاز بيانات تحقق. تحقق إلكترونيًا عبر {online_url}",
                f"This kiosk holds no trust data. Check online at {online_url}",
            )
        return _both(
            f"بيانات التحقق في هذا الجهاز قديمة (عمرها {duration_text(age, 'ar')})،"
            f" فلا يمكن تأكيد المستند هنا. تحقق إلكترونيًا عبر {online_url}",
            f"The trust data on this kiosk is {duration_text(age, 'en')} old, past"
            " its limit, so the document cannot be confirmed here. Check online at"
            f" {online_url}",
        )
    if check == "format":
        return _both(
            f"هذا الرمز بصيغة أحدث من هذا الجهاز. تحقق إلكترونيًا عبر {online_url}",
            f"This code uses a newer format than this kiosk reads. Check online at"
            f" {online_url}",
        )
    return None


def _data_age(verdict: Verdict, check: str) -> int | None:
    if check == "key_list":
        return verdict.key_list_age_seconds
    return verdict.status_list_age_seconds


def trust_view(
    store: TrustStore | None, policy: Policy, now: datetime
) -> dict[str, Any]:
    """Return the trust data summary shown on the start screen."""
    if store is None or store.key_list is None or store.status_list is None:
        return {
            "installed": False,
            "usable": False,
            "text": _both(
                "لا توجد بيانات تحقق في هذا الجهاز", "No trust data on this kiosk"
            ),
        }
    key_age = (now - store.key_list.issued_at).total_seconds()
    status_age = (now - store.status_list.issued_at).total_seconds()
    stale = (
        key_age > policy.max_key_list_age.total_seconds()
        or status_age > policy.max_status_list_age.total_seconds()
        or now >= store.key_list.expires_at
        or now >= store.status_list.expires_at
    )
    newest = store.newest_issued_at
    clock_behind = newest is not None and now + policy.clock_skew < newest
    age = max(key_age, status_age)
    if clock_behind:
        text = _both(
            "ساعة الجهاز متأخرة عن بيانات التحقق: أبلغ الموظف",
            "The clock is earlier than the trust data: ask staff",
        )
    else:
        text = _both(
            f"عمر بيانات التحقق: {duration_text(age, 'ar')}",
            f"Trust data age: {duration_text(age, 'en')}",
        )
        if stale:
            text = _both(
                text["ar"] + "، وهي أقدم من المسموح",
                text["en"] + ", older than allowed",
            )
    return {
        "installed": True,
        "usable": not (stale or clock_behind),
        "stale": stale,
        "clock_behind": clock_behind,
        "text": text,
        "key_list_version": store.key_list.version,
        "key_list_age_seconds": int(key_age),
        "status_list_version": store.status_list.version,
        "status_list_age_seconds": int(status_age),
    }
