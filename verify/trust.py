"""Signed key lists and status lists, and the trust store that contains them.

Both lists are JSON envelopes ``{"signed": {...}, "signatures": [...]}``; each
signature covers the canonical JSON of ``signed`` (sorted keys, no whitespace, UTF-8,
no floats). Invariants the trust store keeps:

- A key list is accepted only when signed by the pinned root. A list that names a
  new root must carry signatures by the old root and by the new one.
- A list is never accepted when expired (freeze) or when its version is lower than
  the one held (rollback); the same version is accepted only with identical content.
- A status list is signed by an active status key of the accepted key list.
- A rejected list never replaces the last good one; files are replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from verify.crypto import (
    WeakKeyError,
    b64url_decode,
    jwk_from_public_key,
    kid_for,
    public_key_from_jwk,
    verify_signature,
)
from verify.errors import TrustDataError

__all__ = [
    "KEY_LIST_TYPE",
    "STATUS_LIST_TYPE",
    "KeyEntry",
    "KeyList",
    "StatusList",
    "TrustStore",
    "canonical_json",
    "parse_key_list",
    "parse_status_list",
    "parse_time",
]

logger = logging.getLogger(__name__)

KEY_LIST_TYPE = "wathiq/key-list"
STATUS_LIST_TYPE = "wathiq/status-list"
SPEC_VERSION = 1
# Untrusted sizes: a key list of a few hundred keys is under 256 KiB, and a
# compressed status list of 131,072 two-bit entries is at most 32 KiB plus overhead.
MAX_LIST_BYTES = 1024 * 1024
MAX_KEYS = 1000
MAX_STATUS_ENTRIES = 1 << 24
MAX_SIGNATURES = 8

STATUS_VALID, STATUS_REVOKED, STATUS_SUPERSEDED, STATUS_SET_ASIDE = 0, 1, 2, 3
STATUS_NAMES = {
    STATUS_VALID: "valid",
    STATUS_REVOKED: "revoked",
    STATUS_SUPERSEDED: "superseded",
    STATUS_SET_ASIDE: "set-aside",
}


def canonical_json(value: Any) -> bytes:
    """Encode JSON canonically: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def parse_time(value: Any, name: str) -> datetime:
    """Parse an RFC 3339 time with an offset, raising TrustDataError."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise TrustDataError(f"{name} is not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise TrustDataError(f"{name} has no UTC offset: {value!r}")
    return parsed


@dataclass(frozen=True)
class KeyEntry:
    kid: bytes
    public_key: bytes
    use: str
    """"documents" for issuing keys, "status" for the status-list key."""
    court: str
    document_types: frozenset[str]
    valid_from: datetime
    valid_until: datetime | None
    status: str
    """"active", "retired" or "compromised"."""
    compromised_at: datetime | None


@dataclass(frozen=True)
class KeyList:
    version: int
    issued_at: datetime
    expires_at: datetime
    root_public_key: bytes
    keys: dict[bytes, KeyEntry]
    courts: dict[str, Any]
    raw: bytes

    def court_names(self, court: str, circuit: str) -> dict[str, str]:
        """Return the Arabic and English names of a court and circuit code."""
        entry = self.courts.get(court, {})
        circuit_entry = entry.get("circuits", {}).get(circuit, {})
        return {
            "court_ar": entry.get("name_ar", court),
            "court_en": entry.get("name_en", court),
            "circuit_ar": circuit_entry.get("name_ar", circuit),
            "circuit_en": circuit_entry.get("name_en", circuit),
        }


@dataclass(frozen=True)
class StatusList:
    version: int
    issued_at: datetime
    expires_at: datetime
    size: int
    bits: bytes
    raw: bytes

    def status_at(self, index: int) -> int:
        """Return the two-bit status of entry `index` (0 is valid)."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        byte = self.bits[index // 4]
        return (byte >> (6 - 2 * (index % 4))) & 0b11


