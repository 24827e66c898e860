"""The main job, end to end, on the sample documents: ``python -m verify.demo``.

In a fresh data directory under ``demo-out/`` it creates keys, issues both sample
documents as PDFs, makes a 150 dpi scan and a phone-photo-like image of each,
verifies every form, revokes one document, and shows a tampered copy rejected.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdfium2
from PIL import Image, ImageFilter

__all__ = ["photograph", "render_page", "run_demo"]

OUT = Path("demo-out")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def render_page(pdf: bytes, dpi: int, page: int = 0) -> Image.Image:
    """Render one page of a PDF to an RGB image at `dpi`."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[page].render(scale=dpi / 72)
        return bitmap.to_pil().convert("RGB")
    finally:
        document.close()


def _perspective_coefficients(
    source: list[tuple[float, float]], target: list[tuple[float, float]]
) -> list[float]:
    # Solve for the 8 coefficients PIL's PERSPECTIVE transform maps output to input.
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    matrix = np.array(rows, dtype=float)
    values = np.array([coordinate for point in source for coordinate in point])
    return [float(value) for value in np.linalg.solve(matrix, values)]


def photograph(page: Image.Image, seed: int = 1, skew: float = 0.06) -> Image.Image:
    """Make a phone-photo-like image of a page: perspective, rotation, light, noise."""
    rng = random.Random(seed)  # noqa: S311 - image noise, not cryptography
    width, height = page.size
    corners: list[tuple[float, float]] = [
        (0, 0),
        (width, 0),
        (width, height),
        (0, height),
    ]
    moved = [
        (x + rng.uniform(-skew, skew) * width, y + rng.uniform(-skew, skew) * height)
        for x, y in corners
    ]
    warped = page.transform(
        page.size,
        Image.Transform.PERSPECTIVE,
        _perspective_coefficients(corners, moved),
        Image.Resampling.BICUBIC,
        fillcolor=(90, 80, 70),
    )
    warped = warped.rotate(
        rng.uniform(-4, 4), Image.Resampling.BICUBIC, fillcolor=(90, 80, 70)
    )
    pixels = np.asarray(warped, dtype=np.float32)
    # Uneven light from one side, and sensor noise.
    gradient = np.linspace(0.75, 1.05, width, dtype=np.float32)[None, :, None]
    noise = np.random.default_rng(seed).normal(0, 9, pixels.shape).astype(np.float32)
    pixels = np.clip(pixels * gradient + noise, 0, 255).astype(np.uint8)
    photo = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _tampered_text(qr_text: str) -> str:
    """Change one signed claim (the case number) and re-encode without re-signing."""
    import cbor2

    from verify.payload import (
        decode_cose,
        encode_cose,
        payload_from_qr_text,
        qr_text_for,
    )

    message = decode_cose(payload_from_qr_text(qr_text))
    claims = cbor2.loads(message.payload)
    document = dict(claims[-65537])
    document[3] = document[3].replace("004471", "004472")
    claims = {**claims, -65537: document}
    cose = encode_cose(message.protected, cbor2.dumps(claims), message.signature)
    base_url = qr_text.split("/V/", 1)[0]
    return qr_text_for(cose, base_url)


