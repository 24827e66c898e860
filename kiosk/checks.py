"""Offline verification for the kiosk: QR text, uploaded files and camera frames.

Every check uses the current trust bundle and the kiosk's age policy, never the
network or a registry, and counts its outcome anonymously. Inputs are held in
memory only for the duration of the call.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from PIL import Image

from kiosk.bundle import TrustBundle
from kiosk.counts import UsageCounts
from verify.errors import (
    CorruptInput,
    InputError,
    InputTooLarge,
    TooManyPixels,
    TrustDataError,
    UnknownFormat,
)
from verify.inputs import verify_upload
from verify.scanning import ScanLimits, scan_images
from verify.trust import TrustStore
from verify.verdict import Check, Status, Verdict
from verify.verifier import Policy, verify_qr_text

__all__ = ["FRAME_LIMITS", "NO_BUNDLE_REASON", "Checker", "utc_now"]

logger = logging.getLogger(__name__)

# The kiosk page sends frames of at most 1280 pixels a side as JPEG; a 1280 × 960
# frame at quality 0.85 is about 300 KB, and 2 MiB leaves room for any camera.
FRAME_LIMITS = ScanLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)

NO_BUNDLE_REASON = (
    "no usable trust bundle is installed on this kiosk; run 'wathiq kiosk"
    " import-bundle PATH'"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Checker:
    """Verifies what a visitor presents, against the kiosk's trust bundle."""

    def __init__(
        self,
        bundle: TrustBundle,
        policy: Policy,
        counts: UsageCounts,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.bundle = bundle
        self.policy = policy
        self.counts = counts
        self.clock = clock

    def check_text(self, text: str, source: str) -> Verdict:
        """Verify QR text, such as a hand-held scanner types."""
        started = time.perf_counter()
        now = self.clock()
        verdict = self._verify_texts([text.strip()], now)
        return self._finish(verdict, source, started)

    def check_upload(self, data: bytes, source: str) -> Verdict:
        """Verify an image or PDF; raises InputError subclasses for unreadable input."""
        started = time.perf_counter()
        now = self.clock()
        store = self._store()
        if store is None:
            verdict = _no_bundle_verdict(now)
        else:
            verdict = verify_upload(data, store, now=now, policy=self.policy)
        return self._finish(verdict, source, started)

    def check_upload_or_verdict(self, data: bytes, source: str) -> Verdict:
        """Like `check_upload`, but unreadable input gives an UNSUPPORTED_INPUT
        verdict, for the kiosk screen."""
        try:
            return self.check_upload(data, source)
        except InputError as error:
            return self.unreadable(error, source)

    def unreadable(self, error: InputError, source: str) -> Verdict:
        """Count and return the UNSUPPORTED_INPUT verdict for an unreadable input."""
        verdict = Verdict(
            status=Status.UNSUPPORTED_INPUT,
            reference_time=self.clock(),
            checks=(Check("input", False, str(error)),),
            reason=str(error),
        )
        return self._finish(verdict, source, time.perf_counter())

    def check_frame(self, jpeg: bytes) -> Verdict | None:
        """Verify a camera frame; return None when it shows no QR code.

        Raises InputError subclasses for a frame that is not a readable image.
        """
        started = time.perf_counter()
        texts = scan_images([_open_frame(jpeg)], FRAME_LIMITS)
        if not texts:
            return None
        verdict = self._verify_texts(texts, self.clock())
        return self._finish(verdict, "camera", started)

    def _verify_texts(self, texts: Iterable[str], now: datetime) -> Verdict:
        """Verify our code among `texts`; a foreign code decides only when alone."""
        store = self._store()
        if store is None:
            return _no_bundle_verdict(now)
        first: Verdict | None = None
        for text in texts:
            verdict = verify_qr_text(text, store, now=now, policy=self.policy)
            if verdict.status is not Status.NOT_A_WATHIQ_CODE:
                return verdict
            first = first or verdict
        assert first is not None, "callers pass at least one text"
        return first

    def _store(self) -> TrustStore | None:
        try:
            return self.bundle.current()
        except TrustDataError as error:
            logger.error("the trust bundle cannot be loaded: %s", error)
            return None

    def _finish(self, verdict: Verdict, source: str, started: float) -> Verdict:
        try:
            self.counts.count_check(
                source, verdict.status.value, verdict.outcome.value, self.clock().date()
            )
        except sqlite3.Error as error:
            # A lost count must not cost the visitor the verdict.
            logger.warning("failed to count a %s check: %s", source, error)
        # Status and timing only: the document id and fields are never logged.
        logger.info(
            "check from %s: %s in %.0f ms",
            source,
            verdict.status.value,
            (time.perf_counter() - started) * 1000,
        )
        return verdict


def _open_frame(jpeg: bytes) -> Image.Image:
    if len(jpeg) > FRAME_LIMITS.max_bytes:
        raise InputTooLarge(
            f"the frame has {len(jpeg)} bytes; the maximum is {FRAME_LIMITS.max_bytes}"
        )
    if not jpeg.startswith(b"\xff\xd8\xff"):
        raise UnknownFormat("camera frames must be JPEG images")
    try:
        image = Image.open(io.BytesIO(jpeg), formats=["JPEG"])
    except Image.DecompressionBombError as error:
        raise TooManyPixels(f"the camera frame is too large: {error}") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptInput(f"the camera frame is a damaged JPEG: {error}") from None
    if image.width * image.height > FRAME_LIMITS.max_pixels:
        raise TooManyPixels(
            f"the camera frame is {image.width} × {image.height} pixels; the maximum"
            f" is {FRAME_LIMITS.max_pixels:,} pixels"
        )
    try:
        # Decoding only the luminance is enough for QR codes and saves the colour
        # conversion; draft() is exact for this, not a reduced-size preview.
        image.draft("L", image.size)
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptInput(f"the camera frame is a damaged JPEG: {error}") from None
    return image


def _no_bundle_verdict(now: datetime) -> Verdict:
    return Verdict(
        status=Status.INDETERMINATE,
        reference_time=now,
        checks=(Check("key_list", False, NO_BUNDLE_REASON),),
        reason=NO_BUNDLE_REASON,
    )
