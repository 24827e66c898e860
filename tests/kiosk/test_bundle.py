"""Importing trust bundles: pinning, archives, and rejected bundles keeping the old."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.bundle import BundleFiles, TrustBundle
from kiosk.bundle_source import read_bundle
from kiosk.settings import KioskHome
from tests.kiosk.conftest import World
from tests.kiosk.court import days_ago
from tests.simulator import SimulatedIssuer
from verify.cli import main
from verify.config import Home
from verify.errors import TrustDataError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["kiosk", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def held_versions(home: Home) -> tuple[int, int]:
    store = TrustBundle(KioskHome.from_home(home)).current()
    assert store is not None
    assert store.key_list is not None and store.status_list is not None
    return store.key_list.version, store.status_list.version


def trust_files(home: Home) -> dict[str, bytes]:
    link = KioskHome.from_home(home).trust_link
    return {path.name: path.read_bytes() for path in sorted(link.iterdir())}


def test_first_import_needs_pin_root(
    home: Home, world: World, capsys: pytest.CaptureFixture[str]
):
    code, _, err = run(capsys, "import-bundle", str(world.bundle))
    assert code == 1
    assert "--pin-root KID" in err
    assert not os.path.lexists(KioskHome.from_home(home).trust_link)


def test_first_import_with_wrong_root_kid(
    home: Home, world: World, capsys: pytest.CaptureFixture[str]
):
    code, _, err = run(
        capsys, "import-bundle", str(world.bundle), "--pin-root", "0123456789abcdef"
    )
    assert code == 1
    assert f"has kid {world.court.root_kid}, not 0123456789abcdef" in err
    assert not os.path.lexists(KioskHome.from_home(home).trust_link)


def test_first_import_pins_root(
    home: Home, world: World, capsys: pytest.CaptureFixture[str]
):
    code, out, err = run(
        capsys, "import-bundle", str(world.bundle), "--pin-root", world.court.root_kid
    )
    assert code == 0, err
    assert out.startswith("accepted: key list version")
    assert f"root key {world.court.root_kid}" in out
    code, out, _ = run(capsys, "import-bundle", str(world.bundle))
    assert code == 0
    assert out.startswith("already held:")


def test_root_read_from_key_list_without_root_json(
    home: Home, world: World, tmp_path: Path
):
    bundle = tmp_path / "bundle"
    shutil.copytree(world.bundle, bundle)
    (bundle / "root.json").unlink()
    result = TrustBundle(KioskHome.from_home(home)).apply(
        read_bundle(bundle), datetime.now(UTC), pin_root=world.court.root_kid
    )
    assert result.root_kid == world.court.root_kid


def _tar(source: Path, target: Path, mode: str) -> Path:
    with tarfile.open(target, mode) as archive:
        archive.add(source, arcname="wathiq-bundle")
    return target


def _zip(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in source.iterdir():
            archive.write(path, f"wathiq-bundle/{path.name}")
    return target


@pytest.mark.parametrize("kind", ["tar.gz", "tar.xz", "tar", "zip"])
def test_import_from_archive(
    home: Home, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind
):
    # The name says nothing: the format is recognised from the content.
    target = tmp_path / "bundle.bin"
    if kind == "zip":
        _zip(world.bundle, target)
    else:
        _tar(world.bundle, target, "w:" + kind.removeprefix("tar").lstrip("."))
    code, out, err = run(
        capsys, "import-bundle", str(target), "--pin-root", world.court.root_kid
    )
    assert code == 0, err
    assert out.startswith("accepted:")


def test_archive_with_traversal_names_writes_nothing(tmp_path: Path, world: World):
    archive_path = tmp_path / "evil.tar"
    with tarfile.open(archive_path, "w") as archive:
        data = (world.bundle / "keys.json").read_bytes()
        for name in ("../../keys.json", "a/b/c/status.json"):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        link = tarfile.TarInfo("status.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(TrustDataError, match=r"neither keys\.json nor status\.json"):
        read_bundle(archive_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["evil.tar"]


def test_archive_with_duplicate_members_rejected(tmp_path: Path, world: World):
    archive_path = tmp_path / "twice.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.write(world.bundle / "keys.json", "keys.json")
        archive.write(world.bundle / "keys.json", "other/keys.json")
    with pytest.raises(TrustDataError, match="more than once"):
        read_bundle(archive_path)


def test_rolled_back_bundle_rejected_and_old_kept(
    home: Home,
    world: World,
    installed: TrustBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    newer = world.court.publish(tmp_path / "newer")
    code, _, err = run(capsys, "import-bundle", str(newer))
    assert code == 0, err
    before, versions = trust_files(home), held_versions(home)
    code, _, err = run(capsys, "import-bundle", str(world.bundle))
    assert code == 1
    assert "rollback" in err
    assert trust_files(home) == before
    assert held_versions(home) == versions


def test_expired_bundle_rejected_and_old_kept(
    home: Home,
    world: World,
    installed: TrustBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    # Key lists live 30 days, so one published 40 days ago has expired, although
    # its version is newer than the held one.
    expired = world.court.publish(tmp_path / "expired", days_ago(40))
    before = trust_files(home)
    code, _, err = run(capsys, "import-bundle", str(expired))
    assert code == 1
    assert "expired" in err
    assert trust_files(home) == before


def test_bundle_of_another_root_rejected_and_old_kept(
    home: Home, installed: TrustBundle, capsys: pytest.CaptureFixture[str]
):
    stranger = SimulatedIssuer()
    now = datetime.now(UTC)
    files = BundleFiles(
        keys=stranger.key_list(now, version=99), status=stranger.status_list(now)
    )
    before = trust_files(home)
    with pytest.raises(TrustDataError, match="not signed by the trusted root key"):
        installed.apply(files, now)
    assert trust_files(home) == before


def test_altered_key_list_rejected_and_old_kept(
    home: Home,
    world: World,
    installed: TrustBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    newer = world.court.publish(tmp_path / "newer")
    envelope = json.loads((newer / "keys.json").read_bytes())
    envelope["signed"]["expires_at"] = (
        datetime.now(UTC) + timedelta(days=3650)
    ).isoformat()
    (newer / "keys.json").write_text(json.dumps(envelope))
    before = trust_files(home)
    code, _, err = run(capsys, "import-bundle", str(newer))
    assert code == 1
    assert "not signed by the trusted root key" in err
    assert trust_files(home) == before


def test_bad_status_list_keeps_whole_old_bundle(
    home: Home,
    world: World,
    installed: TrustBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    # A good key list beside a bad status list: neither replaces the held pair.
    newer = world.court.publish(tmp_path / "newer")
    stranger = SimulatedIssuer()
    (newer / "status.json").write_bytes(stranger.status_list(datetime.now(UTC)))
    before, versions = trust_files(home), held_versions(home)
    code, _, err = run(capsys, "import-bundle", str(newer))
    assert code == 1
    assert "not signed by an active status key" in err
    assert trust_files(home) == before
    assert held_versions(home) == versions
    bundles = KioskHome.from_home(home).bundles_dir
    assert not [path for path in bundles.iterdir() if path.name.startswith(".")]


def test_import_of_stale_bundle_warns(
    home: Home,
    world: World,
    installed: TrustBundle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
):
    # It has not expired, so it is accepted, but it is past the 72-hour limit.
    stale = world.court.publish(tmp_path / "stale", days_ago(4))
    code, out, err = run(capsys, "import-bundle", str(stale))
    assert code == 0
    assert out.startswith("accepted:")
    assert "warning: Trust data age: 4 days, older than allowed" in err


def test_import_rejected_while_clock_behind(
    home: Home, world: World, installed: TrustBundle, tmp_path: Path
):
    newer = world.court.publish(tmp_path / "newer")
    before = trust_files(home)
    with pytest.raises(TrustDataError, match="correct the clock"):
        installed.apply(read_bundle(newer), days_ago(1))
    assert trust_files(home) == before


def test_pin_root_cannot_change_after_first_import(
    world: World, installed: TrustBundle, capsys: pytest.CaptureFixture[str]
):
    code, _, err = run(
        capsys, "import-bundle", str(world.bundle), "--pin-root", "0123456789abcdef"
    )
    assert code == 1
    assert f"already pins root key {world.court.root_kid}" in err


def test_previous_bundle_kept_and_older_ones_deleted(
    home: Home, world: World, installed: TrustBundle, tmp_path: Path
):
    first = os.readlink(KioskHome.from_home(home).trust_link)
    for number in range(3):
        newer = world.court.publish(tmp_path / f"newer-{number}")
        installed.apply(read_bundle(newer), datetime.now(UTC))
    bundles = sorted(
        path.name for path in KioskHome.from_home(home).bundles_dir.iterdir()
    )
    assert len(bundles) == 2
    assert Path(first).name not in bundles


def test_status_command_shows_versions(
    world: World, installed: TrustBundle, capsys: pytest.CaptureFixture[str]
):
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert f"root key          {world.court.root_kid}" in out
    assert "usable            yes" in out


def test_status_command_without_bundle(capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert "no trust bundle" in out
