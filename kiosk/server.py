"""Run the kiosk: the local server, the periodic sync and the kiosk browser."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from types import FrameType

import uvicorn

from kiosk.app import KioskState, create_app
from kiosk.browser import find_browser, start_browser
from kiosk.settings import KioskSettings
from kiosk.sync import SyncClient, run_periodically
from verify.config import Home
from verify.errors import WathiqError

__all__ = ["HOST", "KioskStartError", "run_kiosk"]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""The kiosk serves this machine only: its API has no authentication."""
# A browser that exits is started again after this pause. The pause doubles, up to
# the maximum, while the browser keeps exiting within the maximum, so a browser
# that cannot start does not spin.
BROWSER_RESTART_SECONDS = 2.0
BROWSER_MAX_RESTART_SECONDS = 60.0


class KioskStartError(WathiqError):
    """The kiosk's server could not start, for example on a port in use."""


def run_kiosk(home: Home, settings: KioskSettings, *, open_browser: bool) -> None:
    """Serve the kiosk until SIGINT or SIGTERM, with the browser if `open_browser`."""
    state = KioskState.open(home, settings)
    stop = threading.Event()
    threads = []
    if settings.api_url:
        client = SyncClient(settings.api_url, state.bundle, settings.policy)
        state.sync_status = client.status
        threads.append(
            threading.Thread(
                target=run_periodically,
                args=(client, settings.sync_interval_seconds, stop),
                name="kiosk-sync",
                daemon=True,
            )
        )
    else:
        logger.info("no WATHIQ_KIOSK_API_URL: trust data changes only by import")
    config = uvicorn.Config(
        create_app(state),
        host=HOST,
        port=settings.port,
        access_log=False,
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    url = f"http://{HOST}:{settings.port}/"
    if open_browser:
        threads.append(
            threading.Thread(
                target=_keep_browser_open,
                args=(settings, server, url, stop),
                name="kiosk-browser",
                daemon=True,
            )
        )
    _serve(server, url, threads, stop)
    state.counts.close()
    if not server.started:
        raise KioskStartError(
            f"the kiosk could not listen on {HOST}:{settings.port}; see the error"
            " above, and set WATHIQ_KIOSK_PORT or --port to a free port"
        )
    logger.info("kiosk stopped")


def _serve(
    server: uvicorn.Server,
    url: str,
    threads: list[threading.Thread],
    stop: threading.Event,
) -> None:
    """Run `server` and `threads` until SIGINT or SIGTERM, then stop them all.

    The server runs in its own thread so that this function, not uvicorn, handles
    the signals: uvicorn re-raises them after its shutdown, which would end the
    process before the browser it started is stopped.
    """

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()
        server.should_exit = True

    previous = {
        number: signal.signal(number, request_stop)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    server_thread = threading.Thread(target=server.run, name="kiosk-server")
    server_thread.start()
    for thread in threads:
        thread.start()
    try:
        while server_thread.is_alive() and not server.started:
            server_thread.join(0.05)
        if server.started:
            logger.info("kiosk serving %s", url)
        while server_thread.is_alive():
            server_thread.join(0.5)
    finally:
        server.should_exit = True
        stop.set()
        server_thread.join()
        for thread in threads:
            thread.join(timeout=10)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _keep_browser_open(
    settings: KioskSettings, server: uvicorn.Server, url: str, stop: threading.Event
) -> None:
    executable = find_browser(settings.browser)
    if executable is None:
        logger.warning(
            "no Chromium found; open %s in a browser, or set WATHIQ_KIOSK_BROWSER", url
        )
        return
    if os.geteuid() == 0:
        logger.warning(
            "running as root, where Chromium does not start without --no-sandbox;"
            " run the kiosk as an unprivileged user"
        )
    while not server.started and not stop.is_set():
        stop.wait(0.05)
    pause = BROWSER_RESTART_SECONDS
    while not stop.is_set():
        started = time.monotonic()
        try:
            process, profile = start_browser(executable, url)
        except OSError as error:
            logger.error("failed to start %s: %s", executable, error)
            return
        try:
            while process.poll() is None and not stop.is_set():
                stop.wait(0.5)
        finally:
            _stop_process(process)
            shutil.rmtree(profile, ignore_errors=True)
        if stop.is_set():
            return
        if time.monotonic() - started > BROWSER_MAX_RESTART_SECONDS:
            pause = BROWSER_RESTART_SECONDS
        logger.warning(
            "the browser exited with status %s; starting it again in %.0f s",
            process.returncode,
            pause,
        )
        stop.wait(pause)
        pause = min(pause * 2, BROWSER_MAX_RESTART_SECONDS)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
