"""``POST /api/v1/verifications``, the verification endpoint of services and kiosks.

The request handling lives here so that every verifier responds alike: the web
service mounts it with the registry, a kiosk without one. A kiosk mounts it so::

    context = VerificationContext(
        trust_store=TrustStoreCache(home.trust_dir).get,
        registry=None,
        limits=ScanLimits(),
        decoder=DecodePool(slots=2, timeout=5.0),
    )
    app.include_router(verification_router(context))
    install_error_handlers(app)  # from verify.api.errors: the status codes below

Requests are either JSON ``{"qr_text": "..."}`` or ``multipart/form-data`` with an
image or PDF in the field ``file``. The response is ``Verdict.to_dict()`` plus an
``online`` object (see `verify.api.schemas.VerificationResponse`), with status 200
whatever the verdict. Errors use the JSON body of `verify.api.errors`:

- 413 ``input_too_large``: the file or the body is over its limit.
- 415 ``unsupported_media_type``: the body is neither JSON nor multipart, or the
  file is no image or PDF format we read.
- 422 ``corrupt_input``, ``too_many_pixels``, ``decode_timeout``, ``empty_file``,
  ``missing_file``, or ``invalid_request`` (JSON that does not parse or has no
  string ``qr_text``).
- 429 ``rate_limited`` with Retry-After, when the context has a rate limiter.
- 503 ``busy`` (every decode slot taken) or ``trust_data_unavailable``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from verify.api.decoding import DecodeBusy, DecodePool, DecodeTimeout
from verify.api.errors import ApiError
from verify.api.metrics import Metrics
from verify.api.ratelimit import RateLimiter
from verify.api.schemas import VERIFICATION_REQUEST_BODY, VERIFICATION_RESPONSES
from verify.errors import InputTooLarge, UnknownFormat, UnsupportedInput
from verify.inputs import OriginalStore, verify_upload
from verify.scanning import ScanLimits, detect_format
from verify.trust import TrustStore
from verify.verdict import Verdict
from verify.verifier import Policy, RegistryRecord, verify_qr_text

__all__ = [
    "Verification",
    "VerificationContext",
    "check_rate",
    "client_key",
    "read_upload",
    "uploaded_bytes",
    "verification_router",
    "verify_bytes",
    "verify_text",
]

logger = logging.getLogger(__name__)

# The JSON body contains one QR text of at most 4,296 characters (a version 40 code).
MAX_JSON_BODY_BYTES = 16 * 1024
# Room for the multipart boundaries and part headers around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class VerificationContext:
    """Dependencies of the endpoint, built once when a verifier starts."""

    trust_store: Callable[[], TrustStore]
    """Returns the current trust store; raises TrustDataError when there is none."""
    registry: OriginalStore | None
    """The court's registry for the online checks, or None on an offline verifier."""
    limits: ScanLimits
    decoder: DecodePool
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], datetime] = _utc_now
    rate_limiter: RateLimiter | None = None
    metrics: Metrics | None = None

    @property
    def max_body_bytes(self) -> int:
        """The largest request body the endpoint reads."""
        return self.limits.max_bytes + MULTIPART_OVERHEAD_BYTES


@dataclass(frozen=True)
class Verification:
    """A verdict and the online checks found while reaching it."""

    verdict: Verdict
    online: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.verdict.to_dict(), "online": self.online}


class _RecordingRegistry:
    """Passes registry reads through and keeps the record the verifier looked up."""

    def __init__(self, registry: OriginalStore) -> None:
        self._registry = registry
        self.consulted = False
        self.record: RegistryRecord | None = None

    def lookup(self, document_id: bytes) -> RegistryRecord | None:
        self.consulted = True
        self.record = self._registry.lookup(document_id)
        return self.record

    def pdf_sha256(self, document_id: str) -> str | None:
        return self._registry.pdf_sha256(document_id)


def _online(verdict: Verdict, recorder: _RecordingRegistry | None) -> dict[str, Any]:
    identical = None
    for check in verdict.checks:
        if check.name == "identical_to_original":
            identical = check.passed
    status = None
    if recorder is not None and recorder.consulted:
        status = recorder.record.status if recorder.record else "not_found"
    return {
        "registry_consulted": recorder is not None,
        "registry_status": status,
        "identical_to_original": identical,
        "successor_id": verdict.successor_id,
    }


async def verify_text(
    context: VerificationContext, text: str, source: str = "text"
) -> Verification:
    """Verify a QR text; raise TrustDataError when no trust store is available.

    It runs on the event loop: a QR text is capped at 4,296 characters, and its
    verification took about 0.17 ms on the 2-core development machine. That is too
    short to stall other requests, and a hop to a worker thread would add to it.
    """
    started = time.perf_counter()
    store = context.trust_store()
    recorder = _RecordingRegistry(context.registry) if context.registry else None
    verdict = verify_qr_text(
        text, store, now=context.clock(), policy=context.policy, registry=recorder
    )
    _observe(context, verdict, source, started)
    return Verification(verdict, _online(verdict, recorder))


