"""The ``wathiq`` command line: a thin layer over the library.

It turns domain errors into one clear message and an exit status. For ``verify``:
0 genuine, 1 not genuine, 3 cannot verify, 2 usage error. Other commands exit 0 on
success, 1 on an error the operator must fix, and 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verify.config import Home
from verify.errors import (
    DocumentInputError,
    RegistryError,
    TrustDataError,
    WathiqError,
)
from verify.verdict import Check, Outcome, Status, Verdict

__all__ = ["main"]

logger = logging.getLogger("wathiq")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANNOT_VERIFY = 0, 1, 2, 3
VERDICT_EXIT = {
    Outcome.GENUINE: EXIT_OK,
    Outcome.NOT_GENUINE: EXIT_ERROR,
    Outcome.CANNOT_VERIFY: EXIT_CANNOT_VERIFY,
}
# Input files given on the command line: documents and batches are small.
MAX_JSON_BYTES = 1024 * 1024


class UsageError(Exception):
    """The command line itself is wrong."""


def _time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}; use ISO 8601 such as 2026-11-18T09:30:00+03:00"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"time {text!r} needs a UTC offset or Z")
    if not 2000 <= parsed.year <= 2200:
        raise argparse.ArgumentTypeError(f"time {text!r} is outside 2000 to 2200")
    return parsed


def int_between(name: str, low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type that accepts whole numbers from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {text!r}; use {low} to {high}"
            )
        return value

    return parse


def _now(args: argparse.Namespace) -> datetime:
    at: datetime | None = getattr(args, "at", None)
    return at or datetime.now(UTC)


def _read_json(path: str) -> Any:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_JSON_BYTES + 1)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_JSON_BYTES:
        raise UsageError(f"{path} is over {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise DocumentInputError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise DocumentInputError(f"{path} is nested too deeply") from None


# Keys.


def cmd_keys_init(args: argparse.Namespace) -> int:
    from verify.signing.authority import Authority

    authority = Authority(Home.from_env())
    created = authority.init_keys(args.court, _now(args))
    for use, kid in created.items():
        print(f"{use:10} {kid}")
    paths = authority.publish(_now(args))
    print(f"published {', '.join(str(path) for path in paths)}")
    print(f"pin this root key id on verifiers: {created['root']}")
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from verify.signing.authority import Authority

    authority = Authority(Home.from_env())
    if args.root:
        kid = authority.rotate_root(_now(args))
        print(f"new root key {kid}; the next key list is signed by the old root too")
    else:
        use = "status" if args.status else "documents"
        kid = authority.rotate(_now(args), args.court, use)
        print(f"new {use} key {kid}; the previous one is retired")
    authority.publish(_now(args))
    return EXIT_OK


def cmd_keys_compromise(args: argparse.Namespace) -> int:
    from verify.signing.authority import Authority

    authority = Authority(Home.from_env())
    replacement = authority.compromise(args.kid, args.since, _now(args))
    authority.publish(_now(args))
    print(f"key {args.kid} marked compromised since {args.since.isoformat()}")
    if replacement:
        print(f"replaced by new key {replacement}")
    return EXIT_OK


def cmd_keys_list(args: argparse.Namespace) -> int:
    from verify.registry import Registry

    registry = Registry(Home.from_env().registry_path)
    keys = registry.keys()
    if args.json:
        print(json.dumps(keys, indent=2))
        return EXIT_OK
    if not keys:
        print("no keys; run 'wathiq keys init'")
        return EXIT_OK
    print(
        f"{'KID':16}  {'USE':9}  {'COURT':8}  {'STATUS':11}  {'VALID FROM':19}"
        f"  {'VALID UNTIL':19}  COMPROMISED SINCE"
    )
    for key in keys:
        until = (key["valid_until"] or "-")[:19]
        compromised = (key["compromised_at"] or "-")[:19]
        print(
            f"{key['kid']:16}  {key['use']:9}  {key['court']:8}  {key['status']:11}"
            f"  {key['valid_from'][:19]:19}  {until:19}  {compromised}"
        )
    return EXIT_OK


def cmd_keys_publish(args: argparse.Namespace) -> int:
    from verify.signing.authority import Authority

    out = Path(args.out) if args.out else None
    paths = Authority(Home.from_env()).publish(_now(args), out)
    print(f"published {', '.join(str(path) for path in paths)}")
    return EXIT_OK


# Documents.


def cmd_sign(args: argparse.Namespace) -> int:
    from verify.documents import parse_document
    from verify.signing.authority import Authority

    document = parse_document(args.type, _read_json(args.json))
    issued = Authority(Home.from_env()).issue(document, _now(args))
    print(issued.qr_text)
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    from verify.signing.authority import Authority

    Authority(Home.from_env()).revoke(
        args.document_id, args.reason, _now(args), successor_id=args.successor
    )
    print(f"document {args.document_id.upper()} is now {args.reason}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from verify.inputs import verify_file
    from verify.scanning import DEFAULT_LIMITS, detect_format
    from verify.verifier import Policy, verify_qr_text

    home = Home.from_env()
    now = _now(args)
    text, data = _verification_input(args.input, DEFAULT_LIMITS.max_bytes)
    store, problem = _load_trust_store(home)
    if store is None:
        verdict = Verdict(
            Status.INDETERMINATE,
            now,
            (Check("key_list", False, problem),),
            reason=problem,
        )
        return _print_verdict(verdict, args)
    registry = None if args.offline else _open_registry(home)
    # Only a court address set on purpose is compared with the QR code's link.
    base_url = os.environ.get("WATHIQ_BASE_URL") or None
    policy = Policy(court_base_url=base_url)
    if data is not None and args.input == "-":
        try:
            detect_format(data)
        except WathiqError:
            # Bytes on standard input that are no image or PDF: a QR text.
            text, data = data.decode("utf-8", "replace").strip(), None
    if data is not None:
        verdict = verify_file(data, store, now=now, policy=policy, registry=registry)
    else:
        assert text is not None
        verdict = verify_qr_text(text, store, now=now, policy=policy, registry=registry)
    return _print_verdict(verdict, args)


def _verification_input(source: str, max_bytes: int) -> tuple[str | None, bytes | None]:
    """Return (QR text, None) or (None, file bytes) for the verify argument."""
    if source == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        if not data.strip():
            raise UsageError("standard input is empty; pipe a QR text or a file")
        return None, data
    if not source.strip():
        raise UsageError("the QR text is empty; give a QR text, a file, or -")
    try:
        is_file = Path(source).is_file()
    except OSError:
        # Too long for a file name, so it can only be a QR text.
        is_file = False
    if is_file:
        return None, _read_bytes(Path(source))
    if "://" not in source and (
        source.startswith(("/", "./", "../", "~"))
        or Path(source).suffix.lower() in _FILE_SUFFIXES
    ):
        raise UsageError(f"file not found: {source}")
    return source, None


_FILE_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".txt"}


def _load_trust_store(home: Home) -> tuple[Any, str]:
    """Load this machine's trust store, or return None and what is wrong with it."""
    from verify.trust import TrustStore

    try:
        return TrustStore.load(home.trust_dir), ""
    except TrustDataError as error:
        return None, f"this machine's trust data cannot be used: {error}"
    except OSError as error:
        problem = f"cannot read the trust store in {home.trust_dir}: {error.strerror}"
        return None, problem


