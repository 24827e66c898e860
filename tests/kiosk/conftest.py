from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.bundle import TrustBundle
from kiosk.bundle_source import read_bundle
from kiosk.settings import KioskHome
from tests.conftest import PASSPHRASE
from tests.kiosk.camera import blank_picture, write_y4m
from tests.kiosk.court import Court, days_ago, tampered_qr_text
from verify.config import Home
from verify.signing.authority import IssuedDocument

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@dataclass
class World:
    """A court with keys, three issued documents and a published bundle."""

    court: Court
    genuine: IssuedDocument
    """A judgment copy, with its PDF."""
    attendance: IssuedDocument
    revoked: IssuedDocument
    tampered_text: str
    bundle: Path
    """A publish directory, published an hour ago."""
    pdf: Path


@pytest.fixture(autouse=True)
def clean_kiosk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WATHIQ_KIOSK_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("court")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WATHIQ_KEY_PASSPHRASE", PASSPHRASE)
        patch.delenv("WATHIQ_BASE_URL", raising=False)
        court = Court.create(root / "home", days_ago(10))
        genuine = court.issue("judgment_copy", days_ago(9), with_pdf=True)
        attendance = court.issue("attendance_proof", days_ago(9))
        revoked = court.issue("judgment_copy", days_ago(9))
        court.revoke(revoked.document_id, days_ago(0.1))
        bundle = court.publish(root / "bundle", datetime.now(UTC) - timedelta(hours=1))
    assert genuine.pdf is not None
    pdf = root / "judgment.pdf"
    pdf.write_bytes(genuine.pdf)
    return World(
        court,
        genuine,
        attendance,
        revoked,
        tampered_qr_text(genuine.qr_text),
        bundle,
        pdf,
    )


@pytest.fixture
def home(isolated_env: Path) -> Home:
    """The kiosk's wathiq data directory, fresh for each test."""
    return Home(isolated_env)


@pytest.fixture
def installed(home: Home, world: World) -> TrustBundle:
    """A kiosk whose bundle is the world's, pinned by its root kid."""
    bundle = TrustBundle(KioskHome.from_home(home))
    bundle.apply(
        read_bundle(world.bundle), datetime.now(UTC), pin_root=world.court.root_kid
    )
    return bundle


@pytest.fixture(scope="session")
def blank_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A camera video of an empty desk, so the start screen's camera finds nothing."""
    path = tmp_path_factory.mktemp("video") / "blank.y4m"
    return write_y4m(path, [blank_picture()])


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Any, video: Path, *extra: str, **options: Any) -> Any:
    """Launch headless Chromium whose fake camera plays `video`."""
    return playwright.chromium.launch(
        executable_path=options.pop("executable_path", str(CHROMIUM)),
        args=[*BROWSER_ARGS, f"--use-file-for-fake-video-capture={video}", *extra],
        **options,
    )


@pytest.fixture(scope="session")
def browser(playwright_instance: Any, blank_video: Path) -> Iterator[Any]:
    browser = launch(playwright_instance, blank_video)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1024})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
