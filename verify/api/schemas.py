"""Pydantic models of the JSON bodies, for validation and the OpenAPI document.

Verification responses are built from `Verdict.to_dict()` and are not validated
against `VerificationResponse` on the way out. The model documents that shape, and
a test checks that real responses match it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from verify.payload import MAX_QR_TEXT_CHARS
from verify.verdict import Outcome, Status

__all__ = [
    "VERIFICATION_REQUEST_BODY",
    "VERIFICATION_RESPONSES",
    "AuditResponse",
    "DocumentResponse",
    "ErrorResponse",
    "IssueRequest",
    "IssuedResponse",
    "RevocationRequest",
    "VerificationRequest",
    "VerificationResponse",
]

RegistryStatus = Literal["valid", "revoked", "superseded", "set-aside", "not_found"]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["unsupported_media_type"])
    message: str = Field(
        examples=[
            "This file type cannot be read: upload a PNG, JPEG, WebP or TIFF"
            " image, or a PDF document."
        ]
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class VerificationRequest(BaseModel):
    qr_text: str = Field(
        max_length=MAX_QR_TEXT_CHARS,
        description="The text of the QR code, as a scanner reads it.",
        examples=["HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1.PDNLXVHCXOEFDHOF..."],
    )


class CheckResult(BaseModel):
    name: str
    passed: bool
    detail: str


class TrustSummary(BaseModel):
    key_list_version: int | None
    key_list_age_seconds: int | None
    status_list_version: int | None
    status_list_age_seconds: int | None


class OnlineChecks(BaseModel):
    """Checks that only the court's registry can make."""

    registry_consulted: bool = Field(
        description="False on a verifier without the registry, such as a kiosk."
    )
    registry_status: RegistryStatus | None = Field(
        description="The registry's current status of the document; null when the"
        " verification stopped before the registry was consulted."
    )
    identical_to_original: bool | None = Field(
        description="For an uploaded PDF: whether it is byte for byte the issued file."
    )
    successor_id: str | None = Field(
        description="The document that replaces a superseded one."
    )


class VerificationResponse(BaseModel):
    """A verdict: the same fields as ``wathiq verify --json``, plus ``online``."""

    status: Status
    outcome: Outcome
    document_id: str | None
    document: dict[str, Any] = Field(
        description="Signed fields to compare with the paper; empty unless the"
        " signature is valid."
    )
    reason: str | None
    successor_id: str | None
    kid: str | None
    checks: list[CheckResult]
    trust: TrustSummary
    reference_time: datetime
    online: OnlineChecks


class IssueRequest(BaseModel):
    """The same input as ``wathiq issue TYPE --json FILE``."""

    type: str = Field(examples=["judgment_copy"], description="The document type.")
    fields: dict[str, Any] = Field(
        description="The document fields, as in the examples/ JSON files."
    )


class IssuedResponse(BaseModel):
    document_id: str
    qr_text: str
    verification_url: str = Field(description="The page a phone opens from the QR.")
    created: bool = Field(
        description="False when an earlier request with the same Idempotency-Key"
        " issued the document."
    )
    pdf_sha256: str | None


class RevocationRequest(BaseModel):
    reason: Literal["revoked", "superseded", "set-aside"]
    successor_id: str | None = Field(
        default=None, description="The replacing document, for a superseded one."
    )


class DocumentResponse(BaseModel):
    id: str
    type: str
    status: str
    successor_id: str | None
    issued_at: str
    expires_at: str | None
    kid: str
    content_digest: str
    pdf_sha256: str | None
    content: dict[str, Any]


