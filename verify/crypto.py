"""The Ed25519 boundary: key ids, JWKs and strict signature checks.

Every signature wathiq checks goes through `verify_signature`, which rejects what
RFC 8032 allows an implementation to accept by accident: a signature whose S is not
below the group order L, and public keys that are small-order or not canonically
encoded. The key id is a hint for finding the key, never a proof of anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

import nacl.bindings
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "KID_BYTES",
    "WeakKeyError",
    "b64url_decode",
    "b64url_encode",
    "check_public_key",
    "jwk_from_public_key",
    "kid_for",
    "public_key_from_jwk",
    "verify_signature",
]

# Order of the Ed25519 base point (RFC 8032, section 5.1).
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
# Key ids are the first 8 bytes of SHA-256 over the raw 32-byte public key: short
# enough for the QR code, and a collision only makes the verifier try the wrong key.
KID_BYTES = 8


class WeakKeyError(ValueError):
    """A public key is malformed, non-canonical or of small order."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, rejecting any other alphabet."""
    if not isinstance(text, str) or "=" in text:
        raise ValueError("expected unpadded base64url text")
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def kid_for(public_key: bytes) -> bytes:
    """Derive the key id: the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).digest()[:KID_BYTES]


def check_public_key(public_key: bytes) -> None:
    """Raise WeakKeyError unless `public_key` is a canonical point of large order."""
    if len(public_key) != 32:
        raise WeakKeyError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    if not _is_valid_point(public_key):
        raise WeakKeyError("public key is not a canonical Ed25519 point of large order")


@functools.lru_cache(maxsize=1024)
def _is_valid_point(public_key: bytes) -> bool:
    # libsodium rejects non-canonical encodings, points off the curve and points of
    # small order (including the identity) in this one check. Cached because a
    # verifier sees the same few keys again and again.
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(public_key))


@functools.lru_cache(maxsize=1024)
def _public_key_object(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def jwk_from_public_key(public_key: bytes) -> dict[str, str]:
    """Return the OKP JWK of an Ed25519 public key (RFC 8037)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key)}


def public_key_from_jwk(jwk: Any) -> bytes:
    """Return the raw public key of an OKP Ed25519 JWK, checked for weakness."""
    if (
        not isinstance(jwk, dict)
        or jwk.get("kty") != "OKP"
        or jwk.get("crv") != "Ed25519"
    ):
        raise WeakKeyError("expected a JWK with kty OKP and crv Ed25519")
    if "d" in jwk:
        raise WeakKeyError("the JWK contains a private key; publish public keys only")
    try:
        public_key = b64url_decode(jwk["x"])
    except (KeyError, ValueError, TypeError):
        raise WeakKeyError("the JWK's x member is missing or not base64url") from None
    check_public_key(public_key)
    return public_key


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Check an Ed25519 signature strictly; return whether it is valid."""
    if len(signature) != 64:
        return False
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        return False
    try:
        check_public_key(public_key)
    except WeakKeyError:
        return False
    try:
        _public_key_object(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True
