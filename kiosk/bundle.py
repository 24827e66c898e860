"""The kiosk's trust bundle: a pinned root key, a key list and a status list.

Invariants:

- New lists are checked by `TrustStore` in a staging copy of the current bundle:
  signed by the pinned root (or the status key it lists), not older than the held
  version (rollback), not expired (freeze). Only when every list passes does the
  ``trust`` link move to the new bundle, in one `os.replace`, so a reader sees the
  old bundle or the new one and any failure keeps the last good bundle. The
  previous bundle stays on disk beside the current one; older ones are deleted.
- The root is pinned only on first use, only from a root key whose kid the operator
  gives, and only together with a key list that this root signed. Later a new root
  is accepted only through a key list signed by the old root and the new one.
- Lists are not accepted while this device's clock is earlier than trust data it
  has already accepted, because a clock set back would let an expired list pass.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.settings import KioskHome
from verify.crypto import WeakKeyError, kid_for, public_key_from_jwk
from verify.errors import TrustDataError
from verify.trust import TrustStore
from verify.verifier import Policy

__all__ = ["BundleFiles", "ImportResult", "TrustBundle"]

logger = logging.getLogger(__name__)

_STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class BundleFiles:
    """The raw files of a bundle offered for import, not yet checked."""

    keys: bytes | None
    status: bytes | None
    root: bytes | None = None
    """``root.json`` of ``wathiq keys publish``: ``{"kid": ..., "jwk": {...}}``."""


@dataclass(frozen=True)
class ImportResult:
    changed: bool
    """False when the offered lists were the ones already held."""
    key_list_version: int
    status_list_version: int
    root_kid: str


class TrustBundle:
    """The trust bundle under a kiosk's data directory, shared by threads."""

    def __init__(self, kiosk_home: KioskHome) -> None:
        self.home = kiosk_home
        self._lock = threading.Lock()
        self._loaded_target: str | None = None
        self._store: TrustStore | None = None

    # Reading.

    def current(self) -> TrustStore | None:
        """Return the current trust store, reloading it when another process
        replaced the bundle; None when no bundle was ever imported."""
        with self._lock:
            target = self._target()
            if target is None:
                self._loaded_target, self._store = None, None
                return None
            if target != self._loaded_target:
                # Load through the resolved path, so a switch during the load
                # cannot mix files of two bundles.
                self._store = TrustStore.load(self.home.root / target)
                self._loaded_target = target
                logger.info("loaded trust bundle %s", Path(target).name)
            return self._store

    def _target(self) -> str | None:
        try:
            return os.readlink(self.home.trust_link)
        except FileNotFoundError:
            return None

    # Updating.

    def apply(
        self,
        files: BundleFiles,
        now: datetime,
        *,
        pin_root: str | None = None,
        policy: Policy | None = None,
    ) -> ImportResult:
        """Check `files` and make them the current bundle, or raise TrustDataError.

        `pin_root` is the root kid the operator expects, in hex. It is required when
        no root is pinned yet, and must then match the bundle's root key.
        """
        if files.keys is None and files.status is None:
            raise TrustDataError("the bundle has neither keys.json nor status.json")
        with self._lock, _process_lock(self.home.root / ".bundle.lock"):
            held = self._held_store()
            _check_clock(held, now, policy or Policy())
            staging = self._new_staging_dir()
            try:
                store = self._stage(staging, held, files, pin_root, now)
                changed = held is None or _differs(held, store)
                if changed:
                    self._switch_to(staging, store)
                else:
                    shutil.rmtree(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._loaded_target = None
        assert store.key_list is not None and store.status_list is not None
        return ImportResult(
            changed=changed,
            key_list_version=store.key_list.version,
            status_list_version=store.status_list.version,
            root_kid=kid_for(store.root_public_key).hex(),
        )

    def _held_store(self) -> TrustStore | None:
        target = self._target()
        return None if target is None else TrustStore.load(self.home.root / target)

    def _new_staging_dir(self) -> Path:
        self.home.bundles_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.home.bundles_dir.glob(_STAGING_PREFIX + "*"):
            # Left by an import that was killed; never referenced by the link.
            shutil.rmtree(leftover, ignore_errors=True)
        staging = self.home.bundles_dir / f"{_STAGING_PREFIX}{secrets.token_hex(4)}"
        staging.mkdir()
        return staging

    def _stage(
        self,
        staging: Path,
        held: TrustStore | None,
        files: BundleFiles,
        pin_root: str | None,
        now: datetime,
    ) -> TrustStore:
        if held is None:
            store = TrustStore.pin(staging, _root_to_pin(files, pin_root))
        else:
            _check_pin_unchanged(held, pin_root)
            for name in ("root.json", "keys.json", "status.json", "state.json"):
                source = held.directory / name
                if source.exists():
                    shutil.copy2(source, staging / name)
            store = TrustStore.load(staging)
        if files.keys is not None:
            store.accept_key_list(files.keys, now)
        if files.status is not None:
            store.accept_status_list(files.status, now)
        if store.key_list is None or store.status_list is None:
            raise TrustDataError("a first bundle needs both keys.json and status.json")
        return store

    def _switch_to(self, staging: Path, store: TrustStore) -> None:
        assert store.key_list is not None and store.status_list is not None
        name = (
            f"keys-{store.key_list.version}-status-{store.status_list.version}"
            f"-{secrets.token_hex(4)}"
        )
        final = self.home.bundles_dir / name
        os.rename(staging, final)
        previous = self._target()
        link = self.home.root / f".trust-{secrets.token_hex(4)}"
        os.symlink(Path(final.parent.name) / final.name, link)
        os.replace(link, self.home.trust_link)
        _fsync_directory(self.home.root)
        logger.info("switched to trust bundle %s", final.name)
        keep = {final.name} | ({Path(previous).name} if previous else set())
        for path in self.home.bundles_dir.iterdir():
            # The previous bundle stays, for an operator who must inspect it.
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)


