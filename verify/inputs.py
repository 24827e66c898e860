"""Verify what people hold: QR text, an image or a PDF.

Scans the input, picks our QR code among any others on the page, verifies it, and
for a PDF that carries our embedded QR text, compares the file byte for byte with the
registry's original when a registry is available.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from verify.errors import InputError, InputTooLarge, NoQrFound, PayloadError
from verify.payload import decode_claims, decode_cose, payload_from_qr_text
from verify.scanning import (
    DEFAULT_LIMITS,
    ScanLimits,
    detect_format,
    embedded_qr_text,
    scan,
)
from verify.trust import TrustStore
from verify.verdict import Check, Status, Verdict
from verify.verifier import Policy, RegistryView, verify_qr_text

__all__ = ["OriginalStore", "verify_file", "verify_upload"]

logger = logging.getLogger(__name__)


class OriginalStore(RegistryView, Protocol):
    def pdf_sha256(self, document_id: str) -> str | None: ...


def verify_file(
    data: bytes,
    store: TrustStore,
    *,
    now: datetime,
    policy: Policy | None = None,
    registry: OriginalStore | None = None,
    limits: ScanLimits = DEFAULT_LIMITS,
) -> Verdict:
    """Verify the QR code in an image or PDF; never raises for bad input.

    Input that cannot be read gives an UNSUPPORTED_INPUT verdict whose reason
    names the problem.
    """
    try:
        return verify_upload(
            data, store, now=now, policy=policy, registry=registry, limits=limits
        )
    except InputError as error:
        return _input_verdict(Status.UNSUPPORTED_INPUT, str(error), now)


def verify_upload(
    data: bytes,
    store: TrustStore,
    *,
    now: datetime,
    policy: Policy | None = None,
    registry: OriginalStore | None = None,
    limits: ScanLimits = DEFAULT_LIMITS,
) -> Verdict:
    """Verify the QR code in an image or PDF, raising InputError for unreadable input.

    Services map the InputError subclasses to their own answers (HTTP 413, 415,
    422). A readable file without a QR code gives a NO_QR_FOUND verdict.
    """
    if len(data) > limits.max_bytes:
        raise InputTooLarge(
            f"the file has {len(data)} bytes; the maximum is {limits.max_bytes}"
        )
    kind = detect_format(data)
    if kind == "pdf" and registry is not None:
        original = _original_pdf_text(data, registry)
        if original is not None:
            verdict = verify_qr_text(
                original, store, now=now, policy=policy, registry=registry
            )
            return _compare_original(data, verdict, registry)
    try:
        texts = scan(data, limits)
    except NoQrFound as error:
        return _input_verdict(Status.NO_QR_FOUND, str(error), now)
    verdict = _verify_first_ours(texts, store, now, policy, registry)
    if kind == "pdf" and registry is not None and verdict.document_id:
        verdict = _compare_original(data, verdict, registry)
    return verdict


def _original_pdf_text(data: bytes, registry: OriginalStore) -> str | None:
    """Return the QR text of a PDF that is byte for byte an original we issued.

    The metadata text only names the original to compare with; the comparison of
    SHA-256 digests decides, so an edited PDF falls back to reading its pages.
    """
    try:
        text = embedded_qr_text(data)
        if text is None:
            return None
        # Decoded without trusting anything, only to find the document id.
        claims = decode_claims(decode_cose(payload_from_qr_text(text)).payload)
    except (InputError, PayloadError):
        return None
    original = registry.pdf_sha256(claims.document_id_text)
    if original is None or hashlib.sha256(data).hexdigest() != original:
        return None
    return text


def _verify_first_ours(
    texts: list[str],
    store: TrustStore,
    now: datetime,
    policy: Policy | None,
    registry: RegistryView | None,
) -> Verdict:
    """Verify our code; a foreign code decides only when nothing else was found."""
    first: Verdict | None = None
    for text in texts:
        verdict = verify_qr_text(text, store, now=now, policy=policy, registry=registry)
        if verdict.status is not Status.NOT_A_WATHIQ_CODE:
            return verdict
        logger.debug("skipped a foreign QR code")
        first = first or verdict
    assert first is not None, "scan() returns at least one text or raises NoQrFound"
    return first


def _compare_original(
    data: bytes, verdict: Verdict, registry: OriginalStore
) -> Verdict:
    assert verdict.document_id is not None
    original = registry.pdf_sha256(verdict.document_id)
    if original is None:
        return verdict
    identical = hashlib.sha256(data).hexdigest() == original
    detail = (
        "the PDF is byte for byte the original issued file"
        if identical
        else "the PDF differs from the original issued file; rely only on the signed"
        " details shown here"
    )
    checks = (*verdict.checks, Check("identical_to_original", identical, detail))
    if identical or verdict.status is not Status.GENUINE:
        return replace(verdict, checks=checks)
    return replace(verdict, checks=checks, reason=detail)


def _input_verdict(status: Status, detail: str, now: datetime) -> Verdict:
    return Verdict(
        status=status,
        reference_time=now,
        checks=(Check("input", False, detail),),
        reason=detail,
    )
