"""Fixtures for the service tests: a data directory per module and real servers.

Each test module gets a fresh WATHIQ_HOME with keys, published lists, staff tokens
and issued documents, made with the library itself. Servers are ``python -m
verify.cli serve`` subprocesses on free ports of 127.0.0.1, with their log written
to a file that tests can read.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pypdfium2 as pdfium
import pytest

from tests.conftest import PASSPHRASE
from verify.api.tokens import Role, create_token, revoke_token
from verify.config import Home
from verify.documents import parse_document
from verify.registry import Registry
from verify.signing.authority import Authority

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "test-artifacts" / "api"
SERVER_START_SECONDS = 30


@dataclass
class Issued:
    document_id: str
    qr_text: str
    pdf: bytes | None

    @property
    def payload(self) -> str:
        return self.qr_text.split("/V/", 1)[1]


@dataclass
class Fixtures:
    """A prepared data directory: its tokens and documents."""

    home: Path
    tokens: dict[str, str] = field(default_factory=dict)
    revoked_token: str = ""
    judgment: Issued | None = None
    attendance: Issued | None = None
    revoked: Issued | None = None
    superseded: Issued | None = None
    successor: Issued | None = None

    def authority(self) -> Authority:
        return Authority(Home(self.home))

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def example(kind: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))
    return data


def issue(authority: Authority, kind: str, with_pdf: bool = True) -> Issued:
    document = parse_document(kind, example(kind))
    issued = authority.issue(document, datetime.now(UTC), with_pdf=with_pdf)
    return Issued(issued.document_id, issued.qr_text, issued.pdf)


def prepare_home(home: Path) -> Fixtures:
    """Create keys, tokens and documents of every state in `home`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WATHIQ_KEY_PASSPHRASE", PASSPHRASE)
        patch.delenv("WATHIQ_BASE_URL", raising=False)
        authority = Authority(Home(home))
        now = datetime.now(UTC)
        authority.init_keys("RYD-ADM", now)
        authority.publish(now)
        fixtures = Fixtures(home=home)
        fixtures.judgment = issue(authority, "judgment_copy")
        fixtures.attendance = issue(authority, "attendance_proof", with_pdf=False)
        fixtures.revoked = issue(authority, "judgment_copy")
        fixtures.superseded = issue(authority, "judgment_copy")
        fixtures.successor = issue(authority, "judgment_copy")
        authority.revoke(fixtures.revoked.document_id, "revoked", datetime.now(UTC))
        authority.revoke(
            fixtures.superseded.document_id,
            "superseded",
            datetime.now(UTC),
            successor_id=fixtures.successor.document_id,
        )
        registry = Registry(Home(home).registry_path)
        for role in Role:
            _, token = create_token(registry, role, f"Test {role.value}", now)
            fixtures.tokens[role.value] = token
        former, fixtures.revoked_token = create_token(
            registry, Role.ISSUER, "Former clerk", now
        )
        revoke_token(registry, former, now)
        registry.close()
        authority.registry.close()
    return fixtures


def render_scan(pdf: bytes, dpi: int = 300, fmt: str = "PNG") -> bytes:
    """Render the first page of a PDF as a grayscale image file, like a scanner."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(home: Path, **settings: str) -> dict[str, str]:
    """Return a clean environment for a server on `home`, plus WATHIQ_ `settings`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("WATHIQ_", "PROMETHEUS_"))
    }
    env.update(
        WATHIQ_HOME=str(home),
        WATHIQ_KEY_PASSPHRASE=PASSPHRASE,
        WATHIQ_ENVIRONMENT="development",
        WATHIQ_LOG_LEVEL="INFO",
    )
    env.update({f"WATHIQ_{name.upper()}": value for name, value in settings.items()})
    return env


def start_server(
    home: Path, log_path: Path, workers: int = 1, **settings: str
) -> Server:
    """Start ``wathiq serve`` on a free port and wait until /healthz answers."""
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verify.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=server_env(home, **settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wathiq serve exited early:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"wathiq serve did not answer in time:\n{server.log()}")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    return prepare_home(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def server(
    prepared: Fixtures, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with generous limits, shared by the tests of one module."""
    log_path = tmp_path_factory.mktemp("logs") / "server.log"
    running = start_server(
        prepared.home, log_path, verify_rate_per_minute="100000", verify_burst="10000"
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture(scope="module")
def scan_png(prepared: Fixtures) -> bytes:
    assert prepared.judgment is not None and prepared.judgment.pdf is not None
    return render_scan(prepared.judgment.pdf)
