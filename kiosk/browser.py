"""Start Chromium in kiosk mode on the local kiosk page."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BROWSER_NAMES", "find_browser", "start_browser"]

logger = logging.getLogger(__name__)

BROWSER_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)


def find_browser(configured: Path | None) -> Path | None:
    """Return the configured browser, else the first Chromium found on PATH."""
    if configured is not None:
        return configured
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def browser_arguments(url: str, profile: Path) -> list[str]:
    return [
        "--kiosk",
        f"--app={url}",
        # Incognito keeps history, cache and cookies in memory only. The rest of
        # the profile goes to a directory that is deleted when the browser exits.
        "--incognito",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--noerrdialogs",
        "--disable-translate",
        "--disable-features=Translate,MediaRouter",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-pinch",
        "--overscroll-history-navigation=0",
        # NOTE: this grants the camera without a prompt, which no visitor should
        # have to confirm. It grants every page the browser opens, and the kiosk
        # opens only its own.
        "--use-fake-ui-for-media-stream",
    ]


def start_browser(executable: Path, url: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the browser on `url`; return the process and its profile directory,
    which the caller deletes after the process ends."""
    profile = Path(tempfile.mkdtemp(prefix="wathiq-kiosk-browser-"))
    process = subprocess.Popen(
        [str(executable), *browser_arguments(url, profile)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    logger.info("started %s (pid %d) on %s", executable, process.pid, url)
    return process, profile
