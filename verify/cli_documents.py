"""CLI commands for issuing PDFs, batches, and scanning files for QR codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from verify.config import Home
from verify.errors import DocumentInputError, InputError, WathiqError

__all__ = ["add_commands"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
MAX_BATCH_LINE_BYTES = 64 * 1024


def cmd_issue(args: argparse.Namespace) -> int:
    from verify.cli import _now, _read_json
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
    out = Path(args.out)
    problem = _unwritable(out)
    if problem:
        print(f"wathiq: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    document = parse_document(args.type, _read_json(args.json))
    issued = authority.issue(document, _now(args), with_pdf=True)
    assert issued.pdf is not None
    _write_new(out, issued.pdf)
    print(f"{issued.document_id}  {out}")
    return EXIT_OK


def _unwritable(path: Path) -> str | None:
    """Say why a PDF cannot be written to `path`, checked before anything is issued."""
    if path.is_dir():
        return f"--out {path} is a directory; give a file name such as copy.pdf"
    if path.exists():
        return f"{path} already exists; choose another file name"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"the directory {parent} does not exist; create it first"
    if not os.access(parent, os.W_OK):
        return f"cannot write to the directory {parent}"
    return None


def _issue_batch(authority: Any, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from verify.cli import _now

    try:
        lines = Path(args.batch).read_bytes().splitlines()
    except OSError as error:
        print(
            f"wathiq: error: cannot read {args.batch}: {error.strerror}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        print(f"wathiq: error: --out-dir {out_dir} is a file", file=sys.stderr)
        return EXIT_USAGE
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        _BatchJob(number, line, args.type, _now(args).isoformat(), str(out_dir))
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    workers = args.workers or min(os.cpu_count() or 1, 4)
    failed = created = reused = 0
    progress = tqdm(total=len(jobs), desc="issuing", unit="doc", file=sys.stderr)
    with progress:
        for job, outcome in _run_jobs(jobs, workers, authority):
            progress.update()
            if isinstance(outcome, str):
                failed += 1
                progress.write(f"line {job.number}: {outcome}", file=sys.stderr)
            elif outcome:
                created += 1
            else:
                reused += 1
    print(
        f"issued {created}, already issued {reused}, failed {failed}; PDFs in {out_dir}"
    )
    return EXIT_ERROR if failed else EXIT_OK


@dataclass(frozen=True)
class _BatchJob:
    number: int
    line: bytes
    type: str
    now: str
    out_dir: str


def _run_jobs(
    jobs: list[_BatchJob], workers: int, authority: Any
) -> Iterator[tuple[_BatchJob, bool | str]]:
    """Issue each job; yield it with True (issued), False (issued before) or an error.

    With several workers, each process opens its own registry connection and loads
    the signing key once; SQLite serialises their short insert transactions.
    """
    if workers <= 1 or len(jobs) < 2 * workers:
        global _worker_authority
        _worker_authority = authority
        for job in jobs:
            yield job, _issue_line(job)
        return
    with ProcessPoolExecutor(workers, initializer=_start_worker) as pool:
        futures = {pool.submit(_issue_line, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


_worker_authority: Any = None


def _start_worker() -> None:
    from verify.signing.authority import Authority

    global _worker_authority
    _worker_authority = Authority(Home.from_env())


def _issue_line(job: _BatchJob) -> bool | str:
    from verify.documents import parse_document

    try:
        if len(job.line) > MAX_BATCH_LINE_BYTES:
            raise DocumentInputError(f"line is over {MAX_BATCH_LINE_BYTES} bytes")
        try:
            data = json.loads(job.line)
        except (ValueError, UnicodeDecodeError) as error:
            raise DocumentInputError(f"not valid JSON: {error}") from None
        document = parse_document(job.type, data)
        # The content digest as request key: re-running a batch returns the
        # documents already issued instead of issuing them twice.
        issued = _worker_authority.issue(
            document,
            datetime.fromisoformat(job.now),
            request_key=f"batch:{document.type}:{document.digest.hex()}",
            with_pdf=True,
        )
    except WathiqError as error:
        return str(error)
    path = Path(job.out_dir) / f"{job.number:05d}-{issued.document_id}.pdf"
    if not path.exists():
        _write_new(path, issued.pdf)
    return bool(issued.created)


def _write_new(path: Path, data: bytes | None) -> None:
    assert data is not None
    temporary = path.parent / f".{path.name}.part"
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
    from verify.cli import int_between
    from verify.documents import DOCUMENT_TYPES

    issue = add(commands, "issue", cmd_issue, "issue a signed PDF, or a batch of them")
    issue.add_argument("type", choices=list(DOCUMENT_TYPES))
    issue.add_argument("--json", help="document fields, a JSON file")
    issue.add_argument("--out", help="PDF file to write")
    issue.add_argument("--batch", help="JSON Lines file, one document per line")
    issue.add_argument("--out-dir", help="directory for the batch's PDFs")
    issue.add_argument(
        "--workers",
        type=int_between("worker count", 1, 64),
        default=0,
        help="processes that render a batch (default: one per CPU, at most 4)",
    )
    scan = add(commands, "scan", cmd_scan, "print every QR text in an image or PDF")
    scan.add_argument("file", help="image (PNG, JPEG, WebP, TIFF) or PDF")
    scan.add_argument("--json", action="store_true", help="print a JSON list")
