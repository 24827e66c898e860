"""Sign document claims into a COSE_Sign1 message and its QR text."""

from __future__ import annotations

import secrets
from datetime import datetime

from verify.documents import Document
from verify.payload import (
    DocumentClaims,
    encode_claims,
    encode_cose,
    protected_header,
    sig_structure,
)
from verify.signing.keys import SigningKey

__all__ = ["DOCUMENT_ID_BYTES", "claims_for", "new_document_id", "sign_claims"]

# 128 random bits: ids cannot be guessed or enumerated.
DOCUMENT_ID_BYTES = 16


def new_document_id() -> bytes:
    return secrets.token_bytes(DOCUMENT_ID_BYTES)


def claims_for(
    document: Document,
    *,
    document_id: bytes,
    status_index: int,
    issued_at: datetime,
) -> DocumentClaims:
    """Select the claims of `document` that travel in its QR code."""
    content = document.content
    if document.type == "judgment_copy":
        fields = {
            "judgment_date": content["judgment_date"],
            "parties": [(party["role"], party["name"]) for party in content["parties"]],
        }
    else:
        attendee = content["attendee"]
        start = datetime.fromisoformat(content["session_start"])
        fields = {
            "attendee_name": attendee["name"],
            "capacity": attendee["capacity"],
            "session_start": start.isoformat(timespec="minutes"),
            "national_id_last4": attendee["national_id"][-4:],
        }
    valid_for = document.document_type.valid_for
    issued_at = issued_at.replace(microsecond=0)
    return DocumentClaims(
        type=document.type,
        document_id=document_id,
        court=content["court"],
        circuit=content["circuit"],
        case_number=content["case_number"],
        digest=document.digest,
        status_index=status_index,
        issued_at=issued_at,
        expires_at=None if valid_for is None else issued_at + valid_for,
        fields=fields,
    )


def sign_claims(claims: DocumentClaims, key: SigningKey) -> bytes:
    """Return the tagged COSE_Sign1 message of `claims` signed by `key`."""
    protected = protected_header(key.kid)
    payload = encode_claims(claims)
    signature = key.sign(sig_structure(protected, payload))
    return encode_cose(protected, payload, signature)