class AuditEntry(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    document_id: str | None
    detail: str | None


class AuditResponse(BaseModel):
    entries: list[AuditEntry]
    limit: int
    offset: int


GENUINE_EXAMPLE: dict[str, Any] = {
    "status": "GENUINE",
    "outcome": "genuine",
    "document_id": "VVZPJGZ5CATGAXVOCAQFQIAAGQ",
    "document": {
        "type": "judgment_copy",
        "title_ar": "صورة حكم غير تنفيذية",
        "title_en": "Judgment copy (non-executive)",
        "document_id": "VVZPJGZ5CATGAXVOCAQFQIAAGQ",
        "court": "RYD-ADM",
        "circuit": "C07",
        "court_ar": "المحكمة الإدارية بالرياض",
        "court_en": "Administrative Court in Riyadh",
        "circuit_ar": "الدائرة الإدارية السابعة",
        "circuit_en": "Seventh Administrative Circuit",
        "case_number": "ADM-1447-004471",
        "issued_at": "2026-12-04T16:10:33+00:00",
        "expires_at": None,
        "content_digest": (
            "c1d08f8532733094af36b9a469465b52eb712ea0873019203824d90339b046bf"
        ),
        "judgment_date": "2026-11-18",
        "parties": [
            {"role": "plaintiff", "name": "عبدالرحمن بن سليمان الدوسري"},
            {"role": "defendant", "name": "وزارة الشؤون البلدية والقروية والإسكان"},
        ],
    },
    "reason": None,
    "successor_id": None,
    "kid": "48fb976136691095",
    "checks": [
        {
            "name": "format",
            "passed": True,
            "detail": "wathiq format 1, COSE_Sign1 with EdDSA",
        },
        {
            "name": "key_list",
            "passed": True,
            "detail": "key list version 1, 0.0 hours old",
        },
        {
            "name": "key_known",
            "passed": True,
            "detail": "issuing key 48fb976136691095 of court RYD-ADM",
        },
        {"name": "signature", "passed": True, "detail": "Ed25519 signature valid"},
        {
            "name": "claims",
            "passed": True,
            "detail": "judgment_copy VVZPJGZ5CATGAXVOCAQFQIAAGQ",
        },
        {
            "name": "key_trusted",
            "passed": True,
            "detail": "key active and in scope when signing",
        },
        {"name": "not_expired", "passed": True, "detail": "no expiry"},
        {
            "name": "not_revoked",
            "passed": True,
            "detail": "the court's registry lists the document as valid",
        },
    ],
    "trust": {
        "key_list_version": 1,
        "key_list_age_seconds": 42,
        "status_list_version": None,
        "status_list_age_seconds": None,
    },
    "reference_time": "2026-12-04T16:11:15+00:00",
    "online": {
        "registry_consulted": True,
        "registry_status": "valid",
        "identical_to_original": None,
        "successor_id": None,
    },
}

SUPERSEDED_EXAMPLE: dict[str, Any] = {
    **GENUINE_EXAMPLE,
    "status": "REVOKED",
    "outcome": "not_genuine",
    "reason": "superseded",
    "successor_id": "LQ4R4MPP5IXOJKHZVI46NHP5NI",
    "checks": [
        *GENUINE_EXAMPLE["checks"][:-1],
        {"name": "not_revoked", "passed": False, "detail": "superseded"},
    ],
    "online": {
        "registry_consulted": True,
        "registry_status": "superseded",
        "identical_to_original": None,
        "successor_id": "LQ4R4MPP5IXOJKHZVI46NHP5NI",
    },
}

NO_QR_EXAMPLE: dict[str, Any] = {
    "status": "NO_QR_FOUND",
    "outcome": "cannot_verify",
    "document_id": None,
    "document": {},
    "reason": "No QR code was found in the image: scan or photograph the whole code,"
    " flat, in focus and without glare.",
    "successor_id": None,
    "kid": None,
    "checks": [
        {
            "name": "input",
            "passed": False,
            "detail": "No QR code was found in the image: scan or photograph the whole"
            " code, flat, in focus and without glare.",
        }
    ],
    "trust": {
        "key_list_version": None,
        "key_list_age_seconds": None,
        "status_list_version": None,
        "status_list_age_seconds": None,
    },
    "reference_time": "2026-12-04T16:12:03+00:00",
    "online": {
        "registry_consulted": True,
        "registry_status": None,
        "identical_to_original": None,
        "successor_id": None,
    },
}

# The OpenAPI description of POST /api/v1/verifications, whose handler reads the
# body itself because it takes either JSON or a multipart upload.

VERIFICATION_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": VerificationRequest.model_json_schema(),
            "examples": {
                "qr_text": {
                    "summary": "The text a QR scanner read",
                    "value": {"qr_text": "HTTPS://WATHIQ.EXAMPLE.SA/V/WQ1.PDNLXVHC..."},
                }
            },
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A PNG, JPEG, WebP or TIFF image, or a PDF.",
                    }
                },
            }
        },
    },
}

VERIFICATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": VerificationResponse,
        "description": "The verdict, whatever it is.",
        "content": {
            "application/json": {
                "examples": {
                    "genuine": {"summary": "Genuine", "value": GENUINE_EXAMPLE},
                    "superseded": {
                        "summary": "Superseded by a newer document",
                        "value": SUPERSEDED_EXAMPLE,
                    },
                    "no_qr": {
                        "summary": "No QR code in the scan",
                        "value": NO_QR_EXAMPLE,
                    },
                }
            }
        },
    },
    413: {"model": ErrorResponse, "description": "The file is over the upload limit."},
    415: {"model": ErrorResponse, "description": "Not JSON, multipart, image or PDF."},
    422: {
        "model": ErrorResponse,
        "description": "Invalid JSON, a damaged file, or too many pixels.",
    },
    429: {"model": ErrorResponse, "description": "Too many requests; see Retry-After."},
    503: {"model": ErrorResponse, "description": "Busy, or no trust data loaded."},
}
