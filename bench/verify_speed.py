"""Full QR-text verifications per second against raw Ed25519 verifications.

Both are measured in the same run on the same signed bytes: the raw figure is
cryptography's Ed25519 verify of the COSE Sig_structure, the full figure is
verify_qr_text on the QR text (decode, inflate, CBOR, key lookup, strict signature
check, claims, key trust, expiry, status list). Prints medians of several rounds
and their ratio; the goal is a ratio of at least 0.7.

    python bench/verify_speed.py [--seconds 0.5] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.simulator import T0, SimulatedIssuer
from verify.payload import decode_cose, payload_from_qr_text
from verify.verdict import Status
from verify.verifier import verify_qr_text


def rate(function, seconds: float) -> float:
    """Calls per second of `function` over about `seconds`."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            function()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    issuer = SimulatedIssuer()
    store = issuer.store(Path(tempfile.mkdtemp()))
    now = T0 + timedelta(hours=2)
    text = issuer.qr_text(issuer.claims())
    message = decode_cose(payload_from_qr_text(text))
    public = Ed25519PublicKey.from_public_bytes(issuer.issuing.key.public_key)
    signed = message.to_be_signed()
    assert verify_qr_text(text, store, now=now).status is Status.GENUINE

    def raw() -> None:
        public.verify(message.signature, signed)

    def full() -> None:
        verify_qr_text(text, store, now=now)

    raw_rates, full_rates, ratios = [], [], []
    for _ in range(args.rounds):
        raw_rate = rate(raw, args.seconds)
        full_rate = rate(full, args.seconds)
        raw_rates.append(raw_rate)
        full_rates.append(full_rate)
        ratios.append(full_rate / raw_rate)
    print(f"QR text: {len(text)} characters")
    print(f"raw Ed25519 verify:  median {statistics.median(raw_rates):9.0f} per second")
    print(
        f"full verification:   median {statistics.median(full_rates):9.0f} per second"
    )
    print(f"ratio full / raw:    median {statistics.median(ratios):.2f} (goal >= 0.70)")


if __name__ == "__main__":
    main()
