"""Health, readiness and metrics endpoints for the operators' tools."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from verify.api.errors import error_body
from verify.api.metrics import Metrics
from verify.api.registries import ReadRegistry
from verify.errors import RegistryError, TrustDataError
from verify.trust import TrustStore

__all__ = ["operations_router"]

logger = logging.getLogger(__name__)


def operations_router(
    trust_store: Callable[[], TrustStore],
    registry: ReadRegistry | None,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> APIRouter:
    """Return ``/healthz``, ``/readyz`` and ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="The service can verify: trust data loaded and registry reachable",
    )
    async def readyz() -> JSONResponse:
        checks = {"trust_store": _trust_problem(trust_store, clock())}
        if registry is not None:
            checks["registry"] = _registry_problem(registry)
        problems = [f"{name}: {text}" for name, text in checks.items() if text]
        summary = {name: text or "ok" for name, text in checks.items()}
        if registry is None:
            summary["registry"] = "not configured; verifying with the status list"
        if problems:
            body = error_body("not_ready", "; ".join(problems))
            return JSONResponse({**body, "checks": summary}, status_code=503)
        return JSONResponse({"status": "ready", "checks": summary})

    # NOTE: /metrics needs no token, like /healthz. It reveals counts, not data,
    # but the reverse proxy should keep it off the public internet.
    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus_metrics() -> Response:
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    return router


def _trust_problem(trust_store: Callable[[], TrustStore], now: datetime) -> str | None:
    try:
        store = trust_store()
    except TrustDataError as error:
        return str(error)
    if store.key_list is None:
        return "no key list is held; run 'wathiq keys publish' or 'wathiq trust import'"
    if now >= store.key_list.expires_at:
        return f"the key list expired at {store.key_list.expires_at.isoformat()}"
    return None


def _registry_problem(registry: ReadRegistry) -> str | None:
    try:
        registry.ping()
    except (sqlite3.Error, RegistryError) as error:
        logger.error("registry check failed: %s", error)
        return f"the registry does not answer: {error}"
    return None
