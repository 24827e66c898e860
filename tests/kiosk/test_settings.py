from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.settings import KioskHome, SettingsError, load_settings


@pytest.fixture
def kiosk_home(tmp_path: Path) -> KioskHome:
    return KioskHome(tmp_path / "kiosk")


def test_defaults_match_verifier_policy(kiosk_home: KioskHome):
    settings = load_settings(kiosk_home)
    assert settings.api_url is None
    assert settings.port == 8765
    assert settings.policy.max_key_list_age == timedelta(days=14)
    assert settings.policy.max_status_list_age == timedelta(days=3)


def test_settings_file_and_environment(
    kiosk_home: KioskHome, monkeypatch: pytest.MonkeyPatch
):
    kiosk_home.root.mkdir()
    kiosk_home.settings_file.write_text(
        "WATHIQ_KIOSK_PORT=9000\nWATHIQ_KIOSK_MAX_STATUS_LIST_AGE_HOURS=24\n"
    )
    monkeypatch.setenv("WATHIQ_KIOSK_PORT", "9001")
    settings = load_settings(kiosk_home)
    assert settings.port == 9001
    assert settings.policy.max_status_list_age == timedelta(hours=24)
    assert load_settings(kiosk_home, port=9002).port == 9002


def test_misspelt_setting_in_file(kiosk_home: KioskHome):
    kiosk_home.root.mkdir()
    kiosk_home.settings_file.write_text("WATHIQ_KIOSK_PROT=9000\n")
    with pytest.raises(SettingsError) as raised:
        load_settings(kiosk_home)
    assert str(raised.value) == (
        "invalid kiosk settings: WATHIQ_KIOSK_PROT: unknown setting; check its spelling"
    )


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://wathiq.example.sa/", "https://wathiq.example.sa"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://wathiq.example.sa", None),
        ("ftp://wathiq.example.sa", None),
        ("https://wathiq.example.sa/?x=1", None),
    ],
)
def test_api_url_must_be_https_unless_loopback(
    kiosk_home: KioskHome, monkeypatch: pytest.MonkeyPatch, url: str, accepted
):
    monkeypatch.setenv("WATHIQ_KIOSK_API_URL", url)
    if accepted is None:
        with pytest.raises(SettingsError, match="WATHIQ_KIOSK_API_URL"):
            load_settings(kiosk_home)
    else:
        assert load_settings(kiosk_home).api_url == accepted


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WATHIQ_KIOSK_PORT", "80"),
        ("WATHIQ_KIOSK_RETURN_SECONDS", "1"),
        ("WATHIQ_KIOSK_MAX_KEY_LIST_AGE_HOURS", "0"),
        ("WATHIQ_KIOSK_RATING", "perhaps"),
    ],
)
def test_invalid_values_named(
    kiosk_home: KioskHome, monkeypatch: pytest.MonkeyPatch, name: str, value: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(kiosk_home)
