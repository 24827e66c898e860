"""Print the worked example of docs/payload.md, from fixed keys and inputs.

The issuing key is RFC 8032's first test key, so anyone can reproduce every byte.
tests/test_payload_doc.py checks that docs/payload.md contains this output.
"""

from __future__ import annotations

import json
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify.documents import parse_document
from verify.payload import qr_text_for
from verify.signing.keys import SigningKey
from verify.signing.signer import claims_for, sign_claims

# A published test key (RFC 8032, section 7.1, test 1), not a secret.
RFC8032_TEST1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example() -> str:
    key = SigningKey(
        Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_TEST1_SEED))
    )
    data = json.loads((EXAMPLES / "judgment_copy.json").read_text("utf-8"))
    document = parse_document("judgment_copy", data)
    claims = claims_for(
        document,
        document_id=bytes(range(16)),
        status_index=4242,
        issued_at=datetime(2026, 11, 20, 7, 0, tzinfo=UTC),
    )
    cose = sign_claims(claims, key)
    text = qr_text_for(cose, "https://wathiq.example.sa")
    lines = [
        f"kid: {key.kid.hex()}",
        f"content digest: {document.digest.hex()}",
        f"COSE_Sign1 ({len(cose)} bytes):",
    ]
    lines += [cose[i : i + 32].hex() for i in range(0, len(cose), 32)]
    compressed = zlib.compress(cose, 9)
    lines.append(f"zlib stream: {len(compressed)} bytes")
    lines.append(f"QR text ({len(text)} characters):")
    lines += [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(example())
