from __future__ import annotations

import base64
import zlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import cbor2
import pytest

from tests.simulator import BASE_URL, T0, SimKey, SimulatedIssuer, new_key
from verify.payload import (
    MAX_PAYLOAD_BYTES,
    payload_from_qr_text,
    qr_text_for,
)
from verify.verdict import Outcome, Status
from verify.verifier import Policy, RegistryRecord, verify_qr_text

NOW = T0 + timedelta(hours=2)


def _text_for_bytes(body: bytes) -> str:
    encoded = base64.b32encode(body).decode().rstrip("=")
    return f"{BASE_URL}/V/WQ1.{encoded}"


@pytest.mark.parametrize("kind", ["judgment_copy", "attendance_proof"])
def test_round_trip_is_genuine(kind: str, issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    claims = issuer.claims(kind)
    verdict = verify_qr_text(issuer.qr_text(claims), store, now=NOW)
    assert verdict.status is Status.GENUINE
    assert verdict.outcome is Outcome.GENUINE
    assert verdict.document_id == claims.document_id_text
    assert verdict.document["case_number"] == "ADM-1447-004471"
    assert verdict.document["court_ar"] == "المحكمة الإدارية بالرياض"
    assert [check.passed for check in verdict.checks] == [True] * len(verdict.checks)
    assert verdict.key_list_version == 1
    assert verdict.key_list_age_seconds == 7200


def test_attendance_shows_masked_id(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(
        issuer.qr_text(issuer.claims("attendance_proof")), store, now=NOW
    )
    assert verdict.document["national_id_last4"] == "4321"
    assert "1087654321" not in str(verdict.to_dict())
    assert verdict.document["capacity"] == "attorney"
    assert verdict.document["session_start"] == "2026-11-18T09:30+03:00"


def test_every_byte_change_is_rejected(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    cose = issuer.sign(issuer.claims())
    statuses = set()
    for position in range(len(cose)):
        for flip in (0x01, 0x80):
            changed = bytearray(cose)
            changed[position] ^= flip
            verdict = verify_qr_text(_text_for_bytes(bytes(changed)), store, now=NOW)
            assert verdict.status is not Status.GENUINE, (position, flip)
            statuses.add(verdict.status)
    assert Status.INVALID_SIGNATURE in statuses
    assert Status.MALFORMED in statuses


def test_uncompressed_payload_verifies(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = _text_for_bytes(issuer.sign(issuer.claims()))
    assert verify_qr_text(text, store, now=NOW).status is Status.GENUINE


def test_unknown_key(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(issuer.qr_text(issuer.claims(), new_key()), store, now=NOW)
    assert verdict.status is Status.UNKNOWN_KEY
    assert verdict.document == {}


def test_status_key_cannot_sign_documents(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims(), issuer.status_key.key)
    assert verify_qr_text(text, store, now=NOW).status is Status.UNKNOWN_KEY


def test_signature_by_wrong_key_same_kid(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    forger = new_key()
    forger.kid = issuer.issuing.key.kid
    verdict = verify_qr_text(issuer.qr_text(issuer.claims(), forger), store, now=NOW)
    assert verdict.status is Status.INVALID_SIGNATURE
    assert verdict.document == {}


def test_document_signed_by_compromised_key_after(
    issuer: SimulatedIssuer, tmp_path: Path
):
    issuer.issuing.status = "compromised"
    issuer.issuing.compromised_at = T0 + timedelta(minutes=30)
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims(issued_at=T0 + timedelta(hours=1)))
    assert verify_qr_text(text, store, now=NOW).status is Status.KEY_NOT_TRUSTED


def test_document_signed_by_compromised_key_before(
    issuer: SimulatedIssuer, tmp_path: Path
):
    issuer.issuing.status = "compromised"
    issuer.issuing.compromised_at = T0 + timedelta(hours=1)
    store = issuer.store(tmp_path)
    claims = issuer.claims(issued_at=T0 + timedelta(minutes=10))
    text = issuer.qr_text(claims)
    offline = verify_qr_text(text, store, now=NOW)
    assert offline.status is Status.INDETERMINATE
    assert "online" in (offline.reason or "")

    class Registry:
        def lookup(self, document_id: bytes) -> RegistryRecord | None:
            assert document_id == claims.document_id
            return RegistryRecord("valid", claims.digest, issuer.issuing.key.kid)

    online = verify_qr_text(text, store, now=NOW, registry=Registry())
    assert online.status is Status.GENUINE


def test_retired_key_keeps_older_documents(issuer: SimulatedIssuer, tmp_path: Path):
    retired_at = T0 + timedelta(hours=1)
    issuer.issuing.status = "retired"
    issuer.issuing.valid_until = retired_at
    store = issuer.store(tmp_path)
    before = issuer.qr_text(issuer.claims(issued_at=retired_at - timedelta(minutes=5)))
    after = issuer.qr_text(issuer.claims(issued_at=retired_at + timedelta(minutes=5)))
    assert verify_qr_text(before, store, now=NOW).status is Status.GENUINE
    assert verify_qr_text(after, store, now=NOW).status is Status.KEY_NOT_TRUSTED


def test_document_signed_before_key_valid(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims(issued_at=T0 - timedelta(days=1)))
    assert verify_qr_text(text, store, now=NOW).status is Status.KEY_NOT_TRUSTED


def test_key_out_of_scope_type(issuer: SimulatedIssuer, tmp_path: Path):
    issuer.issuing.types = ["attendance_proof"]
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(issuer.qr_text(issuer.claims()), store, now=NOW)
    assert verdict.status is Status.KEY_NOT_TRUSTED
    assert "judgment_copy" in (verdict.reason or "")


def test_key_out_of_scope_court(issuer: SimulatedIssuer, tmp_path: Path):
    jeddah = SimKey(new_key(), court="JED-ADM")
    issuer.keys.append(jeddah)
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims(), jeddah.key)
    assert verify_qr_text(text, store, now=NOW).status is Status.KEY_NOT_TRUSTED


@pytest.mark.parametrize("reason", ["revoked", "superseded", "set-aside"])
def test_revoked_by_status_list(reason: str, issuer: SimulatedIssuer, tmp_path: Path):
    issuer.revoked[1234] = reason
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims(status_index=1234))
    verdict = verify_qr_text(text, store, now=NOW)
    assert verdict.status is Status.REVOKED
    assert verdict.reason == reason
    neighbour = issuer.qr_text(issuer.claims(status_index=1235))
    assert verify_qr_text(neighbour, store, now=NOW).status is Status.GENUINE


def test_superseded_in_registry_names_successor(
    issuer: SimulatedIssuer, tmp_path: Path
):
    store = issuer.store(tmp_path)
    claims = issuer.claims()

    class Registry:
        def lookup(self, document_id: bytes) -> RegistryRecord | None:
            return RegistryRecord(
                "superseded", claims.digest, issuer.issuing.key.kid, "NEWDOCUMENTID"
            )

    verdict = verify_qr_text(
        issuer.qr_text(claims), store, now=NOW, registry=Registry()
    )
    assert verdict.status is Status.REVOKED
    assert verdict.reason == "superseded"
    assert verdict.successor_id == "NEWDOCUMENTID"


def test_registry_without_record_is_indeterminate(
    issuer: SimulatedIssuer, tmp_path: Path
):
    store = issuer.store(tmp_path)

    class Registry:
        def lookup(self, document_id: bytes) -> RegistryRecord | None:
            return None

    text = issuer.qr_text(issuer.claims())
    verdict = verify_qr_text(text, store, now=NOW, registry=Registry())
    assert verdict.status is Status.INDETERMINATE


def test_expired_attendance_proof(issuer: SimulatedIssuer, tmp_path: Path):
    claims = issuer.claims("attendance_proof")
    assert claims.expires_at is not None
    later = claims.expires_at + timedelta(seconds=1)
    store = issuer.store(tmp_path, at=later - timedelta(hours=1))
    verdict = verify_qr_text(issuer.qr_text(claims), store, now=later)
    assert verdict.status is Status.EXPIRED


def test_stale_key_list_is_indeterminate(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    policy = Policy(max_key_list_age=timedelta(hours=1))
    verdict = verify_qr_text(text, store, now=NOW, policy=policy)
    assert verdict.status is Status.INDETERMINATE
    assert "key list" in (verdict.reason or "")


def test_expired_key_list_is_indeterminate(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    verdict = verify_qr_text(text, store, now=T0 + timedelta(days=31))
    assert verdict.status is Status.INDETERMINATE


def test_stale_status_list_is_indeterminate(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    verdict = verify_qr_text(text, store, now=T0 + timedelta(days=4))
    assert verdict.status is Status.INDETERMINATE
    assert "status list" in (verdict.reason or "")


def test_clock_behind_trust_data(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    verdict = verify_qr_text(text, store, now=T0 - timedelta(days=2))
    assert verdict.status is Status.INDETERMINATE
    assert "clock" in (verdict.reason or "")


def test_no_trust_data_is_indeterminate(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.pin(tmp_path)
    verdict = verify_qr_text(issuer.qr_text(issuer.claims()), store, now=NOW)
    assert verdict.status is Status.INDETERMINATE


def test_zlib_bomb_is_malformed(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    bomb = zlib.compress(b"\0" * (10 * MAX_PAYLOAD_BYTES), 9)
    verdict = verify_qr_text(_text_for_bytes(bomb), store, now=NOW)
    assert verdict.status is Status.MALFORMED
    assert "inflates" in (verdict.reason or "")


def test_truncated_zlib_is_malformed(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    body = zlib.compress(issuer.sign(issuer.claims()), 9)
    verdict = verify_qr_text(_text_for_bytes(body[:-6]), store, now=NOW)
    assert verdict.status is Status.MALFORMED


def test_overlong_text_is_malformed(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(BASE_URL + "/V/WQ1." + "A" * 5000, store, now=NOW)
    assert verdict.status is Status.MALFORMED


def test_trailing_cbor_bytes_are_malformed(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    body = issuer.sign(issuer.claims()) + b"\x00"
    assert (
        verify_qr_text(_text_for_bytes(body), store, now=NOW).status is Status.MALFORMED
    )


def test_signed_garbage_claims_are_malformed(issuer: SimulatedIssuer, tmp_path: Path):
    from verify.payload import encode_cose, protected_header, sig_structure

    store = issuer.store(tmp_path)
    key = issuer.issuing.key
    protected = protected_header(key.kid)
    payload = cbor2.dumps({1: "RYD-ADM", 6: 1})
    cose = encode_cose(protected, payload, key.sign(sig_structure(protected, payload)))
    verdict = verify_qr_text(_text_for_bytes(cose), store, now=NOW)
    assert verdict.status is Status.MALFORMED
    assert [check.name for check in verdict.checks][-1] == "claims"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://example.com/pay?amount=100",
        "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I5BROCWAAT4V22F/8X*G3M9",
        "WIFI:S:Lobby;T:WPA;P:secret;;",
        "00020101021129370016A000000677010111011300669000000005802SA",
        "BEGIN:VCARD\nFN:Test\nEND:VCARD",
        "HTTPS://WATHIQ.EXAMPLE.SA/ABOUT",
    ],
)
def test_foreign_codes_are_not_ours(text: str, issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(text, store, now=NOW)
    assert verdict.status is Status.NOT_A_WATHIQ_CODE
    assert verdict.outcome is Outcome.CANNOT_VERIFY


@pytest.mark.parametrize("suffix", ["0189!!", "AAAA1", "A", "MFRGG===", "AEBAGBAF"])
def test_damaged_payload_is_malformed(
    suffix: str, issuer: SimulatedIssuer, tmp_path: Path
):
    store = issuer.store(tmp_path)
    verdict = verify_qr_text(f"{BASE_URL}/V/WQ1.{suffix}", store, now=NOW)
    assert verdict.status is Status.MALFORMED


def test_newer_format_is_indeterminate(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims()).replace("/WQ1.", "/WQ2.")
    verdict = verify_qr_text(text, store, now=NOW)
    assert verdict.status is Status.INDETERMINATE
    assert "version 2" in (verdict.reason or "")


def test_qr_text_uses_alphanumeric_set(issuer: SimulatedIssuer):
    text = issuer.qr_text(issuer.claims())
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert set(text) <= allowed
    assert text.startswith(BASE_URL + "/V/WQ1.")


def test_bare_payload_and_lowercase_link_verify(
    issuer: SimulatedIssuer, tmp_path: Path
):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    bare = text.split("/V/", 1)[1]
    assert verify_qr_text(bare, store, now=NOW).status is Status.GENUINE
    assert verify_qr_text(text.lower(), store, now=NOW).status is Status.GENUINE


def test_judgment_fits_version_18(issuer: SimulatedIssuer):
    import qrcode

    claims = issuer.claims()
    parties = [("plaintiff", "ع" * 40), ("defendant", "م" * 40)]
    claims = replace(claims, fields={**claims.fields, "parties": parties})
    text = issuer.qr_text(claims)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    assert code.version <= 18


def test_reference_time_must_be_aware(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_qr_text("x", store, now=NOW.replace(tzinfo=None))


def test_payload_marker_requires_path(issuer: SimulatedIssuer):
    from verify.errors import NotWathiqCode

    with pytest.raises(NotWathiqCode):
        payload_from_qr_text("HTTPS://EVIL.EXAMPLE/XWQ1.ABC")
    text = qr_text_for(issuer.sign(issuer.claims()), "https://other.example")
    assert text.startswith("HTTPS://OTHER.EXAMPLE/V/WQ1.")


def test_link_to_other_site_is_reported(issuer: SimulatedIssuer, tmp_path: Path):
    store = issuer.store(tmp_path)
    text = issuer.qr_text(issuer.claims())
    moved = "HTTPS://EVIL.EXAMPLE" + text[len(BASE_URL) :]
    policy = Policy(court_base_url="https://wathiq.example.sa/")
    own = verify_qr_text(text, store, now=NOW, policy=policy)
    assert own.status is Status.GENUINE
    assert own.reason is None
    assert any(check.name == "link_address" and check.passed for check in own.checks)
    verdict = verify_qr_text(moved, store, now=NOW, policy=policy)
    assert verdict.status is Status.GENUINE
    assert "EVIL.EXAMPLE" in (verdict.reason or "")
    link = [check for check in verdict.checks if check.name == "link_address"]
    assert not link[0].passed
    bare = text.split("/V/", 1)[1]
    assert verify_qr_text(bare, store, now=NOW, policy=policy).reason is None
