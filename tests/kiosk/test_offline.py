"""The kiosk verifies with the API stopped and no network at all, and keeps nothing
of the documents it checks."""

from __future__ import annotations

import io
import logging
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.bundle import TrustBundle
from tests.kiosk.camera import photograph, render_page
from tests.kiosk.conftest import World, launch
from tests.kiosk.court import document_secrets
from tests.kiosk.running import bound_socket, running_kiosk, serve_publish_dir
from tests.kiosk.test_screen import back_to_start, open_kiosk, scan, shown_result
from verify.config import Home

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def _wait_for_line(process: subprocess.Popen[bytes], text: str, timeout: float) -> str:
    """Read the process's output until a line contains `text`; return all read."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise AssertionError(
                f"no {text!r} in the kiosk's output:\n{output.decode()}"
            )
        if selector.select(remaining):
            output += os.read(process.stdout.fileno(), 65536)
    return output.decode()


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"),
    reason="a network namespace needs root, unshare and nsenter",
)
def test_verifies_with_api_stopped_and_no_network(
    playwright_instance: Any,
    home: Home,
    installed: TrustBundle,
    world: World,
    blank_video: Path,
    tmp_path: Path,
):
    # The API the kiosk syncs from was reachable once, and is now stopped.
    api = serve_publish_dir(world.bundle)
    api.stop()
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    environment = {
        **os.environ,
        "WATHIQ_HOME": str(home.root),
        "WATHIQ_KIOSK_API_URL": api.url,
        "WATHIQ_KIOSK_PORT": str(port),
    }
    # A new network namespace has only a loopback interface, and it starts down.
    process = subprocess.Popen(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" -m kiosk --no-browser',
            sys.executable,
        ],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = _wait_for_line(process, "kiosk serving", timeout=30)
        namespace = f"/proc/{process.pid}/ns/net"
        assert os.readlink(namespace) != os.readlink("/proc/self/ns/net")
        links = subprocess.run(
            ["nsenter", f"--net={namespace}", "ip", "-o", "link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert [line.split(":")[1].strip() for line in links] == ["lo"]
        wrapper = tmp_path / "chromium-without-network"
        wrapper.write_text(
            f'#!/bin/sh\nexec nsenter --net={namespace} /usr/bin/chromium "$@"\n'
        )
        wrapper.chmod(0o755)
        browser = launch(playwright_instance, blank_video, executable_path=str(wrapper))
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-trust='usable']", state="attached")
            assert scan(page, world.genuine.qr_text)["status"] == "GENUINE"
            status = page.evaluate("fetch('/kiosk/status').then(r => r.json())")
        finally:
            browser.close()
        assert status["sync"]["error"].startswith(f"GET {api.url}")
        assert status["sync"]["succeeded_at"] is None
        output += _wait_for_line(process, "check from scanner: GENUINE", timeout=10)
        assert "trust data sync from" in output
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def test_no_document_data_left_after_checks(
    page: Any,
    home: Home,
    installed: TrustBundle,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    caplog.set_level(logging.DEBUG)
    assert world.genuine.pdf is not None
    # Over 1 MB, so the API's multipart parser spools the upload to a temporary file.
    photo = io.BytesIO()
    photograph(render_page(world.genuine.pdf), seed=5).save(photo, "PNG")
    assert photo.tell() > 1024 * 1024

    with running_kiosk(home) as kiosk:
        open_kiosk(page, kiosk)
        assert scan(page, world.genuine.qr_text)["status"] == "GENUINE"
        back_to_start(page)
        page.set_input_files("#file", str(world.pdf))
        assert shown_result(page)["status"] == "GENUINE"
        back_to_start(page)
        response = httpx.post(
            kiosk.url + "/api/v1/verifications",
            files={"file": ("photo.png", photo.getvalue())},
            timeout=30,
        )
        assert response.json()["status"] == "GENUINE"

    secrets = document_secrets("judgment_copy", world.genuine.document_id)
    # A stretch of the QR text's payload, which would reveal the whole document.
    secrets.append(world.genuine.qr_text[-60:].encode())
    stored = [
        path
        for root in (home.root, temporary)
        for path in root.rglob("*")
        if path.is_file()
    ]
    assert stored, "the kiosk's data directory should hold its bundle and counts"
    for path in stored:
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, f"{path} contains {secret.decode()!r}"
    assert list(temporary.iterdir()) == []
    for secret in secrets:
        assert secret.decode() not in caplog.text
