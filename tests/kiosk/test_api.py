"""The kiosk's local HTTP endpoints, on a real uvicorn server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from kiosk.app import KioskState
from kiosk.app import create_app as create_kiosk
from kiosk.bundle import TrustBundle
from kiosk.settings import KioskHome, KioskSettings
from tests.kiosk.camera import blank_picture, photograph, render_page
from tests.kiosk.conftest import World
from tests.kiosk.court import FOREIGN_QR_TEXT
from tests.kiosk.running import RunningKiosk, running_kiosk
from verify.api.errors import status_for
from verify.config import Home
from verify.errors import (
    CorruptInput,
    InputTooLarge,
    TooManyPixels,
    TrustDataError,
    UnknownFormat,
)
from verify.scanning import MAX_BYTES
from verify.trust import TrustStore

VERIFICATIONS = "/api/v1/verifications"


@pytest.fixture
def kiosk(home: Home, installed: TrustBundle) -> Iterator[RunningKiosk]:
    with running_kiosk(home) as running:
        yield running


@pytest.fixture
def client(kiosk: RunningKiosk) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=kiosk.url, timeout=30) as client:
        yield client


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    output = io.BytesIO()
    image.save(output, "JPEG", quality=quality)
    return output.getvalue()


def png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


@pytest.fixture(scope="module")
def photo(world: World) -> bytes:
    assert world.genuine.pdf is not None
    return jpeg(photograph(render_page(world.genuine.pdf), seed=3))


def test_qr_text_genuine(client: httpx.Client, world: World):
    response = client.post(VERIFICATIONS, json={"qr_text": world.genuine.qr_text})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    verdict = response.json()
    assert verdict["status"] == "GENUINE"
    assert verdict["outcome"] == "genuine"
    assert verdict["document_id"] == world.genuine.document_id
    assert verdict["document"]["case_number"] == "ADM-1447-004471"


@pytest.mark.parametrize(
    ("document", "status", "outcome"),
    [
        ("tampered", "INVALID_SIGNATURE", "not_genuine"),
        ("revoked", "REVOKED", "not_genuine"),
        ("foreign", "NOT_A_WATHIQ_CODE", "cannot_verify"),
        ("attendance", "GENUINE", "genuine"),
    ],
)
def test_qr_text_statuses(
    client: httpx.Client, world: World, document: str, status: str, outcome: str
):
    text = {
        "tampered": world.tampered_text,
        "revoked": world.revoked.qr_text,
        "foreign": FOREIGN_QR_TEXT,
        "attendance": world.attendance.qr_text,
    }[document]
    verdict = client.post(VERIFICATIONS, json={"qr_text": text}).json()
    assert verdict["status"] == status
    assert verdict["outcome"] == outcome


def test_pdf_upload_genuine(client: httpx.Client, world: World):
    assert world.genuine.pdf is not None
    files = {"file": ("judgment.pdf", world.genuine.pdf, "application/pdf")}
    response = client.post(VERIFICATIONS, files=files)
    assert response.status_code == 200
    assert response.json()["status"] == "GENUINE"


def test_photo_upload_genuine(client: httpx.Client, photo: bytes):
    response = client.post(VERIFICATIONS, files={"file": ("photo.jpg", photo)})
    assert response.status_code == 200
    assert response.json()["status"] == "GENUINE"


def test_image_without_qr_code(client: httpx.Client):
    response = client.post(
        VERIFICATIONS, files={"file": ("desk.png", png(blank_picture()))}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "NO_QR_FOUND"


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    return str(body["error"]["code"])


def test_upload_over_byte_limit(client: httpx.Client):
    too_large = b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024)
    response = client.post(VERIFICATIONS, files={"file": ("big.png", too_large)})
    assert response.status_code == 413
    assert error_of(response) == status_for(InputTooLarge(""))[1]


def test_upload_of_unknown_format(client: httpx.Client):
    response = client.post(VERIFICATIONS, files={"file": ("notes.txt", b"hello")})
    assert response.status_code == 415
    assert error_of(response) == status_for(UnknownFormat(""))[1]


def test_upload_of_truncated_png(client: httpx.Client):
    damaged = png(blank_picture())[:2000]
    response = client.post(VERIFICATIONS, files={"file": ("cut.png", damaged)})
    assert response.status_code == 422
    assert error_of(response) == status_for(CorruptInput(""))[1]


def test_upload_over_pixel_limit(client: httpx.Client):
    # 7000 × 7000 white pixels make a PNG file of about 20 KB.
    huge = png(Image.new("1", (7000, 7000), 1))
    response = client.post(VERIFICATIONS, files={"file": ("huge.png", huge)})
    assert response.status_code == 422
    assert error_of(response) == status_for(TooManyPixels(""))[1]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", {400, 422}),
        (b'{"qr_text": 7}', "application/json", {422}),
        (b'{"text": "x"}', "application/json", {422}),
        (
            b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            {422},
        ),
        (b"x", "text/plain", {415}),
    ],
)
def test_invalid_requests(
    client: httpx.Client, content: bytes, content_type: str, status: set[int]
):
    # The error codes are the service's; test_same_json_as_api_service compares them.
    response = client.post(
        VERIFICATIONS, content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code in status
    assert error_of(response)


def test_foreign_host_header_rejected(client: httpx.Client, world: World):
    response = client.post(
        VERIFICATIONS,
        json={"qr_text": world.genuine.qr_text},
        headers={"Host": "attacker.example"},
    )
    assert response.status_code == 400


def test_kiosk_without_bundle(home: Home, world: World):
    with running_kiosk(home) as kiosk:
        api = httpx.post(
            kiosk.url + VERIFICATIONS, json={"qr_text": world.genuine.qr_text}
        )
        screen = httpx.post(
            kiosk.url + "/kiosk/text", json={"qr_text": world.genuine.qr_text}
        )
    assert api.status_code == 503
    assert error_of(api) == status_for(TrustDataError(""))[1]
    assert screen.json()["screen"]["status"] == "INDETERMINATE"
    assert screen.json()["screen"]["outcome"] == "cannot_verify"


def test_damaged_bundle_cannot_verify(home: Home, installed: TrustBundle, world: World):
    link = KioskHome.from_home(home).trust_link
    (link / "keys.json").write_text("{damaged")
    with running_kiosk(home) as kiosk:
        api = httpx.post(
            kiosk.url + VERIFICATIONS, json={"qr_text": world.genuine.qr_text}
        )
        screen = httpx.post(
            kiosk.url + "/kiosk/text", json={"qr_text": world.genuine.qr_text}
        )
        status = httpx.get(kiosk.url + "/kiosk/status")
    assert api.status_code == 503
    assert screen.json()["screen"]["outcome"] == "cannot_verify"
    assert status.json()["trust"]["installed"] is False


def test_frame_with_document(client: httpx.Client, photo: bytes):
    response = client.post(
        "/kiosk/frame", content=photo, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["found"] is True
    assert body["screen"]["status"] == "GENUINE"
    assert body["screen"]["fields"]


def test_frame_without_document(client: httpx.Client, kiosk: RunningKiosk):
    frame = jpeg(blank_picture())
    response = client.post(
        "/kiosk/frame", content=frame, headers={"Content-Type": "image/jpeg"}
    )
    assert response.json() == {"found": False}
    assert kiosk.state.counts.checks() == []


def test_frame_that_is_not_jpeg(client: httpx.Client):
    response = client.post(
        "/kiosk/frame",
        content=png(blank_picture()),
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 415


def test_rating_counted_once(client: httpx.Client, kiosk: RunningKiosk, world: World):
    body = client.post("/kiosk/text", json={"qr_text": world.genuine.qr_text}).json()
    token = body["rating_token"]
    assert (
        client.post(
            "/kiosk/rating", json={"token": token, "rating": "good"}
        ).status_code
        == 204
    )
    again = client.post("/kiosk/rating", json={"token": token, "rating": "poor"})
    assert again.status_code == 409
    wrong = client.post("/kiosk/rating", json={"token": token, "rating": "great"})
    assert wrong.status_code == 422
    today = datetime.now(UTC).date().isoformat()
    assert kiosk.state.counts.ratings() == [
        {"day": today, "rating": "good", "count": 1}
    ]


def test_screen_checks_counted_by_source_and_status(
    client: httpx.Client, kiosk: RunningKiosk, world: World, photo: bytes
):
    client.post("/kiosk/text", json={"qr_text": world.genuine.qr_text})
    client.post("/kiosk/text", json={"qr_text": world.genuine.qr_text})
    client.post("/kiosk/text", json={"qr_text": world.revoked.qr_text})
    client.post("/kiosk/file", content=b"not a file we read")
    client.post(VERIFICATIONS, json={"qr_text": world.genuine.qr_text})
    today = datetime.now(UTC).date().isoformat()
    assert kiosk.state.counts.checks() == [
        {
            "day": today,
            "source": "file",
            "status": "UNSUPPORTED_INPUT",
            "outcome": "cannot_verify",
            "count": 1,
        },
        {
            "day": today,
            "source": "scanner",
            "status": "GENUINE",
            "outcome": "genuine",
            "count": 2,
        },
        {
            "day": today,
            "source": "scanner",
            "status": "REVOKED",
            "outcome": "not_genuine",
            "count": 1,
        },
    ]


def test_page_forbids_other_origins_and_caching(client: httpx.Client):
    response = client.get("/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    assert 'dir="rtl"' in response.text
    assert "http" not in response.text.replace("http-equiv", "")


@pytest.fixture
def service_home(tmp_path: Path, world: World) -> Home:
    """A data directory for the API service holding the kiosk's trust data and no
    registry, so the service verifies offline like the kiosk."""
    home = Home(tmp_path / "service")
    store = TrustStore.pin(home.trust_dir, world_root_jwk(world))
    now = datetime.now(UTC)
    store.accept_key_list((world.bundle / "keys.json").read_bytes(), now)
    store.accept_status_list((world.bundle / "status.json").read_bytes(), now)
    return home


def world_root_jwk(world: World) -> dict[str, str]:
    root = json.loads((world.bundle / "root.json").read_bytes())
    assert root["kid"] == world.court.root_kid
    return dict(root["jwk"])


def test_same_json_as_api_service(
    home: Home, installed: TrustBundle, service_home: Home, world: World, photo: bytes
):
    from verify.api.app import create_app as create_service
    from verify.api.settings import Settings

    moment = datetime.now(UTC)
    service = create_service(
        Settings(home=service_home.root, environment="development", staff_api=False),
        clock=lambda: moment,
    )
    settings = KioskSettings(_env_file=None)
    kiosk = create_kiosk(KioskState.open(home, settings, clock=lambda: moment))
    assert world.genuine.pdf is not None
    requests = [
        {"json": {"qr_text": world.genuine.qr_text}},
        {"json": {"qr_text": world.tampered_text}},
        {"json": {"qr_text": world.revoked.qr_text}},
        {"json": {"qr_text": FOREIGN_QR_TEXT}},
        {"files": {"file": ("judgment.pdf", world.genuine.pdf)}},
        {"files": {"file": ("photo.jpg", photo)}},
        {"files": {"file": ("desk.png", png(blank_picture()))}},
        {"files": {"file": ("notes.txt", b"hello")}},
        {"files": {"file": ("cut.png", png(blank_picture())[:2000])}},
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
    ]
    with (
        TestClient(service, base_url="http://127.0.0.1") as service_client,
        TestClient(kiosk, base_url="http://127.0.0.1") as kiosk_client,
    ):
        for request in requests:
            expected = service_client.post(VERIFICATIONS, **request)
            actual = kiosk_client.post(VERIFICATIONS, **request)
            assert actual.status_code == expected.status_code, request
            assert actual.json() == expected.json(), request


def test_oversized_file_gets_a_verdict(client: httpx.Client):
    response = client.post("/kiosk/file", content=b"\xff" * (MAX_BYTES + 1024))
    assert response.status_code == 200
    screen = response.json()["screen"]
    assert screen["status"] == "UNSUPPORTED_INPUT"
    assert "too large" in screen["status_text"]["en"]