def _load_envelope(raw: bytes, expected_type: str) -> tuple[dict[str, Any], list[Any]]:
    if len(raw) > MAX_LIST_BYTES:
        raise TrustDataError(f"the list is over {MAX_LIST_BYTES} bytes")
    try:
        envelope = json.loads(raw, parse_float=_reject_float)
    except (ValueError, UnicodeDecodeError) as error:
        raise TrustDataError(f"the list is not valid JSON: {error}") from None
    if not isinstance(envelope, dict):
        raise TrustDataError("the list is not a JSON object")
    signed, signatures = envelope.get("signed"), envelope.get("signatures")
    if not isinstance(signed, dict) or not isinstance(signatures, list):
        raise TrustDataError("the list needs a 'signed' object and a 'signatures' list")
    if signed.get("_type") != expected_type:
        raise TrustDataError(f"expected a {expected_type}, got {signed.get('_type')!r}")
    if signed.get("spec_version") != SPEC_VERSION:
        raise TrustDataError(f"unsupported spec_version {signed.get('spec_version')!r}")
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise TrustDataError("the list has no signatures, or too many")
    version = signed.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TrustDataError("the list's version is not a positive integer")
    return signed, signatures


def _reject_float(text: str) -> float:
    raise ValueError(f"floats are not allowed in signed lists: {text}")


def _signed_by(
    signed: dict[str, Any], signatures: list[Any], public_key: bytes
) -> bool:
    message = canonical_json(signed)
    kid = kid_for(public_key).hex()
    for entry in signatures:
        if not isinstance(entry, dict) or entry.get("kid") != kid:
            continue
        try:
            signature = b64url_decode(entry.get("sig", ""))
        except ValueError:
            continue
        if verify_signature(public_key, signature, message):
            return True
    return False


