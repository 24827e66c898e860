"""CLI commands for issuing PDFs, batches, and scanning files for QR codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verify.config import Home
from verify.errors import DocumentInputError, InputError, WathiqError

__all__ = ["add_commands"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
MAX_BATCH_LINE_BYTES = 64 * 1024


def _now(args: argparse.Namespace) -> datetime:
    at: datetime | None = getattr(args, "at", None)
    return at or datetime.now(UTC)


def cmd_issue(args: argparse.Namespace) -> int:
    from verify.cli import _read_json
    from verify.documents import parse_document
    from verify.signing.authority import Authority

    if bool(args.json) == bool(args.batch):
        print("wathiq: error: give either --json FILE or --batch FILE", file=sys.stderr)
        return EXIT_USAGE
    authority = Authority(Home.from_env())
    if args.batch:
        if not args.out_dir:
            print("wathiq: error: --batch needs --out-dir DIR", file=sys.stderr)
            return EXIT_USAGE
        return _issue_batch(authority, args)
    if not args.out:
        print("wathiq: error: --json needs --out FILE.pdf", file=sys.stderr)
        return EXIT_USAGE
    document = parse_document(args.type, _read_json(args.json))
    issued = authority.issue(document, _now(args), with_pdf=True)
    assert issued.pdf is not None
    _write_new(Path(args.out), issued.pdf)
    print(f"{issued.document_id}  {args.out}")
    return EXIT_OK


def _issue_batch(authority: Any, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from verify.documents import parse_document

    try:
        lines = Path(args.batch).read_bytes().splitlines()
    except OSError as error:
        print(
            f"wathiq: error: cannot read {args.batch}: {error.strerror}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = created = reused = 0
    progress = tqdm(lines, desc="issuing", unit="doc", file=sys.stderr, disable=None)
    for number, line in enumerate(progress, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_BATCH_LINE_BYTES:
                raise DocumentInputError(f"line is over {MAX_BATCH_LINE_BYTES} bytes")
            try:
                data = json.loads(line)
            except (ValueError, UnicodeDecodeError) as error:
                raise DocumentInputError(f"not valid JSON: {error}") from None
            document = parse_document(args.type, data)
            # The content digest as request key: re-running a batch returns the
            # documents already issued instead of issuing them twice.
            issued = authority.issue(
                document,
                _now(args),
                request_key=f"batch:{document.type}:{document.digest.hex()}",
                with_pdf=True,
            )
        except WathiqError as error:
            failed += 1
            progress.write(f"line {number}: {error}", file=sys.stderr)
            continue
        path = out_dir / f"{number:05d}-{issued.document_id}.pdf"
        if not path.exists():
            _write_new(path, issued.pdf)
        created += issued.created
        reused += not issued.created
    print(
        f"issued {created}, already issued {reused}, failed {failed}; PDFs in {out_dir}"
    )
    return EXIT_ERROR if failed else EXIT_OK


def _write_new(path: Path, data: bytes | None) -> None:
    assert data is not None
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(data)
    temporary.replace(path)


def cmd_scan(args: argparse.Namespace) -> int:
    from verify.scanning import scan

    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        print(
            f"wathiq: error: cannot read {args.file}: {error.strerror}", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        texts = scan(data)
    except InputError as error:
        print(f"wathiq: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(texts, ensure_ascii=False))
    else:
        for text in texts:
            print(text)
    return EXIT_OK


def add_commands(
    commands: Any,
    add: Callable[..., argparse.ArgumentParser],
) -> None:
    from verify.documents import DOCUMENT_TYPES

    issue = add(commands, "issue", cmd_issue, "issue a signed PDF, or a batch of them")
    issue.add_argument("type", choices=list(DOCUMENT_TYPES))
    issue.add_argument("--json", help="document fields, a JSON file")
    issue.add_argument("--out", help="PDF file to write")
    issue.add_argument("--batch", help="JSON Lines file, one document per line")
    issue.add_argument("--out-dir", help="directory for the batch's PDFs")
    scan = add(commands, "scan", cmd_scan, "print every QR text in an image or PDF")
    scan.add_argument("file", help="image (PNG, JPEG, WebP, TIFF) or PDF")
    scan.add_argument("--json", action="store_true", help="print a JSON list")
