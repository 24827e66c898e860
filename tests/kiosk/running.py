"""Servers for kiosk tests: the kiosk in a thread, and a static publish server."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.app import KioskState, create_app
from kiosk.settings import KioskSettings
from verify.config import Home


@dataclass
class RunningKiosk:
    url: str
    state: KioskState


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_kiosk(home: Home, **settings: Any) -> Iterator[RunningKiosk]:
    """Run the kiosk app with uvicorn in a thread, on a free port of 127.0.0.1."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    options = {"port": port, "return_seconds": 60, "rescan_delay_seconds": 0.5}
    kiosk_settings = KioskSettings(_env_file=None, **{**options, **settings})
    state = KioskState.open(home, kiosk_settings)
    config = uvicorn.Config(
        create_app(state), access_log=False, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the kiosk server did not start within 10 s")
        time.sleep(0.02)
    try:
        yield RunningKiosk(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        state.counts.close()


class _PublishHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a publish directory at /.well-known/wathiq/, with ETags."""

    def translate_path(self, path: str) -> str:
        prefix = "/.well-known/wathiq/"
        name = path.split("?", 1)[0]
        if not name.startswith(prefix):
            return "/nonexistent"
        return str(Path(self.directory) / name[len(prefix) :])

    def send_head(self) -> Any:
        path = Path(self.translate_path(self.path))
        if path.is_file():
            etag = f'"{path.stat().st_mtime_ns:x}-{path.stat().st_size:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self._etag = etag
        return super().send_head()

    def end_headers(self) -> None:
        etag = getattr(self, "_etag", None)
        if etag:
            self.send_header("ETag", etag)
            self._etag = None
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


@dataclass
class PublishServer:
    url: str
    requests: list[str]
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve_publish_dir(directory: Path) -> PublishServer:
    """Serve `directory` the way the API serves the published lists."""
    handler = functools.partial(_PublishHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    return PublishServer(
        f"http://127.0.0.1:{port}",
        server.requests,  # type: ignore[attr-defined]
        server,
        thread,
    )
