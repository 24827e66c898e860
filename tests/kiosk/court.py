"""A real issuing court for kiosk tests: keys, documents and published bundles.

It drives `Authority` in its own data directory, the way ``wathiq keys init``,
``wathiq issue``, ``wathiq revoke`` and ``wathiq keys publish`` do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from verify.config import Home
from verify.documents import parse_document
from verify.payload import (
    decode_claims,
    decode_cose,
    encode_claims,
    encode_cose,
    payload_from_qr_text,
    qr_text_for,
)
from verify.signing.authority import Authority, IssuedDocument

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE_URL = "HTTPS://WATHIQ.EXAMPLE.SA"
FOREIGN_QR_TEXT = "HTTPS://PAY.EXAMPLE.COM/INVOICE/2026-000417"


def example(kind: str) -> dict:
    return json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))


@dataclass
class Court:
    home: Home
    authority: Authority
    root_kid: str
    documents_kid: str

    @classmethod
    def create(cls, directory: Path, at: datetime) -> Court:
        """Create the court's keys at `at`; WATHIQ_KEY_PASSPHRASE must be set."""
        home = Home(directory)
        authority = Authority(home)
        created = authority.init_keys("RYD-ADM", at)
        return cls(home, authority, created["root"], created["documents"])

    def issue(
        self, kind: str, at: datetime, *, with_pdf: bool = False
    ) -> IssuedDocument:
        return self.authority.issue(
            parse_document(kind, example(kind)), at, with_pdf=with_pdf
        )

    def revoke(self, document_id: str, at: datetime) -> None:
        self.authority.revoke(document_id, "revoked", at)

    def publish(self, out: Path, at: datetime | None = None) -> Path:
        """Write keys.json, status.json and root.json to `out`, as of `at`."""
        self.authority.publish(at or datetime.now(UTC), out)
        return out


def tampered_qr_text(qr_text: str) -> str:
    """Return `qr_text` with the plaintiff's name changed and the signature kept."""
    message = decode_cose(payload_from_qr_text(qr_text))
    claims = decode_claims(message.payload)
    parties = list(claims.fields["parties"])
    parties[0] = (parties[0][0], "شخص آخر غير المدعي")
    altered = replace(claims, fields={**claims.fields, "parties": parties})
    payload = encode_claims(altered)
    assert payload != message.payload
    cose = encode_cose(message.protected, payload, message.signature)
    return qr_text_for(cose, BASE_URL)


def document_secrets(kind: str, document_id: str) -> list[bytes]:
    """Return byte strings that must never be stored: the id and every name."""
    content = example(kind)
    names = [document_id, content["case_number"]]
    if kind == "judgment_copy":
        names += [party["name"] for party in content["parties"]]
    else:
        names += [content["attendee"]["name"], content["attendee"]["national_id"]]
    return [name.encode("utf-8") for name in names]


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
