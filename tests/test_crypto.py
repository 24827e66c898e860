from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.crypto import (
    GROUP_ORDER,
    WeakKeyError,
    check_public_key,
    kid_for,
    verify_signature,
)
from verify.signing.keys import SigningKey

# RFC 8032, section 7.1, tests 1 to 3: secret key, public key, message, signature.
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
        "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da08"
        "5ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18"
        "ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

# Encodings of points of small order (orders 1, 2, 4 and 8) and their sign variants.
SMALL_ORDER_POINTS = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
]


@pytest.mark.parametrize("secret, public, message, signature", RFC8032_VECTORS)
def test_rfc8032_vectors(secret: str, public: str, message: str, signature: str):
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    key = SigningKey(private)
    assert key.public_key.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    assert verify_signature(
        bytes.fromhex(public), bytes.fromhex(signature), bytes.fromhex(message)
    )


@pytest.mark.parametrize("secret, public, message, signature", RFC8032_VECTORS)
def test_non_canonical_s_rejected(
    secret: str, public: str, message: str, signature: str
):
    raw = bytes.fromhex(signature)
    s = int.from_bytes(raw[32:], "little") + GROUP_ORDER
    malleated = raw[:32] + s.to_bytes(32, "little")
    assert not verify_signature(
        bytes.fromhex(public), malleated, bytes.fromhex(message)
    )


def test_wrong_message_rejected():
    _, public, _, signature = RFC8032_VECTORS[1]
    assert not verify_signature(bytes.fromhex(public), bytes.fromhex(signature), b"s")


@pytest.mark.parametrize("point", SMALL_ORDER_POINTS)
def test_small_order_public_keys_rejected(point: str):
    with pytest.raises(WeakKeyError):
        check_public_key(bytes.fromhex(point))


def test_small_order_key_never_verifies():
    # With the identity as public key, R = identity and S = 0 verify under a lax
    # verifier for any message.
    identity = bytes.fromhex(SMALL_ORDER_POINTS[0])
    signature = identity + bytes(32)
    assert not verify_signature(identity, signature, b"any message")


def test_short_key_and_signature_rejected():
    _, public, _, signature = RFC8032_VECTORS[0]
    with pytest.raises(WeakKeyError, match="32 bytes"):
        check_public_key(bytes(31))
    assert not verify_signature(
        bytes.fromhex(public), bytes.fromhex(signature)[:63], b""
    )


def test_kid_rule():
    public = bytes.fromhex(RFC8032_VECTORS[0][1])
    import hashlib

    assert kid_for(public) == hashlib.sha256(public).digest()[:8]
    assert len(kid_for(public)) == 8
