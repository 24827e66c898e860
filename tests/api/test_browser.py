"""The pages in headless Chromium (Debian's package), driven by Playwright.

Screenshots of each page are kept in test-artifacts/api/. The camera test feeds
Chromium's fake camera a Y4M video of the QR code, so the page's script scans it
as it would a real camera's frames.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qrcode
from PIL import Image

from tests.api.conftest import ARTIFACTS, Fixtures, Server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
GENUINE_AR = "المستند صحيح وصادر من المحكمة"
GENUINE_EN = "Genuine document issued by the court"

if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def write_y4m(path: Path, text: str, width: int = 1280, height: int = 720) -> None:
    """Write a two-frame 4:2:0 Y4M video of `text` as a QR code on white."""
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    symbol.add_data(text)
    picture = symbol.make_image(fill_color="black", back_color="white").get_image()
    picture = picture.convert("L")
    side = min(height - 40, picture.width * max(1, (height - 40) // picture.width))
    picture = picture.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(picture, ((width - side) // 2, (height - side) // 2))
    luma = np.asarray(frame, dtype=np.uint8).tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as stream:
        stream.write(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(2):
            stream.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    opened = context.new_page()
    opened.console_errors = []
    opened.on(
        "console",
        lambda message: (
            message.type == "error" and opened.console_errors.append(message.text)
        ),
    )
    yield opened
    context.close()


def test_upload_scan_on_form_page(
    page: Any, server: Server, scan_png: bytes, tmp_path: Path, artifacts: Path
):
    scan = tmp_path / "scan.png"
    scan.write_bytes(scan_png)
    page.goto(f"{server.url}/")
    page.screenshot(path=str(artifacts / "form-ar.png"), full_page=True)
    page.set_input_files("#file", str(scan))
    page.click("#verify-submit")
    page.wait_for_selector("#headline")
    assert page.inner_text("#headline") == GENUINE_AR
    assert page.get_attribute("#verdict", "data-status") == "GENUINE"
    page.screenshot(path=str(artifacts / "upload-result-ar.png"), full_page=True)
    assert page.console_errors == []


def test_paste_text_on_form_page(page: Any, server: Server, prepared: Fixtures):
    assert prepared.revoked is not None
    page.goto(f"{server.url}/?lang=en")
    page.fill("#qr_text", prepared.revoked.qr_text)
    page.click("#verify-submit")
    page.wait_for_selector("#headline")
    assert page.inner_text("#headline") == "Not a valid document"
    assert f"/v/{prepared.revoked.payload}" in page.url


def test_result_page_arabic_then_english(
    page: Any, server: Server, prepared: Fixtures, artifacts: Path
):
    assert prepared.judgment is not None
    page.goto(f"{server.url}/V/{prepared.judgment.payload}")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.inner_text("#headline") == GENUINE_AR
    assert page.is_visible("#download")
    page.screenshot(path=str(artifacts / "result-ar.png"), full_page=True)
    page.click("#switch-lang")
    page.wait_for_selector("html[lang=en]")
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.inner_text("#headline") == GENUINE_EN
    page.screenshot(path=str(artifacts / "result-en.png"), full_page=True)
    assert page.console_errors == []


def test_result_page_fits_a_phone(page: Any, server: Server, prepared: Fixtures):
    assert prepared.superseded is not None
    page.goto(f"{server.url}/v/{prepared.superseded.payload}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"]


def test_pages_work_without_javascript(
    browser: Any, server: Server, prepared: Fixtures
):
    assert prepared.judgment is not None
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/?lang=en")
        assert page.is_hidden("#camera")
        page.fill("#qr_text", prepared.judgment.qr_text)
        page.click("#verify-submit")
        page.wait_for_selector("#headline")
        assert page.inner_text("#headline") == GENUINE_EN
    finally:
        context.close()


def test_camera_scan_finds_the_code(
    playwright: Any, server: Server, prepared: Fixtures, tmp_path: Path, artifacts: Path
):
    assert prepared.judgment is not None
    video = tmp_path / "qr.y4m"
    write_y4m(video, prepared.judgment.qr_text)
    camera_browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(viewport=PHONE)
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        page.goto(f"{server.url}/?lang=en")
        assert page.is_visible("#camera")
        page.click("#camera-start")
        page.wait_for_selector("#headline", timeout=20_000)
        assert page.inner_text("#headline") == GENUINE_EN
        page.screenshot(path=str(artifacts / "camera-result-en.png"), full_page=True)
    finally:
        camera_browser.close()
