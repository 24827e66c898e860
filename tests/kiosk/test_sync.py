"""Syncing trust data from the API's published lists, served by a local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.bundle import TrustBundle
from kiosk.bundle_source import read_bundle
from kiosk.settings import KioskHome
from kiosk.sync import SyncClient, SyncError, run_periodically
from tests.kiosk.court import Court, days_ago
from tests.kiosk.running import PublishServer, serve_publish_dir
from verify.cli import main
from verify.config import Home
from verify.errors import TrustDataError
from verify.verifier import Policy, verify_qr_text


@pytest.fixture
def court(tmp_path: Path) -> Court:
    return Court.create(tmp_path / "court", days_ago(10))


@pytest.fixture
def api(court: Court, tmp_path: Path) -> Iterator[PublishServer]:
    """The court's publish directory served at /.well-known/wathiq/."""
    directory = court.publish(tmp_path / "public")
    server = serve_publish_dir(directory)
    yield server
    server.stop()


@pytest.fixture
def bundle(home: Home, court: Court, tmp_path: Path) -> TrustBundle:
    bundle = TrustBundle(KioskHome.from_home(home))
    bundle.apply(
        read_bundle(tmp_path / "public"), datetime.now(UTC), pin_root=court.root_kid
    )
    return bundle


def verdict_status(bundle: TrustBundle, qr_text: str) -> str:
    store = bundle.current()
    assert store is not None
    return verify_qr_text(qr_text, store, now=datetime.now(UTC)).status.value


def test_sync_after_revocation_turns_verdict_revoked(
    court: Court, api: PublishServer, bundle: TrustBundle, tmp_path: Path
):
    document = court.issue("judgment_copy", days_ago(1))
    court.publish(tmp_path / "public")
    client = SyncClient(api.url, bundle, Policy())
    client.sync()
    assert verdict_status(bundle, document.qr_text) == "GENUINE"

    court.revoke(document.document_id, datetime.now(UTC))
    court.publish(tmp_path / "public")
    result = client.sync()
    assert result is not None
    assert result.changed
    assert verdict_status(bundle, document.qr_text) == "REVOKED"


def test_sync_sends_etag_and_accepts_not_modified(
    api: PublishServer, bundle: TrustBundle
):
    client = SyncClient(api.url, bundle, Policy())
    first = client.sync()
    assert first is not None
    assert not first.changed
    assert client.sync() is None
    assert client.status.error is None
    assert client.status.succeeded_at is not None


def test_sync_with_api_down_keeps_bundle(
    home: Home, api: PublishServer, bundle: TrustBundle
):
    api.stop()
    link = KioskHome.from_home(home).trust_link
    before = sorted(path.read_bytes() for path in link.iterdir())
    client = SyncClient(api.url, bundle, Policy())
    with pytest.raises(SyncError, match="failed"):
        client.sync()
    assert client.status.error is not None
    assert sorted(path.read_bytes() for path in link.iterdir()) == before


def test_sync_of_rolled_back_lists_keeps_bundle(
    court: Court, api: PublishServer, bundle: TrustBundle, tmp_path: Path
):
    # The kiosk got a newer bundle from a USB stick; the API still serves the old.
    newer = court.publish(tmp_path / "newer")
    bundle.apply(read_bundle(newer), datetime.now(UTC))
    store = bundle.current()
    assert store is not None and store.key_list is not None
    held = store.key_list.version
    with pytest.raises(TrustDataError, match="rollback"):
        SyncClient(api.url, bundle, Policy()).sync()
    store = bundle.current()
    assert store is not None and store.key_list is not None
    assert store.key_list.version == held


def test_sync_of_oversized_list_rejected(
    api: PublishServer, bundle: TrustBundle, tmp_path: Path
):
    (tmp_path / "public" / "status.json").write_bytes(b" " * (2 * 1024 * 1024))
    with pytest.raises(SyncError, match="over"):
        SyncClient(api.url, bundle, Policy()).sync()


def test_sync_command_reports_versions(
    court: Court,
    api: PublishServer,
    bundle: TrustBundle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("WATHIQ_KIOSK_API_URL", api.url)
    court.publish(tmp_path / "public")
    assert main(["kiosk", "sync"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"synced from {api.url}: key list version")
    assert main(["kiosk", "sync"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_sync_command_without_api_url(capsys: pytest.CaptureFixture[str]):
    assert main(["kiosk", "sync"]) == 1
    assert "WATHIQ_KIOSK_API_URL is not set" in capsys.readouterr().err


def test_sync_command_with_api_down(
    api: PublishServer,
    bundle: TrustBundle,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("WATHIQ_KIOSK_API_URL", api.url)
    api.stop()
    assert main(["kiosk", "sync"]) == 1
    err = capsys.readouterr().err
    assert f"GET {api.url}/.well-known/wathiq/keys.json failed" in err


def test_periodic_sync_runs_at_once(api: PublishServer, bundle: TrustBundle):
    client = SyncClient(api.url, bundle, Policy())
    stop = threading.Event()
    thread = threading.Thread(target=run_periodically, args=(client, 3600, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while client.status.attempted_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert client.status.succeeded_at is not None
    assert client.status.error is None
