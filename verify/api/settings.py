"""Service settings, read from ``WATHIQ_*`` environment variables and checked at start.

The service runs in one of two named environments. ``production`` (the default) is
the only one meant to face users, and `Settings.check_production` refuses to start
it with the example base URL, unencrypted private keys, rate limits switched off or
an implicit data directory. ``development`` accepts those and logs a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from verify.config import DEFAULT_BASE_URL, Home
from verify.scanning import MAX_BYTES, MAX_PDF_PAGES, MAX_PIXELS, ScanLimits
from verify.signing.keys import INSECURE_MODE_VARIABLE

__all__ = ["Settings", "UnsafeSettings"]

logger = logging.getLogger(__name__)


class UnsafeSettings(ValueError):
    """The settings are valid but unsafe for the production environment."""


class Settings(BaseSettings):
    """Settings of one ``wathiq serve`` deployment, each from a WATHIQ_ variable."""

    model_config = SettingsConfigDict(env_prefix="WATHIQ_", extra="ignore")

    environment: Literal["development", "production"] = "production"
    home: Path = Field(default=Path("var"), description="data directory (WATHIQ_HOME)")
    base_url: str = DEFAULT_BASE_URL
    """Origin that the QR codes of issued documents point to."""

    staff_api: bool = True
    """Serve the staff endpoints; a public read-only node sets this to false."""

    max_upload_bytes: int = Field(default=MAX_BYTES, ge=1024)
    max_pixels: int = Field(default=MAX_PIXELS, ge=10_000)
    max_pdf_pages: int = Field(default=MAX_PDF_PAGES, ge=1)

    decode_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    """Seconds after which an upload's decoding is abandoned with a 422 response."""
    decode_threads: int = Field(default=2, ge=1, le=64)
    """Decodes that may run at once in one worker, abandoned ones included."""

    verify_rate_per_minute: float = Field(default=60.0, ge=0)
    """Sustained verifications per client IP and worker; 0 disables the limit."""
    verify_burst: int = Field(default=30, ge=1)
    download_rate_per_hour: float = Field(default=20.0, ge=0)
    """Original-PDF downloads per client IP and worker; 0 disables the limit."""
    download_burst: int = Field(default=5, ge=1)

    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For header uvicorn trusts for the client IP."""

    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _check_base_url(self) -> Settings:
        if not self.base_url.lower().startswith(("https://", "http://")):
            raise ValueError(
                f"WATHIQ_BASE_URL {self.base_url!r} must start with https://"
            )
        return self

    @property
    def home_paths(self) -> Home:
        return Home(self.home.absolute())

    @property
    def scan_limits(self) -> ScanLimits:
        return ScanLimits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_pdf_pages=self.max_pdf_pages,
        )

    def unsafe_choices(self) -> list[str]:
        """Return what makes these settings unsafe to face users, one line each."""
        problems = []
        if "home" not in self.model_fields_set:
            problems.append("WATHIQ_HOME is not set; name the data directory")
        if self.base_url.upper().rstrip("/") == DEFAULT_BASE_URL:
            problems.append(
                f"WATHIQ_BASE_URL is the example {DEFAULT_BASE_URL}; set the court's"
                " verification origin"
            )
        elif not self.base_url.lower().startswith("https://"):
            problems.append("WATHIQ_BASE_URL must use https://")
        if os.environ.get(INSECURE_MODE_VARIABLE) == "1":
            problems.append(
                f"{INSECURE_MODE_VARIABLE}=1 stores private keys unencrypted"
            )
        if self.verify_rate_per_minute == 0 or self.download_rate_per_hour == 0:
            problems.append("a rate limit is 0 (disabled); set a positive rate")
        return problems

    def check_production(self) -> None:
        """Raise UnsafeSettings in production, or log a warning in development."""
        problems = self.unsafe_choices()
        if not problems:
            return
        if self.environment == "production":
            raise UnsafeSettings(
                "unsafe settings for WATHIQ_ENVIRONMENT=production: "
                + "; ".join(problems)
                + " (or set WATHIQ_ENVIRONMENT=development on a test machine)"
            )
        for problem in problems:
            logger.warning("development environment: %s", problem)
