"""The published key list and status list under ``/.well-known/wathiq/``.

Kiosks and other verifiers sync these files, and caches may serve them: both are
signed, so a cache cannot alter them unnoticed. Each response carries a strong
ETag (from the SHA-256 of the bytes) and Cache-Control, and a request with a
matching If-None-Match gets 304.
The files are read from ``Home.public_dir`` again only when their inode, size or
modification time changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from verify.api.errors import ApiError

__all__ = ["wellknown_router"]

# Seconds a cache may serve a file without asking again. A revocation reaches
# offline verifiers through the status list, so its lifetime is shorter.
KEYS_MAX_AGE = 300
STATUS_MAX_AGE = 60


@dataclass(frozen=True)
class _Snapshot:
    signature: tuple[int, int, int]
    data: bytes
    etag: str


class _PublishedFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def read(self) -> _Snapshot:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise ApiError(
                404,
                "not_published",
                f"{self.path.name} is not published yet; run 'wathiq keys publish'",
            ) from None
        signature = (info.st_ino, info.st_size, info.st_mtime_ns)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.signature == signature:
            return snapshot
        with self._lock:
            data = self.path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            self._snapshot = _Snapshot(signature, data, etag)
            return self._snapshot


def _answer(request: Request, published: _PublishedFile, max_age: int) -> Response:
    snapshot = published.read()
    headers = {
        "ETag": snapshot.etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if_none_match = request.headers.get("if-none-match", "")
    tags = {tag.strip() for tag in if_none_match.split(",")}
    if snapshot.etag in tags or if_none_match == "*":
        return Response(status_code=304, headers=headers)
    return Response(snapshot.data, media_type="application/json", headers=headers)


def wellknown_router(public_dir: Path) -> APIRouter:
    """Return the router that serves keys.json and status.json from `public_dir`."""
    router = APIRouter(tags=["trust data"])
    keys = _PublishedFile(public_dir / "keys.json")
    status = _PublishedFile(public_dir / "status.json")

    @router.get(
        "/.well-known/wathiq/keys.json",
        summary="The signed key list",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}, 304: {}},
    )
    async def key_list(request: Request) -> Response:
        return _answer(request, keys, KEYS_MAX_AGE)

    @router.get(
        "/.well-known/wathiq/status.json",
        summary="The signed status list",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}, 304: {}},
    )
    async def status_list(request: Request) -> Response:
        return _answer(request, status, STATUS_MAX_AGE)

    return router