def _open_registry(home: Home) -> Any:
    """Open the local registry for online checks, or return None if there is none."""
    from verify.registry import Registry

    if not home.registry_path.exists():
        return None
    try:
        return Registry(home.registry_path)
    except (RegistryError, OSError) as error:
        print(f"wathiq: warning: verifying offline: {error}", file=sys.stderr)
        return None


def _print_verdict(verdict: Verdict, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_verdict(verdict, args.lang))
    return VERDICT_EXIT[verdict.outcome]


def format_verdict(verdict: Verdict, lang: str) -> str:
    """Write a verdict as a person reads it."""
    from verify.messages import field_rows, headline, next_step, status_text

    mark = {"genuine": "✔", "not_genuine": "✘", "cannot_verify": "?"}
    lines = [
        f"{mark[verdict.outcome.value]} {headline(verdict, lang)}  [{verdict.status}]",
        status_text(verdict, lang),
    ]
    if verdict.reason and verdict.status.value != "REVOKED":
        lines.append(verdict.reason)
    rows = field_rows(verdict.document, lang)
    width = max((len(label) for label, _ in rows), default=0)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in rows]
    lines.append("")
    for check in verdict.checks:
        lines.append(f"  {'✔' if check.passed else '✘'} {check.name}: {check.detail}")
    lines.append("")
    lines.append(next_step(verdict, lang))
    return "\n".join(lines)


def cmd_trust_import(args: argparse.Namespace) -> int:
    from verify.trust import TrustStore

    home = Home.from_env()
    source = Path(args.directory)
    if args.pin_root:
        _pin_root(home, source / "root.json", args.pin_root)
    store = TrustStore.load(home.trust_dir)
    now = _now(args)
    store.accept_key_list(_read_bytes(source / "keys.json"), now)
    store.accept_status_list(_read_bytes(source / "status.json"), now)
    assert store.key_list is not None and store.status_list is not None
    print(
        f"accepted key list version {store.key_list.version} and status list"
        f" version {store.status_list.version}"
    )
    return EXIT_OK


