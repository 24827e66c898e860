"""Verify a QR text against a trust store, in the steps of docs/payload.md.

1. Read the QR text: format marker and version, base32, zlib (capped).
2. Split the COSE_Sign1 message and read alg and kid from the protected header.
3. Check that the key list is held, fresh enough, and the clock plausible.
4. Find the signing key by kid (a hint: the signature decides).
5. Check the Ed25519 signature strictly. No claim is read before this passes.
6. Decode the CWT and document claims.
7. Check the key was trusted for this document: use, court, type, validity at
   signing time, and compromise.
8. Check expiry against the reference time.
9. Check revocation: the registry's record when online, else the status list.

Each step appends a Check; the first failing step decides the status. One reference
time, injected by the caller, is used for every step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from verify.crypto import verify_signature
from verify.documents import DOCUMENT_TYPES
from verify.errors import MalformedPayload, NotWathiqCode, UnsupportedFormat
from verify.payload import (
    CoseSign1,
    DocumentClaims,
    decode_claims,
    decode_cose,
    payload_from_qr_text,
)
from verify.trust import STATUS_NAMES, STATUS_VALID, KeyEntry, KeyList, TrustStore
from verify.verdict import Check, Status, Verdict

__all__ = ["Policy", "RegistryRecord", "RegistryView", "verify_qr_text"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """Limits on the age of trust data, past which the verifier does not decide."""

    max_key_list_age: timedelta = timedelta(days=14)
    max_status_list_age: timedelta = timedelta(days=3)
    # Tolerated difference between this clock and the publisher's.
    clock_skew: timedelta = timedelta(minutes=5)
    court_base_url: str | None = None
    """The court's verification page. When set, a QR code that links anywhere else
    is reported: its payload may be genuine, but the printed code was replaced."""


@dataclass(frozen=True)
class RegistryRecord:
    """The online registry's record of one document."""

    status: str
    """"valid", "revoked", "superseded" or "set-aside"."""
    digest: bytes
    kid: bytes
    successor_id: str | None = None


class RegistryView(Protocol):
    def lookup(self, document_id: bytes) -> RegistryRecord | None: ...


class _Stop(Exception):
    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class _Run:
    """The state of one verification while its steps run."""

    now: datetime
    store: TrustStore
    policy: Policy
    registry: RegistryView | None
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    def failed(self, name: str, status: Status, detail: str) -> _Stop:
        self.checks.append(Check(name, False, detail))
        return _Stop(status, detail)


def verify_qr_text(
    text: str,
    store: TrustStore,
    *,
    now: datetime,
    policy: Policy | None = None,
    registry: RegistryView | None = None,
) -> Verdict:
    """Verify one QR text and return its verdict; never raises for bad input."""
    if now.tzinfo is None:
        raise ValueError("the reference time must be timezone-aware")
    run = _Run(now, store, policy or Policy(), registry)
    status, reason = Status.GENUINE, None
    try:
        _verify_steps(run, text)
    except _Stop as stop:
        status, reason = stop.status, stop.reason
    if status is Status.GENUINE:
        # The signed content is genuine; the reason still warns about the link.
        reason = run.facts.get("link_warning")
    logger.debug("verdict %s after %d checks", status, len(run.checks))
    return _verdict(run, status, reason)


def _verify_steps(run: _Run, text: str) -> None:
    message = _read_text(run, text)
    key_list = _check_trust_data(run)
    key = _find_key(run, key_list, message)
    _check_signature(run, key, message)
    claims = _decode(run, message)
    _check_key_trusted(run, key, claims)
    _check_expiry(run, claims)
    _check_revocation(run, claims)


def _read_text(run: _Run, text: str) -> CoseSign1:
    # Steps 1 and 2: the QR text and the COSE_Sign1 structure.
    try:
        message = decode_cose(payload_from_qr_text(text))
    except NotWathiqCode as error:
        raise run.failed("format", Status.NOT_A_WATHIQ_CODE, str(error)) from None
    except UnsupportedFormat as error:
        raise run.failed("format", Status.INDETERMINATE, str(error)) from None
    except MalformedPayload as error:
        raise run.failed("format", Status.MALFORMED, str(error)) from None
    run.facts["kid"] = message.kid.hex()
    run.passed("format", "wathiq format 1, COSE_Sign1 with EdDSA")
    _check_link(run, text)
    return message


