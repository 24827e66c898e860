"""Build and sign the published key list and status list.

These functions are pure: they take keys and entries and return the bytes of the
signed JSON envelope, so tests can mint lists of any version, age or signer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from verify.crypto import b64url_encode, jwk_from_public_key
from verify.signing.keys import SigningKey
from verify.trust import (
    KEY_LIST_TYPE,
    SPEC_VERSION,
    STATUS_LIST_TYPE,
    STATUS_NAMES,
    canonical_json,
)

__all__ = ["build_key_list", "build_status_list", "sign_envelope"]

_STATUS_CODES = {name: code for code, name in STATUS_NAMES.items()}


def sign_envelope(signed: dict[str, Any], signers: Sequence[SigningKey]) -> bytes:
    """Sign the canonical JSON of `signed` with each signer; return the envelope."""
    message = canonical_json(signed)
    signatures = [
        {"kid": signer.kid.hex(), "sig": b64url_encode(signer.sign(message))}
        for signer in signers
    ]
    return canonical_json({"signed": signed, "signatures": signatures}) + b"\n"


def build_key_list(
    *,
    version: int,
    issued_at: datetime,
    expires_at: datetime,
    root: SigningKey,
    keys: Iterable[dict[str, Any]],
    courts: dict[str, Any],
    previous_roots: Sequence[SigningKey] = (),
) -> bytes:
    """Return a key list signed by `root` and by any `previous_roots`.

    Each key is a registry row: kid, jwk, use, court, document_types, valid_from,
    valid_until, status and compromised_at.
    """
    entries = [
        {
            "kid": key["kid"],
            "jwk": key["jwk"],
            "use": key["use"],
            "scope": {"court": key["court"], "document_types": key["document_types"]},
            "valid_from": key["valid_from"],
            "valid_until": key["valid_until"],
            "status": key["status"],
            "compromised_at": key["compromised_at"],
        }
        for key in keys
    ]
    signed = {
        "_type": KEY_LIST_TYPE,
        "spec_version": SPEC_VERSION,
        "version": version,
        "issued_at": issued_at.isoformat(),
        "expires_at": expires_at.isoformat(),
        "root": {"kid": root.kid.hex(), "jwk": jwk_from_public_key(root.public_key)},
        "keys": entries,
        "courts": courts,
    }
    return sign_envelope(signed, [root, *previous_roots])


def build_status_list(
    *,
    version: int,
    issued_at: datetime,
    expires_at: datetime,
    size: int,
    entries: Iterable[tuple[int, str]],
    signer: SigningKey,
) -> bytes:
    """Return a signed status list of `size` two-bit entries.

    `entries` lists (index, status) for documents that are not valid; every other
    entry is valid (0). Entry i takes bits 2i and 2i+1, most significant first.
    """
    bits = bytearray(size // 4)
    for index, status in entries:
        code = _STATUS_CODES[status]
        shift = 6 - 2 * (index % 4)
        bits[index // 4] = (bits[index // 4] & ~(0b11 << shift)) | (code << shift)
    signed = {
        "_type": STATUS_LIST_TYPE,
        "spec_version": SPEC_VERSION,
        "version": version,
        "issued_at": issued_at.isoformat(),
        "expires_at": expires_at.isoformat(),
        "bits_per_entry": 2,
        "size": size,
        "list": b64url_encode(zlib.compress(bytes(bits), 9)),
    }
    return sign_envelope(signed, [signer])
