"""POST /api/v1/verifications through a real server: verdicts, inputs and errors."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest
from PIL import Image

from tests.api.conftest import Fixtures, render_scan
from verify.api.schemas import VerificationResponse
from verify.cli import main as wathiq
from verify.config import DEFAULT_BASE_URL

ENDPOINT = "/api/v1/verifications"


def verify_text(client: httpx.Client, text: str) -> httpx.Response:
    return client.post(ENDPOINT, json={"qr_text": text})


def upload(client: httpx.Client, data: bytes, name: str = "scan.png") -> httpx.Response:
    return client.post(ENDPOINT, files={"file": (name, data)})


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def png(width: int, height: int, mode: str = "L", color: int = 255) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


# Verdicts.


def test_genuine_qr_text(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    response = verify_text(client, prepared.judgment.qr_text)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "GENUINE"
    assert body["outcome"] == "genuine"
    assert body["document_id"] == prepared.judgment.document_id
    assert body["online"] == {
        "registry_consulted": True,
        "registry_status": "valid",
        "identical_to_original": None,
        "successor_id": None,
    }
    assert response.headers["cache-control"] == "no-store"


def test_answer_has_the_fields_of_cli_json(
    client: httpx.Client,
    prepared: Fixtures,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    assert prepared.judgment is not None
    monkeypatch.setenv("WATHIQ_HOME", str(prepared.home))
    # Configured like the service, the CLI also compares the code's link.
    monkeypatch.setenv("WATHIQ_BASE_URL", DEFAULT_BASE_URL)
    assert wathiq(["verify", prepared.judgment.qr_text, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    api = verify_text(client, prepared.judgment.qr_text).json()
    assert set(api) == set(cli) | {"online"}
    for name in ("status", "outcome", "document_id", "document", "reason", "kid"):
        assert api[name] == cli[name], name
    assert [c["name"] for c in api["checks"]] == [c["name"] for c in cli["checks"]]


def test_answer_matches_documented_schema(client: httpx.Client, prepared: Fixtures):
    assert prepared.superseded is not None
    for text in (prepared.superseded.qr_text, "not a code"):
        VerificationResponse.model_validate(verify_text(client, text).json())


def test_revoked_document_reports_registry_status(
    client: httpx.Client, prepared: Fixtures
):
    assert prepared.revoked is not None
    body = verify_text(client, prepared.revoked.qr_text).json()
    assert body["status"] == "REVOKED"
    assert body["outcome"] == "not_genuine"
    assert body["online"]["registry_status"] == "revoked"


def test_superseded_document_names_successor(client: httpx.Client, prepared: Fixtures):
    assert prepared.superseded is not None and prepared.successor is not None
    body = verify_text(client, prepared.superseded.qr_text).json()
    assert body["status"] == "REVOKED"
    assert body["reason"] == "superseded"
    assert body["successor_id"] == prepared.successor.document_id
    assert body["online"]["registry_status"] == "superseded"
    assert body["online"]["successor_id"] == prepared.successor.document_id


def test_forged_signature_is_not_genuine(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    text = prepared.judgment.qr_text
    # Change one base32 character near the end, inside the signature.
    position = len(text) - 5
    forged = (
        text[:position] + ("A" if text[position] != "A" else "B") + text[position + 1 :]
    )
    body = verify_text(client, forged).json()
    assert body["outcome"] != "genuine"
    assert body["status"] in {"INVALID_SIGNATURE", "MALFORMED"}
    assert body["document"] == {}


def test_foreign_qr_text_cannot_verify(client: httpx.Client):
    body = verify_text(client, "https://example.com/pay?id=1").json()
    assert body["status"] == "NOT_A_WATHIQ_CODE"
    assert body["online"]["registry_status"] is None


def test_scan_upload_png_is_genuine(
    client: httpx.Client, prepared: Fixtures, scan_png: bytes
):
    assert prepared.judgment is not None
    body = upload(client, scan_png).json()
    assert body["status"] == "GENUINE"
    assert body["document_id"] == prepared.judgment.document_id
    assert body["online"]["identical_to_original"] is None


def test_scan_upload_jpeg_is_genuine(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None and prepared.judgment.pdf is not None
    jpeg = render_scan(prepared.judgment.pdf, dpi=200, fmt="JPEG")
    body = upload(client, jpeg, "scan.jpg").json()
    assert body["status"] == "GENUINE"


def test_original_pdf_is_identical(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None and prepared.judgment.pdf is not None
    body = upload(client, prepared.judgment.pdf, "judgment.pdf").json()
    assert body["status"] == "GENUINE"
    assert body["online"]["identical_to_original"] is True


def test_altered_pdf_is_not_identical(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None and prepared.judgment.pdf is not None
    altered = prepared.judgment.pdf + b"\n% appended by an editor\n"
    body = upload(client, altered, "judgment.pdf").json()
    assert body["online"]["identical_to_original"] is False
    assert body["reason"]


def test_image_without_qr_code(client: httpx.Client):
    body = upload(client, png(400, 300)).json()
    assert body["status"] == "NO_QR_FOUND"
    assert body["outcome"] == "cannot_verify"


# Input errors.


def test_unsupported_file_type_gives_415(client: httpx.Client):
    gif = b"GIF89a" + b"\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 32
    assert_error(upload(client, gif, "scan.gif"), 415, "unsupported_media_type")


def test_corrupt_png_gives_422(client: httpx.Client):
    corrupt = png(400, 300)[:60] + b"\x00garbage" * 20
    assert_error(upload(client, corrupt), 422, "corrupt_input")


def test_corrupt_pdf_gives_422(client: httpx.Client):
    assert_error(
        upload(client, b"%PDF-1.7\n1 0 obj\n<<", "x.pdf"), 422, "corrupt_input"
    )


def test_image_over_pixel_limit_gives_422(client: httpx.Client):
    # 1-bit pixels compress to a small file that declares 64 million pixels.
    bomb = png(8000, 8000, mode="1", color=1)
    assert len(bomb) < 1024 * 1024
    assert_error(upload(client, bomb), 422, "too_many_pixels")


def test_empty_file_gives_422(client: httpx.Client):
    assert_error(upload(client, b""), 422, "empty_file")


def test_form_without_file_gives_422(client: httpx.Client):
    response = client.post(ENDPOINT, files={"other": ("x.png", b"123")})
    assert_error(response, 422, "missing_file")


def test_invalid_json_gives_422(client: httpx.Client):
    response = client.post(
        ENDPOINT, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "invalid_request")


def test_json_without_qr_text_gives_422(client: httpx.Client):
    assert_error(client.post(ENDPOINT, json={"text": "x"}), 422, "invalid_request")


def test_json_over_size_gives_413(client: httpx.Client):
    response = client.post(ENDPOINT, json={"qr_text": "A" * 20_000})
    assert_error(response, 413, "input_too_large")


def test_other_content_type_gives_415(client: httpx.Client):
    response = client.post(
        ENDPOINT, content=b"WQ1.ABC", headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_unknown_route_gives_json_404(client: httpx.Client):
    assert_error(client.get("/api/v1/nothing"), 404, "not_found")


def test_wrong_method_gives_json_405(client: httpx.Client):
    assert_error(client.get(ENDPOINT), 405, "method_not_allowed")


# The OpenAPI document.


def test_openapi_documents_both_request_kinds(client: httpx.Client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][ENDPOINT]["post"]
    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert content["application/json"]["examples"]
    answers = operation["responses"]
    assert {"200", "413", "415", "422", "429"} <= set(answers)
    examples = answers["200"]["content"]["application/json"]["examples"]
    assert {"genuine", "superseded", "no_qr"} <= set(examples)


def test_openapi_has_no_external_docs_page(client: httpx.Client):
    assert client.get("/docs").status_code == 404


def test_examples_in_openapi_match_schema():
    from verify.api.schemas import GENUINE_EXAMPLE, NO_QR_EXAMPLE, SUPERSEDED_EXAMPLE

    for example in (GENUINE_EXAMPLE, SUPERSEDED_EXAMPLE, NO_QR_EXAMPLE):
        VerificationResponse.model_validate(example)


# Mounted without a registry, as a kiosk does.


def test_router_mounts_without_registry(prepared: Fixtures):
    from fastapi import FastAPI

    from verify.api.decoding import DecodePool
    from verify.api.errors import install_error_handlers
    from verify.api.trustcache import TrustStoreCache
    from verify.api.verifications import VerificationContext, verification_router
    from verify.scanning import ScanLimits

    assert prepared.revoked is not None
    context = VerificationContext(
        trust_store=TrustStoreCache(prepared.home / "trust").get,
        registry=None,
        limits=ScanLimits(),
        decoder=DecodePool(slots=1, timeout=5.0),
    )
    app = FastAPI()
    app.include_router(verification_router(context))
    install_error_handlers(app)

    async def exchange() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as c:
            return [
                await c.post(ENDPOINT, json={"qr_text": prepared.revoked.qr_text}),
                await c.post(
                    ENDPOINT, files={"file": ("x.gif", b"GIF89a" + bytes(20))}
                ),
            ]

    verdict, unsupported = asyncio.run(exchange())
    body = verdict.json()
    assert body["status"] == "REVOKED"
    assert body["online"]["registry_consulted"] is False
    assert body["trust"]["status_list_version"] is not None
    assert_error(unsupported, 415, "unsupported_media_type")
