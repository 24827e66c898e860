"""A simulated issuer that can mint rotated, expired, revoked and forged documents.

It keeps its keys in memory and builds key lists and status lists directly, so a
test can set every version, time, status and signer without the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verify.crypto import jwk_from_public_key
from verify.documents import DOCUMENT_TYPES, Document, parse_document
from verify.payload import DocumentClaims, qr_text_for
from verify.signing.keys import SigningKey
from verify.signing.publish import build_key_list, build_status_list
from verify.signing.signer import claims_for, new_document_id, sign_claims
from verify.trust import TrustStore

BASE_URL = "HTTPS://WATHIQ.EXAMPLE.SA"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SIZE = 131_072

JUDGMENT = {
    "court": "RYD-ADM",
    "circuit": "C07",
    "case_number": "ADM-1447-004471",
    "judgment_date": "2026-11-18",
    "parties": [
        {"role": "plaintiff", "name": "عبدالرحمن بن سليمان بن عبدالعزيز الدوسري"},
        {"role": "defendant", "name": "وزارة الشؤون البلدية والقروية والإسكان"},
    ],
    "subject": "دعوى إلغاء قرار إداري",
    "operative_part": "حكمت الدائرة بإلغاء القرار.",
    "judges": ["القاضي محمد بن أحمد العتيبي"],
}

ATTENDANCE = {
    "court": "RYD-ADM",
    "circuit": "C07",
    "case_number": "ADM-1447-004471",
    "attendee": {
        "name": "نورة بنت عبدالله بن محمد القحطاني",
        "capacity": "attorney",
        "national_id": "1087654321",
    },
    "session_start": "2026-11-18T09:30:00+03:00",
    "session_end": "2026-11-18T10:15:00+03:00",
    "hall": "قاعة 4",
    "purpose": "حضور جلسة",
}


def new_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


@dataclass
class SimKey:
    key: SigningKey
    use: str = "documents"
    court: str = "RYD-ADM"
    types: list[str] = field(default_factory=lambda: list(DOCUMENT_TYPES))
    valid_from: datetime = T0
    valid_until: datetime | None = None
    status: str = "active"
    compromised_at: datetime | None = None

    def row(self) -> dict[str, Any]:
        return {
            "kid": self.key.kid.hex(),
            "jwk": jwk_from_public_key(self.key.public_key),
            "use": self.use,
            "court": self.court,
            "document_types": self.types,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "status": self.status,
            "compromised_at": (
                self.compromised_at.isoformat() if self.compromised_at else None
            ),
        }


class SimulatedIssuer:
    def __init__(self) -> None:
        self.root = new_key()
        self.issuing = SimKey(new_key())
        self.status_key = SimKey(new_key(), use="status", types=[])
        self.keys: list[SimKey] = [self.issuing, self.status_key]
        self.key_version = 0
        self.status_version = 0
        self.revoked: dict[int, str] = {}

    def pin(self, directory: Path) -> TrustStore:
        return TrustStore.pin(directory, jwk_from_public_key(self.root.public_key))

    def key_list(
        self,
        issued_at: datetime = T0,
        *,
        version: int | None = None,
        lifetime: timedelta = timedelta(days=30),
        root: SigningKey | None = None,
        previous_roots: tuple[SigningKey, ...] = (),
    ) -> bytes:
        if version is None:
            self.key_version += 1
            version = self.key_version
        return build_key_list(
            version=version,
            issued_at=issued_at,
            expires_at=issued_at + lifetime,
            root=root or self.root,
            keys=[key.row() for key in self.keys],
            courts={"RYD-ADM": {"name_ar": "المحكمة الإدارية بالرياض"}},
            previous_roots=previous_roots,
        )

    def status_list(
        self,
        issued_at: datetime = T0,
        *,
        version: int | None = None,
        lifetime: timedelta = timedelta(days=7),
        signer: SigningKey | None = None,
    ) -> bytes:
        if version is None:
            self.status_version += 1
            version = self.status_version
        return build_status_list(
            version=version,
            issued_at=issued_at,
            expires_at=issued_at + lifetime,
            size=SIZE,
            entries=sorted(self.revoked.items()),
            signer=signer or self.status_key.key,
        )

    def store(self, directory: Path, at: datetime = T0) -> TrustStore:
        store = self.pin(directory)
        store.accept_key_list(self.key_list(at), at)
        store.accept_status_list(self.status_list(at), at)
        return store

    def claims(
        self,
        kind: str = "judgment_copy",
        *,
        issued_at: datetime = T0 + timedelta(hours=1),
        status_index: int = 7,
        content: dict[str, Any] | None = None,
    ) -> DocumentClaims:
        data = content or (JUDGMENT if kind == "judgment_copy" else ATTENDANCE)
        document: Document = parse_document(kind, data)
        return claims_for(
            document,
            document_id=new_document_id(),
            status_index=status_index,
            issued_at=issued_at,
        )

    def sign(self, claims: DocumentClaims, key: SigningKey | None = None) -> bytes:
        return sign_claims(claims, key or self.issuing.key)

    def qr_text(self, claims: DocumentClaims, key: SigningKey | None = None) -> str:
        return qr_text_for(self.sign(claims, key), BASE_URL)