def _check_clock(held: TrustStore | None, now: datetime, policy: Policy) -> None:
    newest = held.newest_issued_at if held else None
    if newest is not None and now + policy.clock_skew < newest:
        raise TrustDataError(
            f"this device's clock ({now:%Y-%m-%d %H:%M} UTC) is earlier than trust data"
            f" already accepted ({newest:%Y-%m-%d %H:%M} UTC); correct the clock"
            " before importing"
        )


def _root_to_pin(files: BundleFiles, pin_root: str | None) -> dict[str, str]:
    if not pin_root:
        raise TrustDataError(
            "no root key is pinned on this kiosk yet; pass --pin-root KID with the"
            " 16-hex-digit root key id printed by 'wathiq keys init'"
        )
    expected = pin_root.strip().lower()
    jwk = _root_jwk(files)
    try:
        actual = kid_for(public_key_from_jwk(jwk)).hex()
    except (WeakKeyError, ValueError) as error:
        raise TrustDataError(f"the bundle's root key is invalid: {error}") from None
    if actual != expected:
        raise TrustDataError(
            f"the bundle's root key has kid {actual}, not {expected}; do not use this"
            " bundle, and check where it came from"
        )
    return jwk


def _root_jwk(files: BundleFiles) -> dict[str, str]:
    """Return the root JWK from root.json, else from the key list's root entry.

    Neither source is trusted: the caller checks the kid the operator gave, and the
    key list must then verify under this key.
    """
    try:
        if files.root is not None:
            jwk = json.loads(files.root)["jwk"]
        elif files.keys is not None:
            jwk = json.loads(files.keys)["signed"]["root"]["jwk"]
        else:
            raise TrustDataError("the bundle has no root.json and no keys.json")
    except (ValueError, KeyError, TypeError):
        raise TrustDataError("the bundle's root key cannot be read") from None
    if not isinstance(jwk, dict):
        raise TrustDataError("the bundle's root key is not a JWK object")
    return jwk


def _check_pin_unchanged(held: TrustStore, pin_root: str | None) -> None:
    pinned = kid_for(held.root_public_key).hex()
    if pin_root and pin_root.strip().lower() != pinned:
        raise TrustDataError(
            f"this kiosk already pins root key {pinned}; a new root is accepted only"
            " through a key list signed by the old root and the new one"
        )


def _differs(held: TrustStore, new: TrustStore) -> bool:
    assert new.key_list is not None and new.status_list is not None
    if held.key_list is None or held.status_list is None:
        return True
    return (held.key_list.raw, held.status_list.raw) != (
        new.key_list.raw,
        new.status_list.raw,
    )


@contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock file, so a CLI import and the server's sync never
    stage at the same time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
