"""The app factory of the verification service.

`create_app` builds everything from `Settings`; importing this module does no work.
uvicorn's workers call `create_app_from_env` (``--factory``), so each worker reads
and checks the environment itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from verify.api.decoding import DecodePool
from verify.api.errors import install_error_handlers
from verify.api.metrics import Metrics
from verify.api.middleware import ServiceMiddleware
from verify.api.operations import operations_router
from verify.api.pages import PageContext, page_router
from verify.api.ratelimit import RateLimiter
from verify.api.registries import ReadRegistry
from verify.api.settings import Settings
from verify.api.staff import StaffContext, staff_router
from verify.api.trustcache import TrustStoreCache
from verify.api.verifications import VerificationContext, verification_router
from verify.api.wellknown import wellknown_router
from verify.errors import TrustDataError
from verify.verifier import Policy

__all__ = ["create_app", "create_app_from_env"]

logger = logging.getLogger(__name__)

# The largest valid document (six parties, two 4,000-character texts) is under
# 64 KB of JSON even with every character escaped as \uXXXX.
MAX_STAFF_BODY_BYTES = 256 * 1024
# Every other route takes no body, or a small form.
MAX_OTHER_BODY_BYTES = 64 * 1024

_DESCRIPTION = """\
Verify court documents from their QR code, online.

Public: `POST /api/v1/verifications` with `{"qr_text": ...}` or a multipart `file`.
Staff endpoints need `Authorization: Bearer <token>` with the right role
(issuer, revoker or auditor); tokens come from `wathiq tokens create`.
Every error answers `{"error": {"code": ..., "message": ...}}`.
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _package_version() -> str:
    try:
        return version("wathiq")
    except PackageNotFoundError:
        return "0"


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] = _utc_now
) -> FastAPI:
    """Build the service: pages, verification API, staff API and operations."""
    settings = settings or Settings()
    settings.check_production()
    home = settings.home_paths
    metrics = Metrics()
    trust = TrustStoreCache(home.trust_dir)
    registry = ReadRegistry(home.registry_path) if home.registry_path.exists() else None
    verification = VerificationContext(
        policy=Policy(court_base_url=settings.base_url),
        trust_store=trust.get,
        registry=registry,
        limits=settings.scan_limits,
        decoder=DecodePool(settings.decode_threads, settings.decode_timeout_seconds),
        clock=clock,
        rate_limiter=RateLimiter(
            settings.verify_rate_per_minute / 60, settings.verify_burst
        ),
        metrics=metrics,
    )
    pages = PageContext(
        verification=verification,
        registry=registry,
        download_limiter=RateLimiter(
            settings.download_rate_per_hour / 3600, settings.download_burst
        ),
        metrics=metrics,
    )

    staff = None
    if settings.staff_api:
        staff = StaffContext(home=home, registry=registry, clock=clock, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _log_start(settings, registry, trust)
        yield
        if staff is not None:
            staff.close()
        if registry is not None:
            registry.close()
        logger.info("service stopped")

    app = FastAPI(
        title="wathiq",
        summary="Verification of signed court documents",
        description=_DESCRIPTION,
        version=_package_version(),
        # The interactive docs load scripts from a CDN, which the CSP forbids;
        # the OpenAPI document itself is served.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(verification_router(verification))
    app.include_router(page_router(pages))
    app.include_router(operations_router(trust.get, registry, metrics, clock))
    app.include_router(wellknown_router(home.public_dir))
    if staff is not None:
        app.include_router(staff_router(staff))
    app.mount(
        "/static", StaticFiles(packages=[("verify.api", "static")]), name="static"
    )
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        body_limit=_body_limits(verification.max_body_bytes),
        hsts=settings.environment == "production",
    )
    return app


def create_app_from_env() -> FastAPI:
    """Build the service from the WATHIQ_* environment (uvicorn's app factory)."""
    return create_app(Settings())


def _body_limits(upload_limit: int) -> Callable[[str], int]:
    upload_paths = {"/", "/api/v1/verifications"}

    def limit(path: str) -> int:
        if path in upload_paths:
            return upload_limit
        if path.startswith("/api/v1/documents"):
            return MAX_STAFF_BODY_BYTES
        return MAX_OTHER_BODY_BYTES

    return limit


def _log_start(
    settings: Settings, registry: ReadRegistry | None, trust: TrustStoreCache
) -> None:
    details: dict[str, Any] = {
        "environment": settings.environment,
        "home": str(settings.home_paths.root),
        "registry": registry is not None,
        "staff_api": settings.staff_api,
    }
    logger.info(
        "service starting in %s with registry %s",
        settings.environment,
        "on" if registry is not None else "off",
        extra=details,
    )
    try:
        trust.get()
    except TrustDataError as error:
        # The service still starts, so that /readyz can report why it is not ready.
        logger.error("no trust store: %s", error)