def _pin_root(home: Home, path: Path, kid: str) -> None:
    """Pin the root key in `path` if its kid is the one the operator expects."""
    from verify.crypto import WeakKeyError, kid_for, public_key_from_jwk
    from verify.errors import TrustDataError
    from verify.trust import TrustStore

    if (home.trust_dir / "root.json").exists():
        raise UsageError(
            f"a root key is already pinned in {home.trust_dir}; a new root is only"
            " accepted through a key list signed by the old root"
        )
    try:
        jwk = json.loads(_read_bytes(path))["jwk"]
        public_key = public_key_from_jwk(jwk)
    except (ValueError, KeyError, TypeError, WeakKeyError) as error:
        raise TrustDataError(
            f"{path} does not hold a valid root key: {error}"
        ) from None
    if kid_for(public_key).hex() != kid.strip().lower():
        raise TrustDataError(
            f"the root key in {path} has kid {kid_for(public_key).hex()}, not {kid};"
            " do not pin it, and check where the bundle came from"
        )
    TrustStore.pin(home.trust_dir, jwk)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wathiq",
        description="Issue signed court documents and verify them from their QR code."
        " State lives in WATHIQ_HOME (default ./var).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log decisions")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_keys(commands)
    _add_documents(commands)
    _add_extensions(commands)
    return parser


def _add(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help
    )
    command.set_defaults(handler=handler)
    return command


def _add_keys(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage signing keys and the key list")
    actions = keys.add_subparsers(dest="action", required=True)
    init = _add(actions, "init", cmd_keys_init, "create the root key and first keys")
    init.add_argument(
        "--court",
        default="RYD-ADM",
        help="court code the keys sign for (default RYD-ADM)",
    )
    rotate = _add(
        actions, "rotate", cmd_keys_rotate, "add a key and retire the old one"
    )
    rotate.add_argument("--court", help="court whose issuing key to rotate")
    rotate.add_argument("--root", action="store_true", help="rotate the root key")
    rotate.add_argument(
        "--status", action="store_true", help="rotate the status-list key"
    )
    compromise = _add(
        actions, "compromise", cmd_keys_compromise, "mark an issuing key compromised"
    )
    compromise.add_argument("kid", help="key id, 16 hex digits")
    compromise.add_argument(
        "--since",
        type=_time,
        required=True,
        help="when the compromise began, ISO 8601 with offset, such as"
        " 2026-11-01T00:00:00+03:00",
    )
    listing = _add(actions, "list", cmd_keys_list, "show keys and their state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    publish = _add(
        actions, "publish", cmd_keys_publish, "write keys.json and status.json"
    )
    publish.add_argument(
        "--out", help="directory to write to (default WATHIQ_HOME/public)"
    )


def _add_documents(commands: Any) -> None:
    from verify.documents import DOCUMENT_TYPES
    from verify.registry import REVOCATION_REASONS

    sign = _add(commands, "sign", cmd_sign, "sign a document and print its QR text")
    sign.add_argument(
        "--type", required=True, choices=list(DOCUMENT_TYPES), help="document type"
    )
    sign.add_argument("--json", required=True, help="document fields, a JSON file")
    revoke = _add(commands, "revoke", cmd_revoke, "revoke, supersede or set aside")
    revoke.add_argument("document_id", help="document id as printed on the document")
    revoke.add_argument(
        "--reason",
        required=True,
        choices=list(REVOCATION_REASONS),
        help="revoked (withdrawn), superseded (replaced) or set-aside (overturned)",
    )
    revoke.add_argument("--successor", help="id of the document that replaces it")
    verify = _add(commands, "verify", cmd_verify, "verify a QR text, image or PDF")
    verify.add_argument("input", help="QR text, a file (image or PDF), or - for stdin")
    verify.add_argument(
        "--lang",
        choices=["ar", "en"],
        default="ar",
        help="language of the verdict: ar (Arabic, default) or en (English)",
    )
    verify.add_argument(
        "--at",
        type=_time,
        help="verify as of this time instead of now, ISO 8601 with offset (audits)",
    )
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.add_argument(
        "--offline", action="store_true", help="do not consult the local registry"
    )
    trust = commands.add_parser("trust", help="manage this machine's trust store")
    actions = trust.add_subparsers(dest="action", required=True)
    importer = _add(
        actions, "import", cmd_trust_import, "accept keys.json and status.json from DIR"
    )
    importer.add_argument("directory", help="a directory written by 'keys publish'")
    importer.add_argument(
        "--pin-root",
        metavar="KID",
        help="on a new verifier, pin the bundle's root key if its kid is KID",
    )


def _add_extensions(commands: Any) -> None:
    """Add the commands of the other modules that are installed."""
    import kiosk.cli
    import verify.api.cli
    from verify import cli_documents

    cli_documents.add_commands(commands, _add)
    verify.api.cli.add_commands(commands, _add)
    kiosk.cli.add_commands(commands, _add)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # fontTools logs every subsetting step at DEBUG; -v is for wathiq's decisions.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    try:
        result: int = args.handler(args)
    except UsageError as error:
        print(f"wathiq: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DocumentInputError as error:
        print(f"wathiq: invalid document: {error}", file=sys.stderr)
        return EXIT_USAGE
    except WathiqError as error:
        print(f"wathiq: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of our output went away (as in "wathiq verify x | head -1").
        sys.stderr.close()
        return EXIT_OK
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"wathiq: error: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("wathiq: interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
