"""Fetch newer trust lists from the wathiq API and apply them to the bundle.

The API serves the published lists at ``/.well-known/wathiq/keys.json`` and
``/.well-known/wathiq/status.json``. They are signed, so the transport only has to
deliver bytes: `TrustBundle.apply` decides whether to accept them. Any failure
(network, HTTP status, size, signature, rollback, expiry) keeps the current bundle.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from kiosk.bundle import BundleFiles, ImportResult, TrustBundle
from verify.errors import TrustDataError
from verify.trust import MAX_LIST_BYTES
from verify.verifier import Policy

__all__ = ["SyncClient", "SyncError", "SyncStatus"]

logger = logging.getLogger(__name__)

LIST_PATHS = {
    "keys": "/.well-known/wathiq/keys.json",
    "status": "/.well-known/wathiq/status.json",
}
# Seconds to wait for the API; a kiosk on a slow link retries at the next interval.
TIMEOUT_SECONDS = 15.0


class SyncError(TrustDataError):
    """The API could not be reached, or sent something other than a list."""


@dataclass
class SyncStatus:
    """Outcome of the last sync attempt, shown by the kiosk's status endpoint."""

    attempted_at: datetime | None = None
    succeeded_at: datetime | None = None
    error: str | None = None


@dataclass
class SyncClient:
    """Fetches lists from one API, remembering ETags between calls."""

    api_url: str
    bundle: TrustBundle
    policy: Policy
    status: SyncStatus = field(default_factory=SyncStatus)
    _etags: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sync(self, now: datetime | None = None) -> ImportResult | None:
        """Fetch and apply newer lists; return None when the API has nothing new.

        Raises SyncError or TrustDataError and keeps the current bundle on failure.
        """
        with self._lock:
            now = now or datetime.now(UTC)
            self.status.attempted_at = now
            try:
                result = self._sync(now)
            except TrustDataError as error:
                self.status.error = str(error)
                logger.warning(
                    "trust data sync from %s failed: %s", self.api_url, error
                )
                raise
            self.status.succeeded_at, self.status.error = now, None
            return result

    def _sync(self, now: datetime) -> ImportResult | None:
        fetched: dict[str, tuple[bytes, str | None]] = {}
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            for name, path in LIST_PATHS.items():
                response = self._fetch(client, name, path)
                if response is not None:
                    fetched[name] = response
        if not fetched:
            logger.info("trust data from %s is unchanged", self.api_url)
            return None
        files = BundleFiles(
            keys=fetched["keys"][0] if "keys" in fetched else None,
            status=fetched["status"][0] if "status" in fetched else None,
        )
        result = self.bundle.apply(files, now, policy=self.policy)
        # ETags are remembered only once the lists were accepted, so a rejected
        # list is fetched and checked again next time.
        for name, (_, etag) in fetched.items():
            if etag:
                self._etags[name] = etag
        logger.info(
            "synced trust data: key list version %d, status list version %d%s",
            result.key_list_version,
            result.status_list_version,
            "" if result.changed else " (unchanged)",
        )
        return result

    def _fetch(
        self, client: httpx.Client, name: str, path: str
    ) -> tuple[bytes, str | None] | None:
        url = self.api_url + path
        headers = {"Accept": "application/json"}
        if name in self._etags:
            headers["If-None-Match"] = self._etags[name]
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code == httpx.codes.NOT_MODIFIED:
                    return None
                if response.status_code != httpx.codes.OK:
                    raise SyncError(f"GET {url} returned HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_LIST_BYTES:
                        raise SyncError(f"GET {url} sent over {MAX_LIST_BYTES} bytes")
                return bytes(body), response.headers.get("ETag")
        except httpx.HTTPError as error:
            raise SyncError(f"GET {url} failed: {error}") from None


def run_periodically(
    client: SyncClient, interval: float, stop: threading.Event
) -> None:
    """Sync at once and then every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        # SyncClient.sync logs a failure, and the last good bundle stays.
        with contextlib.suppress(TrustDataError):
            client.sync()
        stop.wait(interval)
