"""Operations: health, readiness, metrics, published lists, logs and settings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.api.conftest import (
    REPO,
    Fixtures,
    Server,
    issue,
    server_env,
    start_server,
)
from verify.api.app import create_app
from verify.api.settings import Settings, UnsafeSettings


def test_healthz(client: httpx.Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_ready(client: httpx.Client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"trust_store": "ok", "registry": "ok"}


def test_not_ready_without_trust_store(tmp_path: Path):
    server = start_server(tmp_path / "empty-home", tmp_path / "server.log")
    try:
        with server.client() as client:
            ready = client.get("/readyz")
            verification = client.post(
                "/api/v1/verifications", json={"qr_text": "WQ1.AAAA"}
            )
            page = client.get("/v/WQ1.AAAA")
    finally:
        server.stop()
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "not_ready"
    assert "no pinned root key" in ready.json()["checks"]["trust_store"]
    assert verification.status_code == 503
    assert verification.json()["error"]["code"] == "trust_data_unavailable"
    assert page.status_code == 503


# Metrics.


def test_metrics_count_verifications(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None and prepared.revoked is not None
    for text in (prepared.judgment.qr_text, prepared.revoked.qr_text):
        client.post("/api/v1/verifications", json={"qr_text": text})
    text = client.get("/metrics").text
    genuine = re.search(
        r'wathiq_verifications_total\{source="text",status="GENUINE"\} (\S+)', text
    )
    assert genuine and float(genuine.group(1)) >= 1
    assert 'wathiq_verifications_total{source="text",status="REVOKED"}' in text
    assert (
        'wathiq_verification_duration_seconds_bucket{le="0.05",source="text"}' in text
    )
    assert (
        'wathiq_verification_duration_seconds_bucket{le="300.0",source="text"}' in text
    )
    assert "wathiq_verifications_within_target_ratio 1.0" in text
    assert 'route="/api/v1/verifications"' in text


def test_metrics_never_name_payloads(client: httpx.Client, prepared: Fixtures):
    assert prepared.judgment is not None
    client.get(f"/v/{prepared.judgment.payload}")
    text = client.get("/metrics").text
    assert 'route="/v/{payload}"' in text
    assert prepared.judgment.payload not in text


# The published lists.


@pytest.mark.parametrize(("name", "max_age"), [("keys.json", 300), ("status.json", 60)])
def test_published_list_has_etag_and_cache_control(
    client: httpx.Client, prepared: Fixtures, name: str, max_age: int
):
    response = client.get(f"/.well-known/wathiq/{name}")
    assert response.status_code == 200
    assert response.content == (prepared.home / "public" / name).read_bytes()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == f"public, max-age={max_age}"
    assert response.headers["access-control-allow-origin"] == "*"
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    cached = client.get(f"/.well-known/wathiq/{name}", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag


def test_status_list_etag_changes_after_revocation(
    client: httpx.Client, prepared: Fixtures
):
    assert prepared.attendance is not None
    before = client.get("/.well-known/wathiq/status.json").headers["etag"]
    authority = prepared.authority()
    extra = issue(authority, "judgment_copy", with_pdf=False)
    authority.revoke(extra.document_id, "revoked", datetime.now(UTC))
    after = client.get("/.well-known/wathiq/status.json")
    assert after.headers["etag"] != before
    stale = client.get(
        "/.well-known/wathiq/status.json", headers={"If-None-Match": before}
    )
    assert stale.status_code == 200


# Request ids and logs.


def test_request_id_is_echoed_or_made(client: httpx.Client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "kiosk-7.42"})
    assert echoed.headers["x-request-id"] == "kiosk-7.42"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\x7f" * 3})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


def test_logs_hold_no_payloads_names_or_tokens(
    client: httpx.Client, server: Server, prepared: Fixtures, scan_png: bytes
):
    assert prepared.judgment is not None
    client.get(f"/v/{prepared.judgment.payload}")
    client.get(f"/V/{prepared.judgment.payload}/original.pdf")
    client.post("/api/v1/verifications", json={"qr_text": prepared.judgment.qr_text})
    client.post("/api/v1/verifications", files={"file": ("scan.png", scan_png)})
    client.get("/api/v1/audit", headers=prepared.headers("auditor"))
    client.get("/api/v1/audit", headers=prepared.headers("issuer"))
    client.get("/api/v1/audit", headers={"Authorization": "Bearer wqt_guess"})
    marker = client.get("/healthz", headers={"X-Request-ID": "log-check-1"})
    assert marker.status_code == 200
    # The server writes its access line after the response, so wait for it.
    deadline = time.monotonic() + 10
    while "log-check-1" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "log-check-1" for line in lines)
    assert any(line.get("route") == "/v/{payload}" for line in lines)
    body = prepared.judgment.payload.split(".", 1)[1]
    assert body[:40] not in log
    for token in prepared.tokens.values():
        assert token not in log
    assert "wqt_guess" not in log
    for name in ("عبدالرحمن", "الدوسري", "القحطاني"):
        assert name not in log


# Settings.


def test_production_refuses_unsafe_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WATHIQ_ENVIRONMENT", "production")
    monkeypatch.setenv("WATHIQ_VERIFY_RATE_PER_MINUTE", "0")
    monkeypatch.delenv("WATHIQ_HOME", raising=False)
    settings = Settings()
    with pytest.raises(UnsafeSettings) as raised:
        settings.check_production()
    message = str(raised.value)
    assert "WATHIQ_HOME is not set" in message
    assert "WATHIQ_BASE_URL is the example" in message
    assert "rate limit is 0" in message
    with pytest.raises(UnsafeSettings):
        create_app(settings)


def test_production_refuses_unencrypted_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("WATHIQ_INSECURE_UNENCRYPTED_KEYS", "1")
    settings = Settings(home=tmp_path, base_url="https://verify.court.example")
    with pytest.raises(UnsafeSettings, match="unencrypted"):
        settings.check_production()


def test_production_accepts_safe_settings(tmp_path: Path):
    settings = Settings(
        home=tmp_path, base_url="https://verify.court.example", environment="production"
    )
    settings.check_production()
    create_app(settings)


def test_development_allows_defaults_with_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("WATHIQ_HOME", raising=False)
    settings = Settings(environment="development")
    settings.check_production()
    assert "WATHIQ_HOME is not set" in caplog.text


def test_invalid_setting_is_rejected(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WATHIQ_DECODE_TIMEOUT_SECONDS", "-1")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("WATHIQ_DECODE_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("WATHIQ_BASE_URL", "ftp://files")
    with pytest.raises(ValidationError):
        Settings()


def serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "verify.cli", "serve", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_unsafe_production(tmp_path: Path):
    env = server_env(tmp_path, environment="production")
    result = serve(env)
    assert result.returncode == 1
    assert "WATHIQ_BASE_URL is the example" in result.stderr


def test_serve_reports_invalid_settings(tmp_path: Path):
    result = serve(server_env(tmp_path, decode_threads="zero"))
    assert result.returncode == 2
    assert "invalid settings" in result.stderr
    assert "decode_threads" in result.stderr
