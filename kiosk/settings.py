"""The kiosk's data directory and its validated settings.

Everything the kiosk keeps lives under ``WATHIQ_HOME/kiosk/``:

- ``settings.env``: optional settings written by the operator, one
  ``WATHIQ_KIOSK_NAME=value`` a line; environment variables override it.
- ``trust``: a symbolic link to the current trust bundle in ``bundles/``. Replacing
  the link is the atomic step of every import or sync.
- ``bundles/``: the current trust bundle and the previous one, each a `TrustStore`
  directory (pinned root, key list, status list, newest issue time seen).
- ``counts.db``: anonymous daily counts of checks and ratings, never document data.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from verify.config import Home
from verify.errors import WathiqError
from verify.verifier import Policy

__all__ = ["KioskHome", "KioskSettings", "SettingsError", "load_settings"]

ENV_PREFIX = "WATHIQ_KIOSK_"


class SettingsError(WathiqError):
    """A kiosk setting is missing or invalid; the operator must correct it."""


@dataclass(frozen=True)
class KioskHome:
    """Paths of the kiosk's state inside one wathiq data directory."""

    root: Path

    @classmethod
    def from_home(cls, home: Home) -> KioskHome:
        return cls(home.root / "kiosk")

    @classmethod
    def from_env(cls) -> KioskHome:
        return cls.from_home(Home.from_env())

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.env"

    @property
    def trust_link(self) -> Path:
        return self.root / "trust"

    @property
    def bundles_dir(self) -> Path:
        return self.root / "bundles"

    @property
    def counts_path(self) -> Path:
        return self.root / "counts.db"


class KioskSettings(BaseSettings):
    """Kiosk settings, read from ``WATHIQ_KIOSK_*`` variables and ``settings.env``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True
    )

    api_url: str | None = None
    """Base URL of the wathiq API to sync trust data from; None: import bundles only."""
    online_url: str | None = None
    """Address shown to visitors for checking online; default: WATHIQ_BASE_URL."""
    port: int = Field(8765, ge=1024, le=65535)
    """TCP port of the local server, always bound to 127.0.0.1."""
    max_key_list_age_hours: float = Field(14 * 24, gt=0, le=90 * 24)
    """Age past which the kiosk stops deciding from its key list."""
    max_status_list_age_hours: float = Field(72, gt=0, le=30 * 24)
    """Age past which the kiosk stops deciding from its status list."""
    return_seconds: int = Field(30, ge=5, le=600)
    """Seconds a result stays on screen before the start screen returns."""
    rescan_delay_seconds: float = Field(3.0, ge=0, le=30)
    """Pause before the camera scans again, so a document still held up is not
    checked twice."""
    frame_interval_ms: int = Field(250, ge=50, le=2000)
    """Time between camera frames sent for decoding."""
    sync_interval_seconds: int = Field(900, ge=30, le=7 * 24 * 3600)
    """Time between syncs with the API, when `api_url` is set."""
    rating: bool = True
    """Whether to ask the one-question satisfaction rating after each check."""
    browser: Path | None = None
    """Chromium executable; default: the first of chromium, chromium-browser,
    google-chrome on PATH."""

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            # Lists are signed, but plain HTTP to a remote host lets anyone on the
            # path withhold updates without the kiosk noticing a TLS failure.
            raise ValueError(
                f"{value!r} uses plain HTTP to a remote host; use https://"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} must not have a query or fragment")
        return value.rstrip("/")

    @property
    def policy(self) -> Policy:
        return Policy(
            max_key_list_age=timedelta(hours=self.max_key_list_age_hours),
            max_status_list_age=timedelta(hours=self.max_status_list_age_hours),
        )

    def verify_policy(self, home: Home) -> Policy:
        """Return the verification policy, with the court's page to compare links to."""
        return replace(self.policy, court_base_url=self.online_address(home))

    def online_address(self, home: Home) -> str:
        """Return the address where visitors can verify a document online."""
        return self.online_url or home.base_url.lower()


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def load_settings(kiosk_home: KioskHome, **overrides: Any) -> KioskSettings:
    """Read the settings, raising SettingsError with every invalid value named.

    `overrides` are command-line values, which take precedence over the environment
    and the settings file.
    """
    env_file = kiosk_home.settings_file if kiosk_home.settings_file.is_file() else None
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return KioskSettings(_env_file=env_file, **given)  # type: ignore[call-arg]
    except ValidationError as error:
        problems = "; ".join(_describe(item) for item in error.errors())
        raise SettingsError(f"invalid kiosk settings: {problems}") from None


def _describe(item: Any) -> str:
    name = ".".join(str(part) for part in item["loc"]).upper()
    if not name.startswith(ENV_PREFIX):
        name = ENV_PREFIX + name
    if item["type"] == "extra_forbidden":
        return f"{name}: unknown setting; check its spelling"
    return f"{name}: {item['msg']}"
