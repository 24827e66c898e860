"""The kiosk's local web application: the visitor's page and its endpoints.

Routes:

- ``GET /``: the kiosk page; ``GET /static/...``: its script and styles.
- ``POST /kiosk/frame`` (a JPEG camera frame), ``/kiosk/text`` (JSON ``qr_text``
  from a hand-held scanner) and ``/kiosk/file`` (the raw bytes of a chosen file):
  a result screen, or ``{"found": false}`` for a frame without a QR code.
- ``POST /kiosk/rating``: one satisfaction rating for a finished check.
- ``GET /kiosk/status``: trust data age and the last sync, for the start screen.
- ``POST /api/v1/verifications``: the API service's own endpoint
  (`verify.api.verifications`), mounted without a registry, so it returns to
  other local programs what the service returns when offline.

The service's middleware adds body limits, security headers and access logs that
name routes, never paths or payloads. Every kiosk response forbids caching, and the
page loads nothing but this server's own files (Content-Security-Policy).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.middleware.trustedhost import TrustedHostMiddleware

from kiosk.bundle import TrustBundle
from kiosk.checks import FRAME_LIMITS, NO_BUNDLE_REASON, Checker, utc_now
from kiosk.counts import RATINGS, UsageCounts
from kiosk.screen import trust_view, verdict_view
from kiosk.settings import KioskHome, KioskSettings
from kiosk.sync import SyncStatus
from verify.api.decoding import DecodePool
from verify.api.errors import (
    ApiError,
    error_body,
    install_error_handlers,
    status_for,
)
from verify.api.metrics import Metrics
from verify.api.middleware import ServiceMiddleware
from verify.api.verifications import VerificationContext, verification_router
from verify.config import Home
from verify.errors import InputError, InputTooLarge, TrustDataError
from verify.scanning import MAX_BYTES, ScanLimits
from verify.trust import TrustStore
from verify.verdict import Verdict

__all__ = ["KioskState", "create_app"]

logger = logging.getLogger(__name__)

# Ratings accepted per check: tokens expire with the result screen, and only the
# most recent ones are kept.
RATING_TOKEN_SECONDS = 600
MAX_RATING_TOKENS = 64
# JSON bodies of the page: one QR text, or a rating.
MAX_JSON_BYTES = 16 * 1024
# The middleware stops any body past this, except on /kiosk/file, which stops
# reading at MAX_BYTES itself to show an oversized file on screen like any other
# unreadable file (a 413 from the middleware would leave the visitor no message).
MAX_REQUEST_BYTES = MAX_BYTES + 64 * 1024
MAX_FILE_REQUEST_BYTES = 1 << 40
# Upload decodes of the API endpoint: two at once, each given up after 5 s.
API_DECODE_SLOTS = 2
API_DECODE_TIMEOUT_SECONDS = 5.0
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class KioskState:
    """State shared by the requests of a running kiosk."""

    home: Home
    settings: KioskSettings
    bundle: TrustBundle
    counts: UsageCounts
    checker: Checker
    clock: Callable[[], datetime] = utc_now
    sync_status: SyncStatus | None = None

    @classmethod
    def open(
        cls,
        home: Home,
        settings: KioskSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> KioskState:
        kiosk_home = KioskHome.from_home(home)
        bundle = TrustBundle(kiosk_home)
        counts = UsageCounts(kiosk_home.counts_path)
        checker = Checker(bundle, settings.verify_policy(home), counts, clock)
        return cls(home, settings, bundle, counts, checker, clock)

    def trust_store(self) -> TrustStore:
        """Return the current trust store, raising TrustDataError when none."""
        store = self.bundle.current()
        if store is None:
            raise TrustDataError(NO_BUNDLE_REASON)
        return store


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over {limit:,} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """Read the request body, raising BodyTooLarge as soon as it passes `limit`."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


def error_response(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        error_body(code, message), status_code=status_code, headers=NO_STORE
    )


class _RatingTokens:
    """Single-use tokens that let a visitor rate the check just shown, once."""

    def __init__(self) -> None:
        self._tokens: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + RATING_TOKEN_SECONDS
            while len(self._tokens) > MAX_RATING_TOKENS:
                self._tokens.popitem(last=False)
        return token

    def redeem(self, token: str) -> bool:
        with self._lock:
            expires = self._tokens.pop(token, None)
        return expires is not None and time.monotonic() < expires