async def verify_bytes(
    context: VerificationContext, data: bytes, source: str = "file"
) -> Verification:
    """Verify an uploaded image or PDF in a decode thread.

    Raises the InputError subclasses of `verify_upload`, UnknownFormat, and
    ApiError for an empty file, a decode timeout or a full decode pool.
    """
    started = time.perf_counter()
    if not data:
        raise ApiError(422, "empty_file", "the uploaded file is empty; choose the file")
    if len(data) > context.limits.max_bytes:
        raise InputTooLarge(
            f"the file has more than {context.limits.max_bytes:,} bytes, the upload"
            " limit; upload a smaller file, such as a JPEG photo or a 300 dpi scan"
        )
    try:
        # The format is identified first, so that any unreadable file after this
        # point is a damaged file of a known format (422), not an unknown one (415).
        detect_format(data)
    except UnknownFormat:
        raise
    except UnsupportedInput as error:
        raise UnknownFormat(str(error)) from error
    store = context.trust_store()
    recorder = _RecordingRegistry(context.registry) if context.registry else None
    now = context.clock()

    def decode() -> Verdict:
        return verify_upload(
            data,
            store,
            now=now,
            policy=context.policy,
            registry=recorder,
            limits=context.limits,
        )

    try:
        verdict = await context.decoder.run(decode)
    except DecodeTimeout:
        _count_rejection(context, "timeout")
        raise ApiError(
            422,
            "decode_timeout",
            f"the file could not be decoded within {context.decoder.timeout:g}"
            " seconds; upload a smaller scan, for example one page at 300 dpi",
        ) from None
    except DecodeBusy:
        _count_rejection(context, "busy")
        logger.warning(
            "upload rejected: all %d decode slots busy", context.decoder.slots
        )
        raise ApiError(
            503,
            "busy",
            "every decoder is busy; try again in a few seconds",
            {"Retry-After": "2"},
        ) from None
    _observe(context, verdict, source, started)
    return Verification(verdict, _online(verdict, recorder))


def _observe(
    context: VerificationContext, verdict: Verdict, source: str, started: float
) -> None:
    if context.metrics is not None:
        seconds = time.perf_counter() - started
        context.metrics.observe_verification(verdict.status.value, source, seconds)


def _count_rejection(context: VerificationContext, reason: str) -> None:
    if context.metrics is not None:
        context.metrics.decode_rejections.labels(reason=reason).inc()


def client_key(request: Request) -> str:
    """Return the client address used for rate limits (after trusted proxies)."""
    return request.client.host if request.client else "unknown"


def check_rate(
    limiter: RateLimiter | None,
    request: Request,
    bucket: str,
    metrics: Metrics | None = None,
) -> None:
    """Take a token from `limiter` for this client, or raise a 429 ApiError."""
    if limiter is None:
        return
    wait = limiter.take(client_key(request))
    if wait <= 0:
        return
    if metrics is not None:
        metrics.rate_limited.labels(bucket=bucket).inc()
    raise ApiError(
        429,
        "rate_limited",
        f"too many requests from this address; try again in"
        f" {RateLimiter.retry_after(wait)} seconds",
        {"Retry-After": RateLimiter.retry_after(wait)},
    )


async def read_upload(request: Request, max_bytes: int) -> bytes:
    """Return the bytes of the multipart field ``file``, raising ApiError if absent."""
    # NOTE: Starlette 1.10 spools a file part over 1 MiB to a temporary file until the
    # form is closed, so large uploads touch the disk of the server briefly.
    form = await request.form(max_files=1, max_fields=4)
    try:
        data = await uploaded_bytes(form, max_bytes)
    finally:
        await form.close()
    if data is None:
        raise ApiError(
            422,
            "missing_file",
            "the multipart form has no file in the field 'file'; attach the image or"
            " PDF there",
        )
    return data


async def uploaded_bytes(form: FormData, max_bytes: int) -> bytes | None:
    """Return the bytes of the form's ``file`` field, or None when no file was chosen.

    At most one byte over `max_bytes` is read, so that `verify_upload` reports the
    size with a 413 without the rest being held in memory.
    """
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(max_bytes + 1)


async def _read_qr_text(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_JSON_BODY_BYTES:
        raise ApiError(
            413,
            "input_too_large",
            f"the JSON body has {len(body):,} bytes; the maximum is"
            f" {MAX_JSON_BODY_BYTES:,}, and a QR text fits in far less",
        )
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            422,
            "invalid_request",
            'the body is not valid JSON; send {"qr_text": "..."}',
        ) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("qr_text"), str):
        raise ApiError(
            422,
            "invalid_request",
            'the JSON body needs a string field "qr_text" with the QR code\'s text',
        )
    text: str = parsed["qr_text"]
    return text


def verification_router(context: VerificationContext) -> APIRouter:
    """Return a router with ``POST /api/v1/verifications`` bound to `context`."""
    router = APIRouter()

    @router.post(
        "/api/v1/verifications",
        summary="Verify a QR text, a scan or a PDF",
        tags=["verification"],
        response_model=None,
        responses=VERIFICATION_RESPONSES,
        openapi_extra={"requestBody": VERIFICATION_REQUEST_BODY},
    )
    async def create_verification(request: Request) -> JSONResponse:
        check_rate(context.rate_limiter, request, "verify", context.metrics)
        media_type = request.headers.get("content-type", "").split(";")[0]
        media_type = media_type.strip().lower()
        if media_type == "application/json":
            text = await _read_qr_text(request)
            result = await verify_text(context, text)
        elif media_type == "multipart/form-data":
            data = await read_upload(request, context.limits.max_bytes)
            result = await verify_bytes(context, data)
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                "send application/json with a qr_text field, or multipart/form-data"
                " with the image or PDF in the field 'file'",
            )
        return JSONResponse(result.to_dict(), headers={"Cache-Control": "no-store"})

    return router
