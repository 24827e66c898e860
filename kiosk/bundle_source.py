"""Read a trust bundle from a USB stick: a publish directory or an archive of one.

An archive is a tar file (plain, gzip, bzip2 or xz) or a ZIP file, recognised by
its content rather than its name. Only ``keys.json``, ``status.json`` and
``root.json`` are read, at the top level or inside one directory, and always into
memory: nothing from an archive is extracted to disk, so member names such as
``../x`` or links cannot write anywhere.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path
from typing import IO

from kiosk.bundle import BundleFiles
from verify.errors import TrustDataError
from verify.trust import MAX_LIST_BYTES

__all__ = ["read_bundle"]

BUNDLE_NAMES = ("keys.json", "status.json", "root.json")
# A publish directory contains three files of at most MAX_LIST_BYTES each; an archive
# of it is smaller. The member cap bounds the work on an archive of something else.
MAX_ARCHIVE_BYTES = 4 * MAX_LIST_BYTES
MAX_ARCHIVE_MEMBERS = 64


def read_bundle(path: Path) -> BundleFiles:
    """Read the bundle files at `path`, raising TrustDataError if there are none."""
    if path.is_dir():
        found = {name: _read_file(path / name) for name in BUNDLE_NAMES}
    elif path.is_file():
        found = _read_archive(path)
    else:
        raise TrustDataError(f"{path} is neither a directory nor a file")
    if found["keys.json"] is None and found["status.json"] is None:
        raise TrustDataError(
            f"{path} contains neither keys.json nor status.json; give the directory"
            " that 'wathiq keys publish' writes, or an archive of it"
        )
    return BundleFiles(
        keys=found["keys.json"], status=found["status.json"], root=found["root.json"]
    )


def _read_file(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as stream:
            return _read_capped(stream, path.name)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise TrustDataError(f"cannot read {path}: {error.strerror}") from None


def _read_capped(stream: IO[bytes], name: str) -> bytes:
    data = stream.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise TrustDataError(f"{name} is over {MAX_LIST_BYTES} bytes")
    return data


def _read_archive(path: Path) -> dict[str, bytes | None]:
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise TrustDataError(
            f"{path} is {size} bytes, over the {MAX_ARCHIVE_BYTES}-byte limit for a"
            " bundle archive"
        )
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    if tarfile.is_tarfile(path):
        return _read_tar(path)
    raise TrustDataError(f"{path} is not a directory, a tar archive or a ZIP file")


def _bundle_name(member_name: str) -> str | None:
    """Return the bundle file a member stands for, or None to skip it."""
    parts = [part for part in member_name.split("/") if part not in ("", ".")]
    if len(parts) in (1, 2) and parts[-1] in BUNDLE_NAMES:
        return parts[-1]
    return None


def _read_tar(path: Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = dict.fromkeys(BUNDLE_NAMES)
    try:
        with tarfile.open(path, "r:*") as archive:
            for count, member in enumerate(archive, start=1):
                if count > MAX_ARCHIVE_MEMBERS:
                    raise TrustDataError(
                        f"{path} has over {MAX_ARCHIVE_MEMBERS} members"
                    )
                name = _bundle_name(member.name)
                if name is None or not member.isfile():
                    continue
                _check_unique(found, name, path)
                stream = archive.extractfile(member)
                assert stream is not None, "extractfile returns a stream for files"
                found[name] = _read_capped(stream, name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise TrustDataError(f"{path} is a damaged tar archive: {error}") from None
    return found


def _read_zip(path: Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = dict.fromkeys(BUNDLE_NAMES)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise TrustDataError(f"{path} has over {MAX_ARCHIVE_MEMBERS} members")
            for member in members:
                name = _bundle_name(member.filename)
                if name is None or member.is_dir():
                    continue
                _check_unique(found, name, path)
                with archive.open(member) as stream:
                    found[name] = _read_capped(stream, name)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise TrustDataError(f"{path} is a damaged ZIP file: {error}") from None
    return found


def _check_unique(found: dict[str, bytes | None], name: str, path: Path) -> None:
    if found[name] is not None:
        raise TrustDataError(
            f"{path} contains {name} more than once; archive a single publish directory"
        )
