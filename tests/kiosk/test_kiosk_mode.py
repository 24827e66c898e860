"""``wathiq kiosk`` starting real Chromium in kiosk mode on a virtual screen (Xvfb)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.bundle import TrustBundle
from kiosk.bundle_source import read_bundle
from kiosk.settings import KioskHome
from tests.kiosk.court import Court, days_ago
from tests.kiosk.running import bound_socket
from verify.config import Home

pytestmark = pytest.mark.browser


def free_port() -> int:
    sock = bound_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def display() -> Iterator[str]:
    """Start Xvfb on a free display number and return the display name."""
    number = next(
        number
        for number in range(90, 200)
        if not Path(f"/tmp/.X11-unix/X{number}").exists()
    )
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1080x1920x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert server.poll() is None, "Xvfb exited at start"
        assert time.monotonic() < deadline, "Xvfb did not start within 10 s"
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def open_pages(devtools_port: int) -> list[dict[str, str]]:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{devtools_port}/json/list", timeout=2
    ) as response:
        pages: list[dict[str, str]] = json.load(response)
    return pages


def test_kiosk_opens_its_page_in_chromium(display: str, tmp_path: Path, home: Home):
    court = Court.create(tmp_path / "court", days_ago(1))
    bundle = court.publish(tmp_path / "bundle")
    TrustBundle(KioskHome.from_home(home)).apply(
        read_bundle(bundle), datetime.now(UTC), pin_root=court.root_kid
    )
    # The test runs as root in CI, where Chromium needs --no-sandbox; the DevTools
    # port lets the test see which page the kiosk's browser shows.
    devtools_port = free_port()
    wrapper = tmp_path / "chromium-for-test"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec /usr/bin/chromium --no-sandbox --disable-gpu"
        f' --remote-debugging-port={devtools_port} "$@"\n'
    )
    wrapper.chmod(0o755)
    port = free_port()
    environment = {
        **os.environ,
        "DISPLAY": display,
        "WATHIQ_HOME": str(home.root),
        "WATHIQ_KIOSK_BROWSER": str(wrapper),
    }
    kiosk = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        shown: list[dict[str, str]] = []
        deadline = time.monotonic() + 60
        while not any(page.get("url") == url and page.get("title") for page in shown):
            assert kiosk.poll() is None, "the kiosk exited"
            assert time.monotonic() < deadline, f"no kiosk page in Chromium: {shown}"
            time.sleep(0.5)
            try:
                shown = open_pages(devtools_port)
            except OSError:
                shown = []
        page = next(page for page in shown if page.get("url") == url)
        assert page["type"] == "page"
    finally:
        kiosk.send_signal(signal.SIGTERM)
        output = kiosk.communicate(timeout=30)[0].decode(errors="replace")
    assert kiosk.returncode == 0, output
    # Stopping the kiosk also stops its browser.
    with pytest.raises(OSError):
        open_pages(devtools_port)
