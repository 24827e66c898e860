"""CLI commands of this package, added to the ``wathiq`` command.

``wathiq kiosk`` runs the kiosk; its subcommands manage the kiosk's trust bundle
without the server. Errors reach ``verify.cli.main``, which prints them and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.config import Home

if TYPE_CHECKING:
    from kiosk.settings import KioskSettings

__all__ = ["add_commands"]


def add_commands(commands: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this package's subcommands to the ``wathiq`` parser."""
    from verify.cli import int_between

    kiosk = commands.add_parser(
        "kiosk",
        help="run the offline verification kiosk, or manage its trust data",
        description="Run the kiosk: a server on 127.0.0.1 and Chromium in kiosk mode"
        " on its page. Settings come from WATHIQ_KIOSK_* variables and"
        " WATHIQ_HOME/kiosk/settings.env.",
    )
    kiosk.set_defaults(handler=cmd_kiosk_run)
    kiosk.add_argument(
        "--no-browser", action="store_true", help="run the server without a browser"
    )
    kiosk.add_argument(
        "--port",
        type=int_between("port", 1, 65535),
        help="TCP port on 127.0.0.1 (default 8765)",
    )
    actions = kiosk.add_subparsers(dest="action", metavar="ACTION")
    importer = add(
        actions,
        "import-bundle",
        cmd_kiosk_import,
        "accept a trust bundle: a 'wathiq keys publish' directory or an archive",
    )
    importer.add_argument("path", type=Path, help="directory, tar or ZIP file")
    importer.add_argument(
        "--pin-root",
        metavar="KID",
        help="on first use, pin the bundle's root key if its kid is KID"
        " (16 hex digits, printed by 'wathiq keys init')",
    )
    add(actions, "sync", cmd_kiosk_sync, "fetch newer lists from WATHIQ_KIOSK_API_URL")
    add(actions, "status", cmd_kiosk_status, "show the trust bundle and usage counts")


def _now(args: argparse.Namespace) -> datetime:
    # No --at option: a reference time in the past would let an expired list pass.
    return datetime.now(UTC)


def _settings(**overrides: object) -> KioskSettings:
    from kiosk.settings import KioskHome, load_settings

    return load_settings(KioskHome.from_env(), **overrides)


def cmd_kiosk_run(args: argparse.Namespace) -> int:
    import logging

    from kiosk.server import run_kiosk

    settings = _settings(port=args.port)
    # The kiosk logs its starts, syncs and stops even without --verbose.
    kiosk_logger = logging.getLogger("kiosk")
    if kiosk_logger.getEffectiveLevel() > logging.INFO:
        kiosk_logger.setLevel(logging.INFO)
    run_kiosk(Home.from_env(), settings, open_browser=not args.no_browser)
    return 0


def cmd_kiosk_import(args: argparse.Namespace) -> int:
    from kiosk.bundle import TrustBundle
    from kiosk.bundle_source import read_bundle
    from kiosk.screen import trust_view
    from kiosk.settings import KioskHome

    settings = _settings()
    files = read_bundle(args.path)
    bundle = TrustBundle(KioskHome.from_env())
    now = _now(args)
    result = bundle.apply(files, now, pin_root=args.pin_root, policy=settings.policy)
    verb = "accepted" if result.changed else "already held"
    print(
        f"{verb}: key list version {result.key_list_version}, status list version"
        f" {result.status_list_version}, root key {result.root_kid}"
    )
    view = trust_view(bundle.current(), settings.policy, now)
    if not view["usable"]:
        # The lists are valid but past the age limits, so checks end in INDETERMINATE.
        print(
            f"wathiq: warning: {view['text']['en']}; import a newer bundle",
            file=sys.stderr,
        )
    return 0


def cmd_kiosk_sync(args: argparse.Namespace) -> int:
    from kiosk.bundle import TrustBundle
    from kiosk.settings import KioskHome, SettingsError
    from kiosk.sync import SyncClient

    settings = _settings()
    if not settings.api_url:
        raise SettingsError(
            "WATHIQ_KIOSK_API_URL is not set; set it, or use 'wathiq kiosk"
            " import-bundle PATH'"
        )
    client = SyncClient(
        settings.api_url, TrustBundle(KioskHome.from_env()), settings.policy
    )
    result = client.sync(_now(args))
    if result is None or not result.changed:
        print(f"trust data is up to date with {settings.api_url}")
    else:
        print(
            f"synced from {settings.api_url}: key list version"
            f" {result.key_list_version}, status list version"
            f" {result.status_list_version}"
        )
    return 0


def cmd_kiosk_status(args: argparse.Namespace) -> int:
    from kiosk.bundle import TrustBundle
    from kiosk.counts import UsageCounts
    from kiosk.screen import trust_view
    from kiosk.settings import KioskHome
    from verify.crypto import kid_for

    settings = _settings()
    kiosk_home = KioskHome.from_env()
    store = TrustBundle(kiosk_home).current()
    view = trust_view(store, settings.policy, _now(args))
    if store is None:
        print("no trust bundle; run 'wathiq kiosk import-bundle PATH --pin-root KID'")
    else:
        print(f"root key          {kid_for(store.root_public_key).hex()}")
        print(
            f"key list          version {view['key_list_version']},"
            f" {view['key_list_age_seconds'] // 3600} hours old"
        )
        print(
            f"status list       version {view['status_list_version']},"
            f" {view['status_list_age_seconds'] // 3600} hours old"
        )
        usable = "yes" if view["usable"] else "no: " + view["text"]["en"]
        print(f"usable            {usable}")
    if kiosk_home.counts_path.exists():
        counts = UsageCounts(kiosk_home.counts_path)
        try:
            for row in counts.checks():
                columns = f"{row['day']}  {row['source']:8} {row['status']:18}"
                print(f"checks  {columns} {row['count']}")
            for row in counts.ratings():
                print(f"rating  {row['day']}  {row['rating']:8} {row['count']}")
        finally:
            counts.close()
    return 0
