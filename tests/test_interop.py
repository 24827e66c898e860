"""COSE interoperability with pycose, an independent implementation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives import serialization
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from tests.simulator import BASE_URL, T0, SimulatedIssuer
from verify.payload import encode_claims, payload_from_qr_text, qr_text_for
from verify.verdict import Status
from verify.verifier import verify_qr_text

NOW = T0 + timedelta(hours=2)


def _pycose_key(issuer: SimulatedIssuer, private: bool) -> OKPKey:
    signing = issuer.issuing.key
    if not private:
        return OKPKey(crv=Ed25519, x=signing.public_key)
    raw = signing._private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return OKPKey(crv=Ed25519, x=signing.public_key, d=raw)


def _pycose_decode(cose: bytes) -> Sign1Message:
    # pycose 1.1's decode() expects a list and a dict inside the tag, but cbor2 6
    # decodes a tag's content as tuple and frozendict, so convert them here.
    tagged = cbor2.loads(cose)
    assert tagged.tag == 18
    protected, unprotected, payload, signature = tagged.value
    parts = [protected, dict(unprotected), payload, signature]
    return Sign1Message.from_cose_obj(parts, True)


def test_pycose_verifies_our_message(issuer: SimulatedIssuer):
    text = issuer.qr_text(issuer.claims())
    message = _pycose_decode(payload_from_qr_text(text))
    message.key = _pycose_key(issuer, private=False)
    assert message.verify_signature()
    assert message.phdr[KID] == issuer.issuing.key.kid
    assert message.phdr[Algorithm] is EdDSA


def test_pycose_rejects_our_altered_message(issuer: SimulatedIssuer):
    cose = bytearray(issuer.sign(issuer.claims()))
    cose[-70] ^= 0x01  # inside the payload, before the 64-byte signature
    message = _pycose_decode(bytes(cose))
    message.key = _pycose_key(issuer, private=False)
    assert not message.verify_signature()


def test_we_verify_pycose_message(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    claims = issuer.claims()
    message = Sign1Message(
        phdr={Algorithm: EdDSA, KID: issuer.issuing.key.kid},
        payload=encode_claims(claims),
    )
    message.key = _pycose_key(issuer, private=True)
    text = qr_text_for(message.encode(), BASE_URL)
    verdict = verify_qr_text(text, store, now=NOW)
    assert verdict.status is Status.GENUINE
    assert verdict.document_id == claims.document_id_text


def test_we_reject_pycose_message_by_other_key(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    message = Sign1Message(
        phdr={Algorithm: EdDSA, KID: issuer.issuing.key.kid},
        payload=encode_claims(issuer.claims()),
    )
    message.key = OKPKey.generate_key(crv=Ed25519)
    text = qr_text_for(message.encode(), BASE_URL)
    assert verify_qr_text(text, store, now=NOW).status is Status.INVALID_SIGNATURE
