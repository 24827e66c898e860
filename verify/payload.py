"""The signed payload in every document's QR code (specified in docs/payload.md).

Layers, outermost first:

1. QR text: ``<BASE URL>/V/WQ1.<BASE32>``, only characters of the QR alphanumeric
   set, so a phone camera opens the online check and the same text verifies offline.
   ``WQ1`` is the format marker: ``WQ`` names wathiq and ``1`` the format version.
2. Base32 (RFC 4648, no padding) of either a COSE_Sign1 message, or its zlib stream
   when that is shorter. The first byte distinguishes them: 0xD2 (CBOR tag 18) or 0x78.
3. COSE_Sign1 (RFC 9052), tag 18, alg EdDSA, the key id in the protected header.
4. CWT claims (RFC 8392): iss (court code), iat, exp where the type expires,
   cti (document id), and the document claims under the private claim -65537.

Decoding never trusts a claim: `decode_cose` only splits the message, and
`decode_claims` is meant to run after the signature check.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cbor2

from verify.documents import CAPACITIES, DOCUMENT_TYPES, PARTY_ROLES
from verify.errors import MalformedPayload, NotWathiqCode, UnsupportedFormat

__all__ = [
    "FORMAT_VERSION",
    "MAX_PAYLOAD_BYTES",
    "MAX_QR_TEXT_CHARS",
    "CoseSign1",
    "DocumentClaims",
    "decode_claims",
    "decode_cose",
    "encode_claims",
    "encode_cose",
    "format_document_id",
    "payload_from_qr_text",
    "qr_text_for",
    "sig_structure",
]

FORMAT_VERSION = 1
# A version 40 QR code encodes at most 4,296 alphanumeric characters.
MAX_QR_TEXT_CHARS = 4296
# The largest real payload is under 1 KiB; 4 KiB leaves room and stops zlib bombs.
MAX_PAYLOAD_BYTES = 4096

COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_KID = 4
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI = 1, 4, 6, 7
# Private-use CWT claim key (RFC 8392 registry: below -65536) for document claims.
CLAIM_DOCUMENT = -65537

# Keys inside the document claim map.
DOC_TYPE, DOC_CIRCUIT, DOC_CASE, DOC_DIGEST, DOC_STATUS_INDEX = 1, 2, 3, 4, 5
DOC_JUDGMENT_DATE, DOC_PARTIES = 10, 11
DOC_ATTENDEE, DOC_CAPACITY, DOC_SESSION_START, DOC_ID_LAST4 = 20, 21, 22, 23

_MARKER = re.compile(r"(?:^|/V/)WQ(\d+)\.(.*)$", re.IGNORECASE | re.DOTALL)
_BASE32_TEXT = re.compile(r"^[A-Z2-7]+$")
# RFC 4648 base32 digits (A-Z, 2-7) mapped onto int()'s base-32 digits (0-9, A-V).
_TO_INT_DIGITS = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV"
)
_TYPE_BY_CODE = {kind.code: name for name, kind in DOCUMENT_TYPES.items()}


@dataclass(frozen=True)
class DocumentClaims:
    """The claims of a document, as signed."""

    type: str
    document_id: bytes
    court: str
    circuit: str
    case_number: str
    digest: bytes
    status_index: int
    issued_at: datetime
    expires_at: datetime | None
    fields: dict[str, Any] = field(default_factory=dict)
    """Type-specific fields a person compares with the paper."""

    @functools.cached_property
    def document_id_text(self) -> str:
        return format_document_id(self.document_id)


@dataclass(frozen=True)
class CoseSign1:
    """A split COSE_Sign1 message whose signature has not been checked yet."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def format_document_id(document_id: bytes) -> str:
    """Write a document id as unpadded base32, the form people and the CLI use."""
    return base64.b32encode(document_id).decode("ascii").rstrip("=")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """Encode the Sig_structure that COSE_Sign1 signs (RFC 9052, section 4.4)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def protected_header(kid: bytes) -> bytes:
    return cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})


def encode_cose(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    message = [protected, {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, message))


def encode_claims(claims: DocumentClaims) -> bytes:
    """Encode document claims as the CBOR CWT claims set."""
    document: dict[int, Any] = {
        DOC_TYPE: DOCUMENT_TYPES[claims.type].code,
        DOC_CIRCUIT: claims.circuit,
        DOC_CASE: claims.case_number,
        DOC_DIGEST: claims.digest,
        DOC_STATUS_INDEX: claims.status_index,
    }
    fields = claims.fields
    if claims.type == "judgment_copy":
        document[DOC_JUDGMENT_DATE] = fields["judgment_date"]
        document[DOC_PARTIES] = [
            [PARTY_ROLES.index(role) + 1, name] for role, name in fields["parties"]
        ]
    else:
        document[DOC_ATTENDEE] = fields["attendee_name"]
        document[DOC_CAPACITY] = CAPACITIES.index(fields["capacity"]) + 1
        document[DOC_SESSION_START] = fields["session_start"]
        document[DOC_ID_LAST4] = fields["national_id_last4"]
    cwt: dict[int, Any] = {
        CLAIM_ISS: claims.court,
        CLAIM_IAT: int(claims.issued_at.timestamp()),
        CLAIM_CTI: claims.document_id,
        CLAIM_DOCUMENT: document,
    }
    if claims.expires_at is not None:
        cwt[CLAIM_EXP] = int(claims.expires_at.timestamp())
    return cbor2.dumps(cwt)


def qr_text_for(cose: bytes, base_url: str) -> str:
    """Build the QR text for a COSE_Sign1 message, compressed when that is shorter."""
    compressed = zlib.compress(cose, 9)
    body = compressed if len(compressed) < len(cose) else cose
    encoded = base64.b32encode(body).decode("ascii").rstrip("=")
    return f"{base_url.rstrip('/').upper()}/V/WQ{FORMAT_VERSION}.{encoded}"


def payload_from_qr_text(text: str) -> bytes:
    """Return the COSE_Sign1 bytes inside a QR text.

    Raises NotWathiqCode for a foreign code, UnsupportedFormat for a newer format
    version and MalformedPayload for one of ours that is damaged.
    """
    if len(text) > MAX_QR_TEXT_CHARS:
        raise MalformedPayload(
            f"QR text has {len(text)} characters; the maximum is {MAX_QR_TEXT_CHARS}"
        )
    match = _MARKER.search(text.strip())
    if match is None:
        raise NotWathiqCode("the QR text has no wathiq format marker (WQ1.)")
    version, encoded = int(match.group(1)), match.group(2).upper()
    if version != FORMAT_VERSION:
        raise UnsupportedFormat(
            f"format version {version} is not supported by this verifier, which reads"
            f" version {FORMAT_VERSION}; update it or check online"
        )
    body = _base32_decode(encoded)
    if body[:1] == b"\x78":
        return _inflate(body)
    return body


def _base32_decode(encoded: str) -> bytes:
    """Decode unpadded RFC 4648 base32, rejecting non-canonical trailing bits.

    The standard library's b32decode is pure Python before 3.13 and was most of the
    decoding time, so this maps the alphabet onto int()'s base-32 digits instead.
    """
    if not _BASE32_TEXT.match(encoded):
        raise MalformedPayload("the payload contains characters outside base32")
    bits = 5 * len(encoded)
    spare = bits % 8
    if spare >= 5:
        raise MalformedPayload("the payload has an impossible base32 length")
    value = int(encoded.translate(_TO_INT_DIGITS), 32)
    if value & ((1 << spare) - 1):
        raise MalformedPayload("the payload's base32 padding bits are not zero")
    return (value >> spare).to_bytes(bits // 8, "big")


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, MAX_PAYLOAD_BYTES + 1)
    except zlib.error:
        raise MalformedPayload("the compressed payload is damaged") from None
    if len(data) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        raise MalformedPayload(
            f"the payload inflates to more than {MAX_PAYLOAD_BYTES} bytes"
        )
    if not inflater.eof or inflater.unused_data:
        raise MalformedPayload("the compressed payload is truncated or has extra bytes")
    return data


def _cbor_loads(data: bytes, *, signed: bool = False) -> Any:
    """Decode exactly one CBOR item.

    Unsigned bytes are checked for trailing data. For `signed` bytes (the protected
    header and the claims, whose signature has passed or will be checked before
    use) the quicker cbor2.loads is enough, because only the signer could add bytes.
    """
    if signed:
        try:
            return cbor2.loads(
                data, allow_duplicate_keys=False, allow_indefinite=False, max_depth=8
            )
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError):
            raise MalformedPayload("the payload is not valid CBOR") from None
    stream = io.BytesIO(data)
    try:
        # Duplicate map keys would let two readers see different claims; definite
        # lengths only, as produced by every COSE encoder.
        decoder = cbor2.CBORDecoder(
            stream, allow_duplicate_keys=False, allow_indefinite=False, max_depth=8
        )
        item = decoder.decode()
    except (
        cbor2.CBORDecodeError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
    ):
        raise MalformedPayload("the payload is not valid CBOR") from None
    if stream.tell() != len(data):
        raise MalformedPayload("the payload has bytes after its CBOR item")
    return item


def decode_cose(data: bytes) -> CoseSign1:
    """Split a tagged COSE_Sign1 message with an EdDSA protected header."""
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MalformedPayload(f"the payload is over {MAX_PAYLOAD_BYTES} bytes")
    item = _cbor_loads(data)
    if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_SIGN1_TAG:
        raise MalformedPayload("the payload is not a tagged COSE_Sign1 message")
    message = item.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise MalformedPayload("a COSE_Sign1 message is an array of four items")
    protected, unprotected, payload, signature = message
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)):
        raise MalformedPayload("COSE_Sign1 header, payload or signature is not bytes")
    if not isinstance(unprotected, Mapping):
        raise MalformedPayload("the COSE unprotected header is not a map")
    header = _cbor_loads(protected, signed=True)
    if not isinstance(header, Mapping) or header.get(HEADER_ALG) != ALG_EDDSA:
        raise MalformedPayload("the protected header does not name alg EdDSA (-8)")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes) or not kid:
        raise MalformedPayload("the protected header has no key id")
    return CoseSign1(protected, kid, payload, signature)


def decode_claims(payload: bytes) -> DocumentClaims:
    """Decode the CWT claims of a signed payload into DocumentClaims."""
    cwt = _cbor_loads(payload, signed=True)
    if not isinstance(cwt, Mapping):
        raise MalformedPayload("the CWT claims are not a map")
    document = _get(cwt, CLAIM_DOCUMENT, Mapping)
    doc_type = _TYPE_BY_CODE.get(_get(document, DOC_TYPE, int))
    if doc_type is None:
        raise MalformedPayload("the document type code is unknown")
    document_id = _get(cwt, CLAIM_CTI, bytes)
    digest = _get(document, DOC_DIGEST, bytes)
    if len(document_id) < 16 or len(digest) != 32:
        raise MalformedPayload("the document id or content digest has the wrong size")
    expires = cwt.get(CLAIM_EXP)
    if expires is not None and not isinstance(expires, int):
        raise MalformedPayload("the exp claim is not an integer")
    return DocumentClaims(
        type=doc_type,
        document_id=document_id,
        court=_get(cwt, CLAIM_ISS, str),
        circuit=_get(document, DOC_CIRCUIT, str),
        case_number=_get(document, DOC_CASE, str),
        digest=digest,
        status_index=_get(document, DOC_STATUS_INDEX, int),
        issued_at=_timestamp(_get(cwt, CLAIM_IAT, int)),
        expires_at=None if expires is None else _timestamp(expires),
        fields=_type_fields(doc_type, document),
    )


def _type_fields(doc_type: str, document: Mapping[Any, Any]) -> dict[str, Any]:
    if doc_type == "judgment_copy":
        parties = []
        for party in _get(document, DOC_PARTIES, list | tuple):
            valid = isinstance(party, list | tuple) and len(party) == 2
            if not valid or not isinstance(party[0], int):
                raise MalformedPayload("a party is not a [role, name] pair")
            if not 1 <= party[0] <= len(PARTY_ROLES):
                raise MalformedPayload("a party is not a [role, name] pair")
            if not isinstance(party[1], str):
                raise MalformedPayload("a party name is not text")
            parties.append((PARTY_ROLES[party[0] - 1], party[1]))
        return {
            "judgment_date": _get(document, DOC_JUDGMENT_DATE, str),
            "parties": parties,
        }
    capacity = _get(document, DOC_CAPACITY, int)
    if not 1 <= capacity <= len(CAPACITIES):
        raise MalformedPayload("the attendee's capacity code is unknown")
    return {
        "attendee_name": _get(document, DOC_ATTENDEE, str),
        "capacity": CAPACITIES[capacity - 1],
        "session_start": _get(document, DOC_SESSION_START, str),
        "national_id_last4": _get(document, DOC_ID_LAST4, str),
    }


def _get(claims: Mapping[Any, Any], key: int, kind: Any) -> Any:
    value = claims.get(key)
    # bool is an int in Python, but never a valid claim value here.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedPayload(f"claim {key} is missing or of the wrong type")
    if kind is int and not 0 <= value < 2**40:
        raise MalformedPayload(f"claim {key} is out of range")
    return value


def _timestamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