def create_app(state: KioskState) -> FastAPI:
    """Build the kiosk application around an opened `state`."""
    app = FastAPI(title="wathiq kiosk", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.kiosk = state
    install_error_handlers(app)
    context = VerificationContext(
        trust_store=state.trust_store,
        registry=None,
        limits=ScanLimits(),
        decoder=DecodePool(API_DECODE_SLOTS, API_DECODE_TIMEOUT_SECONDS),
        policy=state.settings.verify_policy(state.home),
        clock=state.clock,
    )
    app.include_router(verification_router(context))
    _add_page_routes(app, state)
    app.mount("/static", StaticFiles(packages=[("kiosk", "static")]), name="static")

    @app.middleware("http")
    async def forbid_caching(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_middleware(
        ServiceMiddleware,
        metrics=Metrics(),
        body_limit=_body_limit,
        hsts=False,
    )
    # Only these Host names reach the app, so a web page that rebinds its own DNS
    # name to 127.0.0.1 cannot call the kiosk from the browser.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
    return app


def _body_limit(path: str) -> int:
    if path == "/kiosk/frame":
        return FRAME_LIMITS.max_bytes
    if path in ("/kiosk/text", "/kiosk/rating"):
        return MAX_JSON_BYTES
    if path == "/kiosk/file":
        return MAX_FILE_REQUEST_BYTES
    return MAX_REQUEST_BYTES


def _add_page_routes(app: FastAPI, state: KioskState) -> None:
    templates = Environment(
        loader=PackageLoader("kiosk", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    page = templates.get_template("index.html")
    tokens = _RatingTokens()
    online_url = state.settings.online_address(state.home)

    def result(verdict: Verdict) -> JSONResponse:
        screen = verdict_view(verdict, online_url)
        rating = tokens.issue() if state.settings.rating else None
        return JSONResponse(
            {"found": True, "screen": screen, "rating_token": rating}, headers=NO_STORE
        )

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        settings = state.settings
        return HTMLResponse(
            page.render(
                return_seconds=settings.return_seconds,
                rescan_delay_ms=int(settings.rescan_delay_seconds * 1000),
                frame_interval_ms=settings.frame_interval_ms,
                rating=settings.rating,
            )
        )

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/kiosk/status")
    def status() -> JSONResponse:
        try:
            store = state.bundle.current()
        except TrustDataError as error:
            logger.error("the trust bundle cannot be loaded: %s", error)
            store = None
        view = trust_view(store, state.settings.policy, state.clock())
        body: dict[str, Any] = {"trust": view}
        sync = state.sync_status
        if sync is not None:
            body["sync"] = {
                "attempted_at": _iso(sync.attempted_at),
                "succeeded_at": _iso(sync.succeeded_at),
                "error": sync.error,
            }
        return JSONResponse(body, headers=NO_STORE)

    @app.post("/kiosk/frame")
    async def frame(request: Request) -> JSONResponse:
        started = time.perf_counter()
        try:
            jpeg = await read_body(request, FRAME_LIMITS.max_bytes)
            verdict = await run_in_threadpool(state.checker.check_frame, jpeg)
        except (BodyTooLarge, InputError) as error:
            logger.warning("unreadable camera frame: %s", error)
            unreadable = (
                error if isinstance(error, InputError) else InputTooLarge(error)
            )
            status_code, code = status_for(unreadable)
            return error_response(status_code, code, str(error))
        milliseconds = (time.perf_counter() - started) * 1000
        # Server-Timing lets the page and the benchmark split the time spent here
        # from the time spent in the browser.
        timing = {"Server-Timing": f"decode;dur={milliseconds:.1f}"}
        if verdict is None:
            return JSONResponse({"found": False}, headers={**NO_STORE, **timing})
        response = result(verdict)
        response.headers.update(timing)
        return response

    @app.post("/kiosk/text")
    async def text(request: Request) -> JSONResponse:
        body = await _json_body(request)
        qr_text = body.get("qr_text") if isinstance(body, dict) else None
        if not isinstance(qr_text, str) or not qr_text.strip():
            return error_response(422, "invalid_request", "qr_text is missing")
        verdict = await run_in_threadpool(state.checker.check_text, qr_text, "scanner")
        return result(verdict)

    @app.post("/kiosk/file")
    async def file(request: Request) -> JSONResponse:
        try:
            data = await read_body(request, MAX_BYTES)
        except BodyTooLarge as error:
            # Shown on screen like any other file that cannot be read.
            unreadable = InputTooLarge(f"{error}; choose a smaller scan or photo")
            return result(state.checker.unreadable(unreadable, "file"))
        verdict = await run_in_threadpool(
            state.checker.check_upload_or_verdict, data, "file"
        )
        return result(verdict)

    @app.post("/kiosk/rating")
    async def rating(request: Request) -> Response:
        body = await _json_body(request)
        token = body.get("token") if isinstance(body, dict) else None
        value = body.get("rating") if isinstance(body, dict) else None
        if value not in RATINGS or not isinstance(token, str):
            return error_response(
                422, "invalid_request", f"rating must be one of {', '.join(RATINGS)}"
            )
        if not tokens.redeem(token):
            return error_response(
                409,
                "rating_not_accepted",
                "this check was already rated, or its result screen has closed",
            )
        try:
            state.counts.count_rating(value, state.clock().date())
        except sqlite3.Error as error:
            logger.warning("failed to count a rating: %s", error)
        return Response(status_code=204)


async def _json_body(request: Request) -> Any:
    """Read a small JSON body, raising ApiError when it is too large or invalid."""
    try:
        return json.loads(await read_body(request, MAX_JSON_BYTES))
    except BodyTooLarge as error:
        raise ApiError(413, "request_too_large", str(error)) from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid_request", "the body is not valid JSON") from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
