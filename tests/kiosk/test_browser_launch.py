from __future__ import annotations

from pathlib import Path

from kiosk.browser import browser_arguments, find_browser


def test_configured_browser_wins(tmp_path: Path):
    configured = tmp_path / "my-chromium"
    assert find_browser(configured) == configured


def test_kiosk_mode_on_local_page(tmp_path: Path):
    arguments = browser_arguments("http://127.0.0.1:8765/", tmp_path)
    assert "--kiosk" in arguments
    assert "--app=http://127.0.0.1:8765/" in arguments
    assert "--incognito" in arguments
    assert f"--user-data-dir={tmp_path}" in arguments
