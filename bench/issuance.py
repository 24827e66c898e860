"""Issuance throughput: signed PDFs per second in a batch, beside signing alone.

Issues N attendance proofs through Authority.issue into a fresh data directory:
first QR texts only (sign and record), then signed PDFs (sign, render, record).
The goal is 100 PDFs per second on 2 cores.

    python bench/issuance.py [--count 40]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verify.config import Home  # noqa: E402
from verify.documents import parse_document  # noqa: E402
from verify.signing.authority import Authority  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="documents per run")
    args = parser.parse_args()

    os.environ["WATHIQ_HOME"] = tempfile.mkdtemp(prefix="wathiq-bench-")
    os.environ.setdefault("WATHIQ_KEY_PASSPHRASE", "benchmark passphrase only")
    authority = Authority(Home.from_env())
    authority.init_keys("RYD-ADM", datetime.now(UTC))
    data = json.loads((ROOT / "examples" / "attendance_proof.json").read_text("utf-8"))
    documents = []
    for number in range(args.count):
        row = json.loads(json.dumps(data))
        row["hall"] = f"قاعة {number}"
        documents.append(parse_document("attendance_proof", row))

    results = {}
    for label, with_pdf in (("signed QR texts", False), ("signed PDFs", True)):
        start = time.perf_counter()
        for document in documents:
            authority.issue(document, datetime.now(UTC), with_pdf=with_pdf)
        elapsed = time.perf_counter() - start
        results[label] = args.count / elapsed
        print(f"{label:16} {results[label]:8.1f} per second ({args.count} documents)")
    ratio = results["signed PDFs"] / results["signed QR texts"]
    print(f"PDFs / QR texts:  {ratio:.3f}; goal 100 PDFs per second")


if __name__ == "__main__":
    main()
