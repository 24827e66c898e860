"""The kiosk page in headless Chromium: scanner, camera and file inputs, and the
result screen for each kind of verdict."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.bundle import TrustBundle
from kiosk.bundle_source import read_bundle
from kiosk.settings import KioskHome
from tests.kiosk.camera import photograph, render_page, write_y4m
from tests.kiosk.conftest import World, launch
from tests.kiosk.court import FOREIGN_QR_TEXT, Court, days_ago
from tests.kiosk.running import RunningKiosk, running_kiosk, serve_publish_dir
from verify.cli import main
from verify.config import Home

pytestmark = pytest.mark.browser

HEADLINES_EN = {
    "genuine": "Genuine document issued by the court",
    "not_genuine": "Not a valid document",
    "cannot_verify": "Cannot verify here",
}


@pytest.fixture
def kiosk(home: Home, installed: TrustBundle) -> Iterator[RunningKiosk]:
    with running_kiosk(home) as running:
        yield running


def open_kiosk(page: Any, kiosk: RunningKiosk) -> None:
    page.goto(kiosk.url + "/")
    page.wait_for_selector("body[data-screen='start'][data-trust]", state="attached")


def scan(page: Any, text: str) -> dict[str, str]:
    """Type `text` and Enter, as a hand-held scanner in keyboard mode does."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return shown_result(page)


def shown_result(page: Any) -> dict[str, str]:
    page.wait_for_selector("#result[data-status]")
    return {
        "status": page.get_attribute("#result", "data-status"),
        "outcome": page.get_attribute("#result", "data-outcome"),
        "headline_en": page.inner_text("#headline-en"),
        "headline_ar": page.inner_text("#headline-ar"),
        "explanation": page.inner_text("#explanation-en"),
        "text": page.inner_text("#result"),
    }


def back_to_start(page: Any) -> None:
    page.click("#back")
    page.wait_for_selector("body[data-screen='start']", state="attached")


@pytest.mark.parametrize(
    ("document", "status", "outcome"),
    [
        ("genuine", "GENUINE", "genuine"),
        ("tampered", "INVALID_SIGNATURE", "not_genuine"),
        ("revoked", "REVOKED", "not_genuine"),
        ("foreign", "NOT_A_WATHIQ_CODE", "cannot_verify"),
    ],
)
def test_scanner_input_shows_verdict(
    page: Any,
    kiosk: RunningKiosk,
    world: World,
    document: str,
    status: str,
    outcome: str,
):
    text = {
        "genuine": world.genuine.qr_text,
        "tampered": world.tampered_text,
        "revoked": world.revoked.qr_text,
        "foreign": FOREIGN_QR_TEXT,
    }[document]
    open_kiosk(page, kiosk)
    result = scan(page, text)
    assert result["status"] == status
    assert result["outcome"] == outcome
    assert result["headline_en"] == HEADLINES_EN[outcome]
    assert result["headline_ar"]
    # Never colour alone: the outcome's icon is shown beside the words.
    assert page.is_visible(f"#result .icon-{outcome}")
    assert page.get_attribute(f"#result .icon-{outcome}", "aria-hidden") == "true"
    assert page.inner_text("#announce").startswith(result["headline_ar"])
    fields_shown = page.is_visible("#fields-box")
    assert fields_shown == (outcome == "genuine")
    assert page.evaluate("document.activeElement.id") == "scanner"


def test_genuine_result_lists_what_paper_must_say(
    page: Any, kiosk: RunningKiosk, world: World
):
    open_kiosk(page, kiosk)
    result = scan(page, world.attendance.qr_text)
    assert result["status"] == "GENUINE"
    fields = page.inner_text("#fields")
    assert "نورة بنت عبدالله بن محمد القحطاني" in fields
    assert "4321" in fields
    assert world.attendance.document_id in fields
    assert "The paper must say" in page.inner_text("#fields-box")


def test_camera_shows_genuine_for_printed_document(
    playwright_instance: Any, kiosk: RunningKiosk, world: World, tmp_path: Path
):
    assert world.genuine.pdf is not None
    page_image = render_page(world.genuine.pdf)
    pictures = [photograph(page_image, seed) for seed in range(3)]
    video = write_y4m(tmp_path / "document.y4m", pictures)
    browser = launch(playwright_instance, video)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1024})
        page.set_default_timeout(20_000)
        open_kiosk(page, kiosk)
        result = shown_result(page)
        assert result["status"] == "GENUINE"
        # The page records the measure once the result has been painted.
        page.wait_for_timeout(200)
        measures = page.evaluate(
            "performance.getEntriesByName('kiosk-frame-to-verdict').length"
        )
        assert measures == 1
        checks = kiosk.state.counts.checks()
        assert [(row["source"], row["status"]) for row in checks] == [
            ("camera", "GENUINE")
        ]
    finally:
        browser.close()


def test_file_upload_shows_genuine(page: Any, kiosk: RunningKiosk, world: World):
    open_kiosk(page, kiosk)
    page.set_input_files("#file", str(world.pdf))
    assert shown_result(page)["status"] == "GENUINE"


def test_unreadable_file_cannot_be_verified(
    page: Any, kiosk: RunningKiosk, tmp_path: Path
):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a document")
    open_kiosk(page, kiosk)
    page.set_input_files("#file", str(notes))
    result = shown_result(page)
    assert result["status"] == "UNSUPPORTED_INPUT"
    assert result["outcome"] == "cannot_verify"