def _check_window(signed: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    issued = parse_time(signed.get("issued_at"), "issued_at")
    expires = parse_time(signed.get("expires_at"), "expires_at")
    if expires <= issued:
        raise TrustDataError("the list expires before it was issued")
    if now >= expires:
        raise TrustDataError(f"the list expired at {expires.isoformat()}")
    return issued, expires


def parse_key_list(raw: bytes, trusted_root: bytes, now: datetime) -> KeyList:
    """Check a key list's signatures, structure and expiry, and return it."""
    signed, signatures = _load_envelope(raw, KEY_LIST_TYPE)
    root = signed.get("root")
    try:
        list_root = public_key_from_jwk(
            root.get("jwk") if isinstance(root, dict) else None
        )
    except WeakKeyError as error:
        raise TrustDataError(f"the list's root key is invalid: {error}") from None
    if not _signed_by(signed, signatures, trusted_root):
        raise TrustDataError("the key list is not signed by the trusted root key")
    if list_root != trusted_root and not _signed_by(signed, signatures, list_root):
        raise TrustDataError("the key list names a new root key that did not sign it")
    issued, expires = _check_window(signed, now)
    entries = signed.get("keys")
    if not isinstance(entries, list) or not entries or len(entries) > MAX_KEYS:
        raise TrustDataError(f"the key list must have between 1 and {MAX_KEYS} keys")
    keys: dict[bytes, KeyEntry] = {}
    for position, entry in enumerate(entries):
        key = _parse_key_entry(entry, position)
        if key.kid in keys:
            raise TrustDataError(f"key {key.kid.hex()} is listed twice")
        keys[key.kid] = key
    courts = signed.get("courts", {})
    if not isinstance(courts, dict):
        raise TrustDataError("'courts' must be an object")
    return KeyList(signed["version"], issued, expires, list_root, keys, courts, raw)


def _parse_key_entry(entry: Any, position: int) -> KeyEntry:
    where = f"keys[{position}]"
    if not isinstance(entry, dict):
        raise TrustDataError(f"{where} is not an object")
    try:
        public_key = public_key_from_jwk(entry.get("jwk"))
    except WeakKeyError as error:
        raise TrustDataError(f"{where} has an invalid public key: {error}") from None
    kid = kid_for(public_key)
    if entry.get("kid") != kid.hex():
        raise TrustDataError(f"{where}: kid does not match its public key")
    scope = entry.get("scope")
    use, status = entry.get("use"), entry.get("status")
    if use not in ("documents", "status") or not isinstance(scope, dict):
        raise TrustDataError(f"{where} needs a use (documents or status) and a scope")
    if status not in ("active", "retired", "compromised"):
        raise TrustDataError(f"{where} has an unknown status {status!r}")
    types = scope.get("document_types", [])
    court = scope.get("court", "")
    if not isinstance(types, list) or not isinstance(court, str):
        raise TrustDataError(f"{where} has an invalid scope")
    until = entry.get("valid_until")
    compromised = entry.get("compromised_at")
    if (status == "compromised") != (compromised is not None):
        raise TrustDataError(f"{where}: compromised_at goes with status compromised")
    return KeyEntry(
        kid=kid,
        public_key=public_key,
        use=use,
        court=court,
        document_types=frozenset(str(kind) for kind in types),
        valid_from=parse_time(entry.get("valid_from"), f"{where}.valid_from"),
        valid_until=None
        if until is None
        else parse_time(until, f"{where}.valid_until"),
        status=status,
        compromised_at=None
        if compromised is None
        else parse_time(compromised, f"{where}.compromised_at"),
    )


def parse_status_list(raw: bytes, key_list: KeyList, now: datetime) -> StatusList:
    """Check a status list against the status keys of `key_list`, and return it."""
    signed, signatures = _load_envelope(raw, STATUS_LIST_TYPE)
    status_keys = [
        key.public_key
        for key in key_list.keys.values()
        if key.use == "status" and key.status == "active"
    ]
    if not any(_signed_by(signed, signatures, key) for key in status_keys):
        raise TrustDataError("the status list is not signed by an active status key")
    issued, expires = _check_window(signed, now)
    size = signed.get("size")
    if signed.get("bits_per_entry") != 2 or not isinstance(size, int):
        raise TrustDataError("the status list must have 2 bits per entry and a size")
    if not 0 < size <= MAX_STATUS_ENTRIES or size % 4:
        raise TrustDataError(f"the status list size {size} is out of range")
    expected = size // 4
    try:
        compressed = b64url_decode(signed.get("list", ""))
        inflater = zlib.decompressobj()
        bits = inflater.decompress(compressed, expected + 1)
    except (ValueError, zlib.error):
        raise TrustDataError("the status list's bitstring is damaged") from None
    if len(bits) != expected:
        raise TrustDataError(f"the status bitstring should have {expected} bytes")
    return StatusList(signed["version"], issued, expires, size, bits, raw)


class TrustStore:
    """The pinned root key and the last accepted key list and status list.

    Files in `directory`: ``root.json`` (the pinned root's JWK), ``keys.json`` and
    ``status.json`` as last accepted, and ``state.json`` with the newest issue time
    seen, so a clock set back can be detected.
    """

    def __init__(self, directory: Path, root_public_key: bytes) -> None:
        self.directory = directory
        self.root_public_key = root_public_key
        self.key_list: KeyList | None = None
        self.status_list: StatusList | None = None
        self.newest_issued_at: datetime | None = None

    @classmethod
    def pin(cls, directory: Path, root_jwk: dict[str, str]) -> TrustStore:
        """Create a trust store that pins `root_jwk`, replacing any held lists."""
        root = public_key_from_jwk(root_jwk)
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("keys.json", "status.json", "state.json"):
            (directory / name).unlink(missing_ok=True)
        _write_atomic(directory / "root.json", canonical_json(root_jwk))
        return cls(directory, root)

    @classmethod
    def load(cls, directory: Path) -> TrustStore:
        """Load a trust store, re-checking the signatures of the lists it holds.

        Lists are loaded even when expired, so the verifier can report their age.
        """
        try:
            root_jwk = json.loads((directory / "root.json").read_bytes())
            root = public_key_from_jwk(root_jwk)
        except FileNotFoundError:
            raise TrustDataError(
                f"no pinned root key in {directory}; on the issuing machine run"
                " 'wathiq keys init', on a verifier run"
                " 'wathiq trust import DIR --pin-root KID'"
            ) from None
        except (ValueError, TypeError, WeakKeyError) as error:
            raise TrustDataError(f"the pinned root key is invalid: {error}") from None
        store = cls(directory, root)
        state_path = directory / "state.json"
        if state_path.exists():
            newest = _signed_field(state_path.read_bytes(), "newest_issued_at", None)
            store.newest_issued_at = parse_time(newest, f"{state_path}")
        keys_path, status_path = directory / "keys.json", directory / "status.json"
        if keys_path.exists():
            # The held list was checked when accepted; its signatures are checked
            # again at its own issue time, so an expired list still loads and the
            # verifier can report its age.
            raw = keys_path.read_bytes()
            when = parse_time(
                _signed_field(raw, "issued_at", keys_path), f"{keys_path}"
            )
            store.key_list = parse_key_list(raw, store.root_public_key, when)
        if status_path.exists() and store.key_list is not None:
            raw = status_path.read_bytes()
            when = parse_time(
                _signed_field(raw, "issued_at", status_path), f"{status_path}"
            )
            store.status_list = parse_status_list(raw, store.key_list, when)
        return store

    def accept_key_list(self, raw: bytes, now: datetime) -> KeyList:
        """Check and store a key list; raise TrustDataError and keep the old one."""
        trusted_root = self.root_public_key
        if self.key_list is not None:
            trusted_root = self.key_list.root_public_key
        key_list = parse_key_list(raw, trusted_root, now)
        if self.key_list is not None:
            _check_not_rolled_back("key list", key_list, self.key_list)
        if key_list.root_public_key != self.root_public_key:
            new_root = key_list.root_public_key
            logger.warning("root key rotated to %s", kid_for(new_root).hex())
            root_jwk = canonical_json(jwk_from_public_key(new_root))
            _write_atomic(self.directory / "root.json", root_jwk)
            self.root_public_key = new_root
        _write_atomic(self.directory / "keys.json", raw)
        self.key_list = key_list
        self._saw(key_list.issued_at)
        return key_list

    def accept_status_list(self, raw: bytes, now: datetime) -> StatusList:
        """Check and store a status list; raise TrustDataError and keep the old one."""
        if self.key_list is None:
            raise TrustDataError("no key list is held; import a key list first")
        status_list = parse_status_list(raw, self.key_list, now)
        if self.status_list is not None:
            _check_not_rolled_back("status list", status_list, self.status_list)
        _write_atomic(self.directory / "status.json", raw)
        self.status_list = status_list
        self._saw(status_list.issued_at)
        return status_list

    def _saw(self, issued_at: datetime) -> None:
        if self.newest_issued_at is None or issued_at > self.newest_issued_at:
            self.newest_issued_at = issued_at
            state = {"newest_issued_at": issued_at.isoformat()}
            _write_atomic(self.directory / "state.json", canonical_json(state))


def _check_not_rolled_back(
    name: str, new: KeyList | StatusList, held: KeyList | StatusList
) -> None:
    """Raise TrustDataError if `new` is older than `held`, or the same version with
    other content."""
    if new.version < held.version:
        raise TrustDataError(
            f"rollback: {name} version {new.version} is older than the held"
            f" version {held.version}"
        )
    if new.version == held.version and new.raw != held.raw:
        raise TrustDataError(
            f"{name} version {new.version} differs from the held list of the same"
            " version"
        )


def _signed_field(raw: bytes, name: str, path: Path | None) -> Any:
    """Read one field of a held file before its signature is checked.

    With `path` None the file is ``state.json``, a plain object; otherwise it is a
    signed envelope whose ``signed`` object contains the field.
    """
    try:
        document = json.loads(raw)
        if path is not None:
            document = document["signed"]
        return document[name]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        where = path.name if path is not None else "state.json"
        raise TrustDataError(
            f"the held {where} is damaged; import the trust data again"
        ) from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            # Published lists and trust files are public; mkstemp defaults to 0600.
            os.fchmod(stream.fileno(), 0o644)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
