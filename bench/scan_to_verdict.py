"""Scan to verdict for a 300 dpi A4 scan of an issued document.

Issues a judgment copy, renders its PDF to a 300 dpi PNG and JPEG "scan", and times
verify_file (file bytes to verdict: decode the image, find and read the QR code,
verify) beside zxing-cpp alone on the already decoded page, in the same run.
The goal is under 150 ms median.

    python bench/scan_to_verdict.py [--runs 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import zxingcpp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verify.config import Home  # noqa: E402
from verify.demo import render_page  # noqa: E402
from verify.documents import parse_document  # noqa: E402
from verify.inputs import verify_file  # noqa: E402
from verify.signing.authority import Authority  # noqa: E402
from verify.trust import TrustStore  # noqa: E402
from verify.verdict import Status  # noqa: E402


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    os.environ["WATHIQ_HOME"] = tempfile.mkdtemp(prefix="wathiq-bench-")
    os.environ.setdefault("WATHIQ_KEY_PASSPHRASE", "benchmark passphrase only")
    authority = Authority(Home.from_env())
    now = datetime.now(UTC)
    authority.init_keys("RYD-ADM", now)
    authority.publish(now)
    data = json.loads((ROOT / "examples" / "judgment_copy.json").read_text("utf-8"))
    issued = authority.issue(parse_document("judgment_copy", data), now, with_pdf=True)
    assert issued.pdf is not None
    store = TrustStore.load(authority.home.trust_dir)
    page = render_page(issued.pdf, 300)
    gray = np.asarray(page.convert("L"))

    inputs = {}
    for kind, options in (("PNG", {}), ("JPEG", {"quality": 85})):
        buffer = io.BytesIO()
        page.save(buffer, kind, **options)
        inputs[f"300 dpi {kind} scan"] = buffer.getvalue()
    inputs["issued PDF"] = issued.pdf

    raw = median_ms(lambda: zxingcpp.read_barcodes(gray), args.runs)
    print(f"zxing-cpp alone on the decoded 300 dpi page: {raw:7.1f} ms median")
    for label, payload in inputs.items():
        verdict = verify_file(payload, store, now=now)
        assert verdict.status is Status.GENUINE, verdict.status
        took = median_ms(
            lambda payload=payload: verify_file(payload, store, now=now), args.runs
        )
        print(
            f"{label:22} to verdict: {took:7.1f} ms median,"
            f" {took / raw:5.1f} x raw decode (goal < 150 ms)"
        )


if __name__ == "__main__":
    main()