def _check_link(run: _Run, text: str) -> None:
    """Record a failed check when the QR code links away from the court's page."""
    expected = run.policy.court_base_url
    if expected is None:
        return
    stripped = text.strip()
    marker = stripped.upper().find("/V/WQ")
    if marker <= 0:
        return
    link = stripped[:marker].upper().rstrip("/")
    court = expected.upper().rstrip("/")
    if link == court:
        run.passed("link_address", "the code links to the court's verification page")
        return
    detail = (
        f"the code links to {link}, not to the court's verification page {court}:"
        " the printed code may have been replaced, so do not follow that link and"
        " compare every detail with the paper"
    )
    run.checks.append(Check("link_address", False, detail))
    run.facts["link_warning"] = detail


def _check_trust_data(run: _Run) -> KeyList:
    # Step 3: trust data held, fresh, and a clock that is not behind it.
    store, policy = run.store, run.policy
    key_list = store.key_list
    if key_list is None:
        raise run.failed(
            "key_list", Status.INDETERMINATE, "no key list is held; sync or import one"
        )
    run.facts["key_list"] = key_list
    newest = store.newest_issued_at
    if newest is not None and run.now + policy.clock_skew < newest:
        raise run.failed(
            "clock",
            Status.INDETERMINATE,
            f"this device's clock ({run.now:%Y-%m-%d %H:%M} UTC) is earlier than trust"
            f" data issued at {newest:%Y-%m-%d %H:%M} UTC; correct the clock",
        )
    age = run.now - key_list.issued_at
    if run.now >= key_list.expires_at or age > policy.max_key_list_age:
        raise run.failed(
            "key_list",
            Status.INDETERMINATE,
            f"the key list (version {key_list.version}) is {_days(age)} old, over the"
            " limit; sync trust data or verify online",
        )
    run.passed("key_list", f"key list version {key_list.version}, {_days(age)} old")
    return key_list


def _find_key(run: _Run, key_list: KeyList, message: CoseSign1) -> KeyEntry:
    # Step 4: the kid only selects a candidate key.
    key = key_list.keys.get(message.kid)
    if key is None or key.use != "documents":
        raise run.failed(
            "key_known",
            Status.UNKNOWN_KEY,
            f"key {message.kid.hex()} is not an issuing key of the key list",
        )
    run.passed("key_known", f"issuing key {key.kid.hex()} of court {key.court}")
    return key


def _check_signature(run: _Run, key: KeyEntry, message: CoseSign1) -> None:
    # Step 5: strict Ed25519 over the COSE Sig_structure.
    if not verify_signature(key.public_key, message.signature, message.to_be_signed()):
        raise run.failed(
            "signature", Status.INVALID_SIGNATURE, "the signature does not match"
        )
    run.passed("signature", "Ed25519 signature valid")


def _decode(run: _Run, message: CoseSign1) -> DocumentClaims:
    # Step 6: claims are read only now that the signature is known good.
    try:
        claims = decode_claims(message.payload)
    except MalformedPayload as error:
        raise run.failed("claims", Status.MALFORMED, str(error)) from None
    run.facts["claims"] = claims
    run.passed("claims", f"{claims.type} {claims.document_id_text}")
    return claims


def _check_key_trusted(run: _Run, key: KeyEntry, claims: DocumentClaims) -> None:
    # Step 7: scope, validity window at signing time, and compromise.
    signed_at = claims.issued_at
    if claims.court != key.court or claims.type not in key.document_types:
        raise run.failed(
            "key_trusted",
            Status.KEY_NOT_TRUSTED,
            f"key {key.kid.hex()} may not sign {claims.type} for court {claims.court}",
        )
    late = key.valid_until is not None and signed_at > key.valid_until
    if signed_at < key.valid_from or late:
        raise run.failed(
            "key_trusted",
            Status.KEY_NOT_TRUSTED,
            f"signed at {signed_at:%Y-%m-%d %H:%M} UTC, outside the key's validity",
        )
    if key.compromised_at is not None:
        _check_compromised_key(run, key, claims)
        return
    run.passed("key_trusted", f"key {key.status} and in scope when signing")


