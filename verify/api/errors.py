"""HTTP errors of the service, and the one table that maps domain errors to HTTP.

Every error response has the body ``{"error": {"code": "...", "message": "..."}}``,
whatever raised it: a domain error (`WathiqError`), an `ApiError` raised by this
package, Starlette's HTTPException (unknown route, wrong method), a request that
fails validation, or an unexpected exception (500, logged with its traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from verify.errors import (
    CorruptInput,
    DocumentInputError,
    DocumentNotFound,
    InputError,
    InputTooLarge,
    KeyStoreError,
    MalformedPayload,
    NotWathiqCode,
    PayloadError,
    RegistryError,
    TooManyPixels,
    TrustDataError,
    UnknownFormat,
    UnsupportedFormat,
    UnsupportedInput,
    WathiqError,
)

__all__ = [
    "ApiError",
    "error_body",
    "install_error_handlers",
    "status_for",
]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error response decided by the HTTP layer itself (auth, rate limit, busy)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers or {}


# The most specific class comes first: the first isinstance match decides.
_DOMAIN_ERRORS: tuple[tuple[type[WathiqError], int, str], ...] = (
    (TooManyPixels, 422, "too_many_pixels"),
    (InputTooLarge, 413, "input_too_large"),
    (UnknownFormat, 415, "unsupported_media_type"),
    (CorruptInput, 422, "corrupt_input"),
    # A format we identified (the check comes first) but could not decode.
    (UnsupportedInput, 422, "corrupt_input"),
    (InputError, 422, "unreadable_input"),
    (NotWathiqCode, 422, "not_a_wathiq_code"),
    (UnsupportedFormat, 422, "unsupported_payload_version"),
    (MalformedPayload, 422, "malformed_payload"),
    (PayloadError, 422, "invalid_payload"),
    (DocumentInputError, 422, "invalid_document"),
    (DocumentNotFound, 404, "document_not_found"),
    (RegistryError, 409, "registry_conflict"),
    (KeyStoreError, 503, "signing_unavailable"),
    (TrustDataError, 503, "trust_data_unavailable"),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "input_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def status_for(error: WathiqError) -> tuple[int, str]:
    """Return the HTTP status and error code for a domain error."""
    for kind, status, code in _DOMAIN_ERRORS:
        if isinstance(error, kind):
            return status, code
    return 500, "internal_error"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


async def _on_api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return _response(error.status_code, error.code, error.message, error.headers)


async def _on_domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, WathiqError)
    status, code = status_for(error)
    if status >= 500:
        logger.error("%s on %s: %s", type(error).__name__, _route(request), error)
    return _response(status, code, str(error))


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    message = error.detail if isinstance(error.detail, str) else code
    if error.status_code == 404 and message == "Not Found":
        message = "no such page or endpoint; check the address"
    elif error.status_code == 405:
        message = f"method {request.method} is not allowed here"
    headers = dict(error.headers) if error.headers else None
    return _response(error.status_code, code, message, headers)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    message = "invalid request: " + "; ".join(problems)
    return _response(422, "invalid_request", message)


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s", _route(request))
    return _response(
        500,
        "internal_error",
        "the service failed unexpectedly; try again, and report the X-Request-ID"
        " header if it persists",
    )


async def _on_client_disconnect(request: Request, error: Exception) -> JSONResponse:
    # The client went away before sending its whole body. This is not a service
    # fault, and no client is left to read the response.
    logger.info("client disconnected during %s", _route(request))
    return _response(400, "client_disconnected", "the request body was not completed")


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "an unknown route")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error response of `app` use the shared JSON error body."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(WathiqError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ClientDisconnect, _on_client_disconnect)
    app.add_exception_handler(Exception, _on_unexpected)
