"""Upload size, rate and decode-time limits, each on a server with small limits."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.api.conftest import Fixtures, Server, start_server

ENDPOINT = "/api/v1/verifications"


@pytest.fixture
def start(prepared: Fixtures, tmp_path: Path) -> Iterator[object]:
    """Start a server with the given WATHIQ_ settings; stop it after the test."""
    servers: list[Server] = []

    def starter(**settings: str) -> Server:
        server = start_server(prepared.home, tmp_path / "server.log", **settings)
        servers.append(server)
        return server

    yield starter
    for server in servers:
        server.stop()


def noise_jpeg(width: int, height: int) -> bytes:
    """A photo-like image without a QR code, which every decode attempt reads."""
    generator = random.Random(7)
    image = Image.frombytes(
        "L", (width, height), generator.randbytes(width * height)
    ).resize((width * 2, height * 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_upload_over_limit_gives_413(start, scan_png: bytes):
    server = start(max_upload_bytes=str(len(scan_png) - 1))
    with server.client() as client:
        response = client.post(ENDPOINT, files={"file": ("scan.png", scan_png)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "input_too_large"


def test_upload_at_limit_is_verified(start, scan_png: bytes):
    server = start(max_upload_bytes=str(len(scan_png)))
    with server.client() as client:
        response = client.post(ENDPOINT, files={"file": ("scan.png", scan_png)})
    assert response.status_code == 200
    assert response.json()["status"] == "GENUINE"


def test_declared_body_over_limit_is_refused_unread(start):
    server = start(max_upload_bytes="100000")
    body = b"x" * 400_000
    with server.client() as client:
        response = client.post(
            ENDPOINT,
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "input_too_large"


def test_streamed_body_over_limit_gives_413(start):
    server = start(max_upload_bytes="100000")

    def chunks() -> Iterator[bytes]:
        # No Content-Length: the body arrives chunked and is counted as it comes.
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file";'
            b' filename="scan.png"\r\nContent-Type: image/png\r\n\r\n'
        )
        for _ in range(50):
            yield b"y" * 10_000

    with server.client() as client:
        response = client.post(
            ENDPOINT,
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "input_too_large"


def test_verification_rate_limit_gives_429(start, prepared: Fixtures):
    assert prepared.judgment is not None
    server = start(verify_rate_per_minute="1", verify_burst="2")
    with server.client() as client:
        statuses = [
            client.post(ENDPOINT, json={"qr_text": prepared.judgment.qr_text})
            for _ in range(3)
        ]
        page = client.get(f"/v/{prepared.judgment.payload}")
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[2]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert page.status_code == 429


def test_download_rate_limit_gives_429(start, prepared: Fixtures):
    assert prepared.judgment is not None
    server = start(download_rate_per_hour="1", download_burst="1")
    url = f"/v/{prepared.judgment.payload}/original.pdf"
    with server.client() as client:
        first = client.get(url)
        second = client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) > 60


def test_slow_decode_times_out_with_422(start):
    server = start(decode_timeout_seconds="0.001", decode_threads="1")
    with server.client() as client:
        response = client.post(
            ENDPOINT, files={"file": ("photo.jpg", noise_jpeg(900, 900))}
        )
        health = client.get("/healthz")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "decode_timeout"
    assert health.status_code == 200


def test_abandoned_decode_keeps_its_slot_busy(start):
    server = start(decode_timeout_seconds="0.001", decode_threads="1")
    photo = noise_jpeg(900, 900)
    with server.client() as client:
        first = client.post(ENDPOINT, files={"file": ("photo.jpg", photo)})
        second = client.post(ENDPOINT, files={"file": ("photo.jpg", photo)})
        metrics = client.get("/metrics").text
    assert first.json()["error"]["code"] == "decode_timeout"
    assert second.status_code == 503
    assert second.json()["error"]["code"] == "busy"
    assert second.headers["retry-after"]
    assert 'wathiq_decode_rejections_total{reason="busy"} 1.0' in metrics