def run_demo() -> int:
    from verify.cli import format_verdict
    from verify.config import Home
    from verify.documents import parse_document
    from verify.inputs import verify_file
    from verify.registry import Registry
    from verify.signing.authority import Authority
    from verify.trust import TrustStore
    from verify.verifier import verify_qr_text

    if OUT.exists():
        shutil.rmtree(OUT)
    home_dir = OUT / "home"
    os.environ["WATHIQ_HOME"] = str(home_dir)
    os.environ.setdefault(
        "WATHIQ_KEY_PASSPHRASE", "demo passphrase, not for production"
    )
    home = Home.from_env()
    now = datetime.now(UTC)

    _step("1. Create the root key, an issuing key and a status key")
    authority = Authority(home)
    for use, kid in authority.init_keys("RYD-ADM", now).items():
        print(f"   {use:10} {kid}")
    authority.publish(now)

    _step("2. Issue the two sample documents as signed Arabic PDFs")
    issued = {}
    for kind in ("judgment_copy", "attendance_proof"):
        data = json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))
        result = authority.issue(parse_document(kind, data), now, with_pdf=True)
        assert result.pdf is not None
        path = OUT / f"{kind}.pdf"
        path.write_bytes(result.pdf)
        issued[kind] = result
        chars = len(result.qr_text)
        print(f"   {kind:17} {result.document_id}  {path}  QR text {chars} chars")

    _step("3. Make a 150 dpi scan and a phone photo of each")
    files: dict[str, Path] = {}
    for kind, result in issued.items():
        assert result.pdf is not None
        scan = render_page(result.pdf, 150)
        files[f"{kind} PDF"] = OUT / f"{kind}.pdf"
        files[f"{kind} scan"] = OUT / f"{kind}-scan-150dpi.png"
        scan.save(files[f"{kind} scan"])
        files[f"{kind} photo"] = OUT / f"{kind}-photo.jpg"
        photograph(render_page(result.pdf, 200), seed=len(kind)).save(
            files[f"{kind} photo"], quality=85
        )

    registry = Registry(home.registry_path)
    store = TrustStore.load(home.trust_dir)
    outcomes: list[tuple[str, str]] = []

    def show(label: str, verdict: object, lang: str = "en") -> None:
        print(f"\n--- {label}")
        print(format_verdict(verdict, lang))  # type: ignore[arg-type]
        outcomes.append((label, verdict.status.value))  # type: ignore[attr-defined]

    _step("4. Verify the PDF, the scan, the photo and the QR text of each")
    for label, path in files.items():
        verdict = verify_file(path.read_bytes(), store, now=now, registry=registry)
        show(
            f"{label}: {path}",
            verdict,
            "ar" if "judgment" in label and "PDF" in label else "en",
        )
    for kind, result in issued.items():
        verdict = verify_qr_text(result.qr_text, store, now=now, registry=registry)
        show(f"{kind} QR text", verdict)

    _step("5. Revoke the attendance proof, then verify its scan again")
    proof = issued["attendance_proof"]
    authority.revoke(proof.document_id, "revoked", datetime.now(UTC))
    store = TrustStore.load(home.trust_dir)
    scan_bytes = files["attendance_proof scan"].read_bytes()
    show(
        "revoked proof, offline", verify_file(scan_bytes, store, now=datetime.now(UTC))
    )

    _step("6. A tampered copy: one claim changed, the PDF re-rendered")
    judgment = issued["judgment_copy"]
    tampered = _tampered_text(judgment.qr_text)
    from verify.signing.render import Letterhead, render_pdf

    content = json.loads((EXAMPLES / "judgment_copy.json").read_text("utf-8"))
    content["case_number"] = content["case_number"].replace("004471", "004472")
    forged = render_pdf(
        parse_document("judgment_copy", content),
        document_id=judgment.document_id,
        issued_at=now,
        qr_text=tampered,
        letterhead=Letterhead(
            "المحكمة الإدارية بالرياض",
            "Administrative Court in Riyadh",
            "الدائرة الإدارية السابعة",
            "Seventh Administrative Circuit",
        ),
    )
    forged_path = OUT / "judgment_copy-tampered.pdf"
    forged_path.write_bytes(forged)
    forged_scan = OUT / "judgment_copy-tampered-scan-150dpi.png"
    render_page(forged, 150).save(forged_scan)
    show(
        f"tampered scan: {forged_scan}",
        verify_file(forged_scan.read_bytes(), store, now=now),
    )

    _step("Summary")
    for label, status in outcomes:
        print(f"   {status:18} {label}")
    print(f"\nFiles to look at are in {OUT.resolve()}")
    expected_bad = {"revoked proof, offline", f"tampered scan: {forged_scan}"}
    failures = [
        label
        for label, status in outcomes
        if (status == "GENUINE") == (label in expected_bad)
    ]
    if failures:
        print("UNEXPECTED verdicts: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


def _step(title: str) -> None:
    print(f"\n=== {title}")


if __name__ == "__main__":
    sys.exit(run_demo())
