"""The ASGI middleware around every request: ids, limits, headers, logs and metrics.

It is plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task and
a stream per request. For each HTTP request it:

1. takes the caller's ``X-Request-ID`` when it is a short token, else makes one,
   and makes it the log context and a response header;
2. rejects a body over the route's limit with 413, by its Content-Length before
   reading, and while streaming when there is none;
3. adds the security headers below unless the route set its own value;
4. writes one access log line with the route template, never the raw path
   (``/v/{payload}`` paths contain QR payloads), and counts the request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verify.api.errors import error_body
from verify.api.logs import REQUEST_ID
from verify.api.metrics import Metrics

__all__ = ["SECURITY_HEADERS", "ServiceMiddleware"]

logger = logging.getLogger("verify.api.access")

# Everything the pages use is served by the app itself: no inline script, no
# external script, style or font. Camera frames are drawn on a canvas and posted
# with fetch, hence blob: images and connect-src 'self'.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # Result URLs contain the QR payload, which must not leak to other sites.
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestTooLarge(HTTPException):
    """The request body passed its limit while streaming."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is over the limit of {limit:,} bytes; send a smaller"
            " file",
        )


class ServiceMiddleware:
    """Request ids, body limits, security headers, access logs and HTTP metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        body_limit: Callable[[str], int],
        hsts: bool,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.body_limit = body_limit
        self.headers = dict(SECURITY_HEADERS)
        if hsts:
            self.headers["strict-transport-security"] = HSTS
        # Encoded once: building headers per response was a measurable share of a
        # QR text verification.
        self._raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        context = REQUEST_ID.set(request_id)
        status = 500
        try:
            limit = self.body_limit(scope["path"])
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                status = 413
                await _send_too_large(send, limit, request_id, self.headers)
                return

            async def send_with_headers(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = self._with_headers(
                        message.get("headers", []), request_id
                    )
                await send(message)

            await self.app(scope, _limited(receive, limit), send_with_headers)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            REQUEST_ID.reset(context)

    def _with_headers(
        self, headers: Iterable[tuple[bytes, bytes]], request_id: str
    ) -> list[tuple[bytes, bytes]]:
        headers = list(headers)
        present = {name.lower() for name, _ in headers}
        headers += [item for item in self._raw_headers if item[0] not in present]
        headers.append((b"x-request-id", request_id.encode("latin-1")))
        return headers

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.observe_request(method, route, status, seconds)
        milliseconds = round(seconds * 1000, 2)
        logger.info(
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            milliseconds,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": milliseconds,
            },
        )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return text
            break
    return os.urandom(16).hex()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RequestTooLarge(limit)
        return message

    return receive_limited


async def _send_too_large(
    send: Send, limit: int, request_id: str, security: dict[str, str]
) -> None:
    body = json.dumps(
        error_body(
            "input_too_large",
            f"the request body is over the limit of {limit:,} bytes; send a smaller"
            " file",
        )
    ).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"connection", b"close"),
    ]
    headers += [(name.encode(), value.encode()) for name, value in security.items()]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
