"""The verifier's trust store, reloaded when its files change on disk.

``wathiq keys publish``, ``wathiq revoke``, ``wathiq trust import`` and the staff
endpoints of any worker replace the files of the trust directory atomically. At
most once per `check_interval` seconds, the cache compares the inode, size and
modification time of each file, and reloads the store only when one changed. A
failed reload is logged and keeps the last good store. `TrustStoreCache.get`
raises TrustDataError only while no store has ever loaded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from verify.errors import TrustDataError
from verify.trust import TrustStore

__all__ = ["TrustStoreCache"]

logger = logging.getLogger(__name__)

_FILES = ("root.json", "keys.json", "status.json", "state.json")

_Signature = tuple[tuple[int, int, int] | None, ...]


class TrustStoreCache:
    """A `TrustStore` for `directory`, kept in step with the files on disk."""

    def __init__(
        self,
        directory: Path,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.check_interval = check_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._store: TrustStore | None = None
        self._error: TrustDataError | None = None
        self._signature: _Signature | None = None
        self._checked_at = float("-inf")

    def get(self) -> TrustStore:
        """Return the current store; raise TrustDataError if none ever loaded."""
        now = self._clock()
        if now - self._checked_at >= self.check_interval:
            with self._lock:
                if now - self._checked_at >= self.check_interval:
                    self._checked_at = now
                    self._refresh()
        if self._store is None:
            assert self._error is not None
            raise self._error
        return self._store

    def _refresh(self) -> None:
        signature = self._file_signature()
        if signature == self._signature and (self._store or self._error):
            return
        try:
            store = TrustStore.load(self.directory)
        except (TrustDataError, OSError, ValueError, KeyError) as error:
            message = f"cannot load the trust store in {self.directory}: {error}"
            self._error = TrustDataError(message)
            if self._store is None:
                logger.error("%s", message)
            else:
                logger.error("%s; keeping the last good trust store", message)
            self._signature = signature
            return
        if self._store is not None:
            logger.info("trust store reloaded from %s", self.directory)
        self._store, self._error, self._signature = store, None, signature

    def _file_signature(self) -> _Signature:
        parts: list[tuple[int, int, int] | None] = []
        for name in _FILES:
            try:
                info = os.stat(self.directory / name)
            except FileNotFoundError:
                parts.append(None)
                continue
            parts.append((info.st_ino, info.st_size, info.st_mtime_ns))
        return tuple(parts)