def test_result_returns_to_start_and_clears_page(
    page: Any, home: Home, installed: TrustBundle, world: World
):
    with running_kiosk(home, return_seconds=5) as kiosk:
        open_kiosk(page, kiosk)
        assert scan(page, world.genuine.qr_text)["status"] == "GENUINE"
        assert world.genuine.document_id in page.content()
        page.wait_for_selector(
            "body[data-screen='start']", state="attached", timeout=8_000
        )
        html = page.content()
        assert world.genuine.document_id not in html
        assert "الدوسري" not in html
        assert page.get_attribute("#result", "data-status") is None


def test_back_button_and_rating(page: Any, kiosk: RunningKiosk, world: World):
    open_kiosk(page, kiosk)
    scan(page, world.genuine.qr_text)
    button = page.locator(".rate[data-rating='good']")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 88
    button.click()
    page.wait_for_selector("#rating-thanks", state="visible")
    back_to_start(page)
    assert page.evaluate("document.activeElement.id") == "scanner"
    today = datetime.now(UTC).date().isoformat()
    assert kiosk.state.counts.ratings() == [
        {"day": today, "rating": "good", "count": 1}
    ]


def test_scanner_field_keeps_focus(page: Any, kiosk: RunningKiosk):
    open_kiosk(page, kiosk)
    page.click("h1")
    # wait_for_function evaluates a string, which the page's CSP forbids.
    page.wait_for_timeout(200)
    assert page.evaluate("document.activeElement.id") == "scanner"


def test_scanner_on_arabic_keyboard_layout(page: Any, kiosk: RunningKiosk):
    # On an Arabic layout the keys of "WQ1." type "صض1."; the page reads the key
    # positions instead. Synthetic events cannot insert text, so only the mapped
    # keys reach the field.
    open_kiosk(page, kiosk)
    page.evaluate(
        """() => {
        const field = document.getElementById('scanner');
        for (const [key, code] of [['ص', 'KeyW'], ['ض', 'KeyQ']]) {
            field.dispatchEvent(new KeyboardEvent('keydown', {
                key, code, shiftKey: true, bubbles: true, cancelable: true}));
        }
    }"""
    )
    assert page.input_value("#scanner") == "WQ"


def test_stale_trust_data_says_check_online(page: Any, home: Home, tmp_path: Path):
    court = Court.create(tmp_path / "court", days_ago(10))
    document = court.issue("judgment_copy", days_ago(9))
    # Status lists may be 72 hours old by default; this one is 4 days old.
    bundle = court.publish(tmp_path / "bundle", days_ago(4))
    TrustBundle(KioskHome.from_home(home)).apply(
        read_bundle(bundle), datetime.now(UTC), pin_root=court.root_kid
    )
    with running_kiosk(home, online_url="https://verify.court.example") as kiosk:
        open_kiosk(page, kiosk)
        assert page.get_attribute("body", "data-trust") == "unusable"
        assert "older than allowed" in page.inner_text("#trust")
        result = scan(page, document.qr_text)
    assert result["status"] == "INDETERMINATE"
    assert result["outcome"] == "cannot_verify"
    assert "4 days old" in result["explanation"]
    assert "https://verify.court.example" in result["explanation"]


def test_clock_earlier_than_trust_data_is_reported(
    page: Any, home: Home, tmp_path: Path
):
    court = Court.create(tmp_path / "court", days_ago(10))
    document = court.issue("judgment_copy", days_ago(9))
    # Lists issued two days from now: this machine's clock is behind them.
    bundle = court.publish(tmp_path / "bundle", datetime.now(UTC) + timedelta(days=2))
    TrustBundle(KioskHome.from_home(home)).apply(
        read_bundle(bundle), datetime.now(UTC), pin_root=court.root_kid
    )
    with running_kiosk(home) as kiosk:
        open_kiosk(page, kiosk)
        assert "clock" in page.inner_text("#trust")
        result = scan(page, document.qr_text)
    assert result["status"] == "INDETERMINATE"
    assert "clock" in result["explanation"]
    assert "Ask staff to correct the clock" in result["explanation"]


def test_compromised_key_sends_visitor_online(page: Any, home: Home, tmp_path: Path):
    court = Court.create(tmp_path / "court", days_ago(10))
    document = court.issue("judgment_copy", days_ago(5))
    court.authority.compromise(court.documents_kid, days_ago(2), days_ago(1))
    bundle = court.publish(tmp_path / "bundle")
    TrustBundle(KioskHome.from_home(home)).apply(
        read_bundle(bundle), datetime.now(UTC), pin_root=court.root_kid
    )
    with running_kiosk(home) as kiosk:
        open_kiosk(page, kiosk)
        result = scan(page, document.qr_text)
    assert result["status"] == "INDETERMINATE"
    assert "compromised" in result["explanation"]
    assert "online" in result["explanation"]


def test_sync_after_revocation_shows_revoked(
    page: Any,
    home: Home,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    court = Court.create(tmp_path / "court", days_ago(10))
    document = court.issue("judgment_copy", days_ago(1))
    public = court.publish(tmp_path / "public")
    api = serve_publish_dir(public)
    try:
        monkeypatch.setenv("WATHIQ_KIOSK_API_URL", api.url)
        assert (
            main(["kiosk", "import-bundle", str(public), "--pin-root", court.root_kid])
            == 0
        )
        with running_kiosk(home) as kiosk:
            open_kiosk(page, kiosk)
            assert scan(page, document.qr_text)["status"] == "GENUINE"
            back_to_start(page)

            court.revoke(document.document_id, datetime.now(UTC))
            court.publish(public)
            assert main(["kiosk", "sync"]) == 0
            assert "synced from" in capsys.readouterr().out

            result = scan(page, document.qr_text)
        assert result["status"] == "REVOKED"
        assert result["outcome"] == "not_genuine"
        assert "revoked" in page.inner_text("#status-en")
    finally:
        api.stop()