def _check_compromised_key(run: _Run, key: KeyEntry, claims: DocumentClaims) -> None:
    assert key.compromised_at is not None
    if claims.issued_at >= key.compromised_at:
        raise run.failed(
            "key_trusted",
            Status.KEY_NOT_TRUSTED,
            f"signed by key {key.kid.hex()} after it was compromised",
        )
    record = run.registry.lookup(claims.document_id) if run.registry else None
    confirmed = (
        record is not None and record.digest == claims.digest and record.kid == key.kid
    )
    if not confirmed:
        raise run.failed(
            "key_trusted",
            Status.INDETERMINATE,
            "signed by a key later compromised; only the court's online registry can"
            " confirm this document",
        )
    run.passed("key_trusted", "key later compromised; the registry confirms the record")


def _check_expiry(run: _Run, claims: DocumentClaims) -> None:
    # Step 8.
    if claims.expires_at is not None and run.now >= claims.expires_at:
        raise run.failed(
            "not_expired",
            Status.EXPIRED,
            f"the document expired on {claims.expires_at:%Y-%m-%d}",
        )
    run.passed("not_expired", "no expiry" if claims.expires_at is None else "in date")


def _check_revocation(run: _Run, claims: DocumentClaims) -> None:
    # Step 9: the registry's record is current; the status list may lag.
    record = run.registry.lookup(claims.document_id) if run.registry else None
    if run.registry is not None:
        _check_registry(run, claims, record)
        return
    status_list = run.store.status_list
    if status_list is None:
        raise run.failed(
            "not_revoked",
            Status.INDETERMINATE,
            "no status list is held; sync trust data",
        )
    run.facts["status_list"] = status_list
    age = run.now - status_list.issued_at
    if run.now >= status_list.expires_at or age > run.policy.max_status_list_age:
        raise run.failed(
            "not_revoked",
            Status.INDETERMINATE,
            f"the status list (version {status_list.version}) is {_days(age)} old, over"
            " the limit; sync trust data or verify online",
        )
    if claims.status_index >= status_list.size:
        raise run.failed(
            "not_revoked",
            Status.MALFORMED,
            "the status index is beyond the status list",
        )
    state = status_list.status_at(claims.status_index)
    if state != STATUS_VALID:
        raise run.failed("not_revoked", Status.REVOKED, STATUS_NAMES[state])
    run.passed("not_revoked", f"status list version {status_list.version}: valid")


def _check_registry(
    run: _Run, claims: DocumentClaims, record: RegistryRecord | None
) -> None:
    if record is None:
        raise run.failed(
            "not_revoked",
            Status.INDETERMINATE,
            "the document is signed but not in the court's registry; contact the court",
        )
    if record.digest != claims.digest:
        raise run.failed(
            "not_revoked",
            Status.INDETERMINATE,
            "the registry's record differs from the signed content; contact the court",
        )
    if record.status != "valid":
        run.facts["successor_id"] = record.successor_id
        raise run.failed("not_revoked", Status.REVOKED, record.status)
    run.passed("not_revoked", "the court's registry lists the document as valid")


def _verdict(run: _Run, status: Status, reason: str | None) -> Verdict:
    facts = run.facts
    key_list: KeyList | None = facts.get("key_list")
    status_list = facts.get("status_list")
    claims: DocumentClaims | None = facts.get("claims")
    return Verdict(
        status=status,
        reference_time=run.now,
        checks=tuple(run.checks),
        document_id=claims.document_id_text if claims else None,
        document=_display_fields(claims, key_list) if claims and key_list else {},
        kid=facts.get("kid"),
        reason=reason,
        successor_id=facts.get("successor_id"),
        key_list_version=key_list.version if key_list else None,
        key_list_age_seconds=_seconds(run.now - key_list.issued_at)
        if key_list
        else None,
        status_list_version=status_list.version if status_list else None,
        status_list_age_seconds=(
            _seconds(run.now - status_list.issued_at) if status_list else None
        ),
    )


def _display_fields(claims: DocumentClaims, key_list: KeyList) -> dict[str, Any]:
    kind = DOCUMENT_TYPES[claims.type]
    fields: dict[str, Any] = {
        "type": claims.type,
        "title_ar": kind.title_ar,
        "title_en": kind.title_en,
        "document_id": claims.document_id_text,
        "court": claims.court,
        "circuit": claims.circuit,
        **key_list.court_names(claims.court, claims.circuit),
        "case_number": claims.case_number,
        "issued_at": claims.issued_at.isoformat(),
        "expires_at": claims.expires_at.isoformat() if claims.expires_at else None,
        "content_digest": claims.digest.hex(),
    }
    for name, value in claims.fields.items():
        if name == "parties":
            value = [{"role": role, "name": person} for role, person in value]
        fields[name] = value
    return fields


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"
