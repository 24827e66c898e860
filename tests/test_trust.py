from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.simulator import T0, SimKey, SimulatedIssuer, new_key
from verify.crypto import b64url_encode
from verify.errors import TrustDataError
from verify.signing.publish import sign_envelope
from verify.trust import TrustStore


def test_rolled_back_key_list_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    old = issuer.key_list(T0)
    newer = issuer.key_list(T0 + timedelta(hours=1))
    store.accept_key_list(newer, T0 + timedelta(hours=1))
    with pytest.raises(TrustDataError, match="rollback"):
        store.accept_key_list(old, T0 + timedelta(hours=2))
    assert store.key_list is not None
    assert store.key_list.version == 2
    reloaded = TrustStore.load(tmp_path)
    assert reloaded.key_list is not None
    assert reloaded.key_list.version == 2


def test_expired_key_list_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    store.accept_key_list(issuer.key_list(T0), T0)
    stale = issuer.key_list(T0 + timedelta(hours=1), lifetime=timedelta(days=1))
    with pytest.raises(TrustDataError, match="expired"):
        store.accept_key_list(stale, T0 + timedelta(days=2))
    assert store.key_list is not None
    assert store.key_list.version == 1


def test_wrongly_signed_key_list_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    forged = issuer.key_list(T0, root=new_key())
    with pytest.raises(TrustDataError, match="not signed by the trusted root"):
        store.accept_key_list(forged, T0)
    assert store.key_list is None
    assert not (tmp_path / "keys.json").exists()


def test_edited_key_list_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    envelope = json.loads(issuer.key_list(T0))
    envelope["signed"]["keys"][0]["status"] = "active"
    envelope["signed"]["expires_at"] = (T0 + timedelta(days=999)).isoformat()
    with pytest.raises(TrustDataError, match="not signed"):
        store.accept_key_list(json.dumps(envelope).encode(), T0)


def test_same_version_different_content(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    store.accept_key_list(issuer.key_list(T0, version=5), T0)
    issuer.keys.append(SimKey(new_key()))
    with pytest.raises(TrustDataError, match="differs"):
        store.accept_key_list(issuer.key_list(T0, version=5), T0)
    same = (tmp_path / "keys.json").read_bytes()
    store.accept_key_list(same, T0)


def test_root_rotation_needs_both_roots(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    store.accept_key_list(issuer.key_list(T0), T0)
    new_root = new_key()
    only_new = issuer.key_list(T0 + timedelta(hours=1), root=new_root)
    with pytest.raises(TrustDataError):
        store.accept_key_list(only_new, T0 + timedelta(hours=1))
    both = issuer.key_list(
        T0 + timedelta(hours=2), root=new_root, previous_roots=(issuer.root,)
    )
    store.accept_key_list(both, T0 + timedelta(hours=2))
    assert store.root_public_key == new_root.public_key
    # From now on the old root alone is no longer enough.
    old_only = issuer.key_list(T0 + timedelta(hours=3))
    with pytest.raises(TrustDataError):
        store.accept_key_list(old_only, T0 + timedelta(hours=3))
    reloaded = TrustStore.load(tmp_path)
    assert reloaded.root_public_key == new_root.public_key


def test_old_root_cannot_introduce_new_root(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    new_root = new_key()
    signed = json.loads(issuer.key_list(T0, root=new_root))["signed"]
    raw = sign_envelope(signed, [issuer.root])
    with pytest.raises(TrustDataError, match="new root"):
        store.accept_key_list(raw, T0)


def test_small_order_key_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    signed = json.loads(issuer.key_list(T0))["signed"]
    identity = bytes([1]) + bytes(31)
    signed["keys"][0]["jwk"]["x"] = b64url_encode(identity)
    raw = sign_envelope(signed, [issuer.root])
    with pytest.raises(TrustDataError, match="invalid public key"):
        store.accept_key_list(raw, T0)


def test_non_canonical_key_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    signed = json.loads(issuer.key_list(T0))["signed"]
    # y = p + 1, a non-canonical encoding of y = 1.
    non_canonical = (2**255 - 19 + 1).to_bytes(32, "little")
    signed["keys"][0]["jwk"]["x"] = b64url_encode(non_canonical)
    raw = sign_envelope(signed, [issuer.root])
    with pytest.raises(TrustDataError, match="invalid public key"):
        store.accept_key_list(raw, T0)


def test_private_jwk_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    signed = json.loads(issuer.key_list(T0))["signed"]
    signed["keys"][0]["jwk"]["d"] = "AAAA"
    raw = sign_envelope(signed, [issuer.root])
    with pytest.raises(TrustDataError, match="private key"):
        store.accept_key_list(raw, T0)


def test_status_list_wrong_signer(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    store.accept_key_list(issuer.key_list(T0), T0)
    forged = issuer.status_list(T0, signer=issuer.issuing.key)
    with pytest.raises(TrustDataError, match="status key"):
        store.accept_status_list(forged, T0)
    assert store.status_list is None


def test_status_list_rollback_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    issuer.revoked[5] = "revoked"
    store.accept_status_list(issuer.status_list(T0 + timedelta(hours=1)), T0)
    with pytest.raises(TrustDataError, match="rollback"):
        store.accept_status_list(issuer.status_list(T0, version=1), T0)
    assert store.status_list is not None
    assert store.status_list.status_at(5) == 1


def test_status_list_entries_and_size(issuer: SimulatedIssuer, tmp_path: Path):
    issuer.revoked = {0: "revoked", 1: "superseded", 2: "set-aside", 131_071: "revoked"}
    store = issuer.store(tmp_path)
    status_list = store.status_list
    assert status_list is not None
    assert status_list.size >= 131_072
    codes = [status_list.status_at(index) for index in (0, 1, 2, 3, 131_071)]
    assert codes == [1, 2, 3, 0, 1]


def test_damaged_json_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    for raw in [b"", b"{", b"[]", b'{"signed": 1, "signatures": []}', b"\xff" * 10]:
        with pytest.raises(TrustDataError):
            store.accept_key_list(raw, T0)


def test_float_in_signed_list_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    raw = issuer.key_list(T0).replace(b'"version":1', b'"version":1.0')
    with pytest.raises(TrustDataError, match="JSON"):
        store.accept_key_list(raw, T0)


def test_missing_root_names_next_step(tmp_path: Path):
    with pytest.raises(TrustDataError, match="keys init"):
        TrustStore.load(tmp_path / "nothing")
