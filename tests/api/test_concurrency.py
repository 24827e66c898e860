"""Concurrent issuance and verification on one SQLite file, with two workers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Fixtures, Server, example, issue, start_server

ISSUES_OVER_API = 16
ISSUES_IN_PROCESS = 4
TEXT_VERIFICATIONS = 40
SCAN_VERIFICATIONS = 6


@pytest.fixture(scope="module")
def two_workers(
    prepared: Fixtures, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log_path = tmp_path_factory.mktemp("logs") / "server.log"
    server = start_server(
        prepared.home,
        log_path,
        workers=2,
        verify_rate_per_minute="100000",
        verify_burst="10000",
        decode_threads="4",
    )
    yield server
    server.stop()


def test_concurrent_issuance_and_verification(
    two_workers: Server, prepared: Fixtures, scan_png: bytes, tmp_path: Path
):
    assert prepared.judgment is not None and prepared.revoked is not None
    texts = [prepared.judgment.qr_text, prepared.revoked.qr_text]
    expected = {
        prepared.judgment.qr_text: "GENUINE",
        prepared.revoked.qr_text: "REVOKED",
    }
    issuer = prepared.headers("issuer")

    def issue_over_api(number: int) -> httpx.Response:
        fields = {**example("judgment_copy"), "case_number": f"ADM-1447-{number:06d}"}
        with two_workers.client() as client:
            return client.post(
                "/api/v1/documents",
                json={"type": "judgment_copy", "fields": fields},
                headers=issuer,
            )

    def verify_text(number: int) -> tuple[str, httpx.Response]:
        text = texts[number % 2]
        with two_workers.client() as client:
            return text, client.post("/api/v1/verifications", json={"qr_text": text})

    def verify_scan(number: int) -> httpx.Response:
        with two_workers.client() as client:
            return client.post(
                "/api/v1/verifications", files={"file": ("scan.png", scan_png)}
            )

    def issue_in_process() -> list[str]:
        # A second writer outside the server, like the CLI on the same file.
        authority = prepared.authority()
        return [
            issue(authority, "attendance_proof", with_pdf=False).document_id
            for _ in range(ISSUES_IN_PROCESS)
        ]

    with ThreadPoolExecutor(max_workers=12) as pool:
        local = pool.submit(issue_in_process)
        issues = [pool.submit(issue_over_api, n) for n in range(ISSUES_OVER_API)]
        checks = [pool.submit(verify_text, n) for n in range(TEXT_VERIFICATIONS)]
        scans = [pool.submit(verify_scan, n) for n in range(SCAN_VERIFICATIONS)]
        issued = [future.result() for future in issues]
        checked = [future.result() for future in checks]
        scanned = [future.result() for future in scans]
        local_ids = local.result()

    assert [response.status_code for response in issued] == [201] * ISSUES_OVER_API
    for text, response in checked:
        assert response.status_code == 200
        assert response.json()["status"] == expected[text]
    for response in scanned:
        assert response.status_code == 200
        assert response.json()["status"] == "GENUINE"
    assert len(local_ids) == ISSUES_IN_PROCESS

    log = two_workers.log()
    assert "database is locked" not in log
    assert '"level": "ERROR"' not in log
    assert "Traceback" not in log

    with two_workers.client() as client:
        for response in issued:
            qr_text = response.json()["qr_text"]
            verdict = client.post("/api/v1/verifications", json={"qr_text": qr_text})
            assert verdict.json()["status"] == "GENUINE"
        for document_id in local_ids:
            found = client.get(f"/api/v1/documents/{document_id}", headers=issuer)
            assert found.status_code == 200


def test_metrics_cover_both_workers(two_workers: Server, prepared: Fixtures):
    assert prepared.judgment is not None

    def scrape() -> float:
        # A new connection each time, so that either worker may respond.
        with two_workers.client() as client:
            return genuine_text_count(client.get("/metrics").text)

    before = scrape()
    for _ in range(10):
        with two_workers.client() as client:
            client.post(
                "/api/v1/verifications", json={"qr_text": prepared.judgment.qr_text}
            )
    counts = {scrape() for _ in range(6)}
    assert counts == {before + 10}


def genuine_text_count(metrics: str) -> float:
    match = re.search(
        r'wathiq_verifications_total\{source="text",status="GENUINE"\} (\S+)', metrics
    )
    return float(match.group(1)) if match else 0.0
