"""Issuing PDFs, batches and the registry, through the CLI and the authority."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from verify.cli import main
from verify.config import Home
from verify.documents import parse_document
from verify.errors import RegistryError
from verify.inputs import verify_file
from verify.registry import Registry
from verify.signing.authority import Authority
from verify.trust import TrustStore
from verify.verdict import Status

EXAMPLES = Path(__file__).parent.parent / "examples"


def example(kind: str) -> dict:
    return json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))


@pytest.fixture
def authority(isolated_env: Path) -> Authority:
    authority = Authority(Home.from_env())
    now = datetime.now(UTC)
    authority.init_keys("RYD-ADM", now)
    authority.publish(now)
    return authority


@pytest.mark.parametrize("kind", ["judgment_copy", "attendance_proof"])
def test_issue_pdf_from_examples(
    kind: str, authority: Authority, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / f"{kind}.pdf"
    code = main(
        ["issue", kind, "--json", str(EXAMPLES / f"{kind}.json"), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-")
    document_id = capsys.readouterr().out.split()[0]
    row = authority.registry.document(document_id)
    assert row.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert authority.registry.pdf(document_id) == pdf
    assert row.status == "valid"
    assert row.type == kind


def test_issued_pdf_identical_to_original(authority: Authority, tmp_path: Path):
    document = parse_document("judgment_copy", example("judgment_copy"))
    issued = authority.issue(document, datetime.now(UTC), with_pdf=True)
    assert issued.pdf is not None
    store = TrustStore.load(authority.home.trust_dir)
    now = datetime.now(UTC)
    verdict = verify_file(issued.pdf, store, now=now, registry=authority.registry)
    assert verdict.status is Status.GENUINE
    identical = [
        check for check in verdict.checks if check.name == "identical_to_original"
    ]
    assert identical[0].passed
    altered = issued.pdf + b"\n% edited after issuance\n"
    verdict = verify_file(altered, store, now=now, registry=authority.registry)
    identical = [
        check for check in verdict.checks if check.name == "identical_to_original"
    ]
    assert not identical[0].passed
    assert "differs" in (verdict.reason or "")


def test_failed_issuance_leaves_no_record(
    authority: Authority, monkeypatch: pytest.MonkeyPatch
):
    def broken_render(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(Authority, "_render", broken_render)
    document = parse_document("judgment_copy", example("judgment_copy"))
    with pytest.raises(RuntimeError, match="renderer crashed"):
        authority.issue(document, datetime.now(UTC), with_pdf=True)
    count = authority.registry.db.execute("SELECT COUNT(*) FROM documents").fetchone()[
        0
    ]
    assert count == 0


def test_batch_reports_bad_rows_and_goes_on(
    authority: Authority, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    good = example("attendance_proof")
    second = json.loads(json.dumps(good))
    second["attendee"]["name"] = "سارة بنت خالد بن فهد العتيبي"
    bad = json.loads(json.dumps(good))
    bad["attendee"]["national_id"] = "12345"
    batch = tmp_path / "batch.jsonl"
    lines = [json.dumps(good), "{broken json", json.dumps(bad), "", json.dumps(second)]
    batch.write_text("\n".join(lines) + "\n", "utf-8")
    out_dir = tmp_path / "out"
    argv = [
        "issue",
        "attendance_proof",
        "--batch",
        str(batch),
        "--out-dir",
        str(out_dir),
    ]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "line 2: not valid JSON" in captured.err
    assert "line 3:" in captured.err
    assert "national_id" in captured.err
    assert "issued 2, already issued 0, failed 2" in captured.out
    assert len(list(out_dir.glob("*.pdf"))) == 2


def test_interrupted_batch_rerun_issues_no_duplicates(
    authority: Authority,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    rows = []
    for number in range(5):
        row = example("attendance_proof")
        row["hall"] = f"قاعة {number + 1}"
        rows.append(json.dumps(row, ensure_ascii=False))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(rows) + "\n", "utf-8")
    out_dir = tmp_path / "out"
    argv = [
        "issue",
        "attendance_proof",
        "--batch",
        str(batch),
        "--out-dir",
        str(out_dir),
    ]
    argv += ["--workers", "1"]

    original_issue = Authority.issue
    calls = {"count": 0}

    def interrupted_issue(self: Authority, *args: object, **kwargs: object):
        calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt
        return original_issue(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Authority, "issue", interrupted_issue)
    assert main(argv) == 130
    monkeypatch.setattr(Authority, "issue", original_issue)
    capsys.readouterr()
    assert main(argv) == 0
    assert "issued 3, already issued 2, failed 0" in capsys.readouterr().out
    registry = Registry(Home.from_env().registry_path)
    count = registry.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert count == 5
    assert len(list(out_dir.glob("*.pdf"))) == 5


def test_issue_needs_output(authority: Authority, capsys: pytest.CaptureFixture[str]):
    code = main(
        ["issue", "judgment_copy", "--json", str(EXAMPLES / "judgment_copy.json")]
    )
    assert code == 2
    assert "--out" in capsys.readouterr().err


def test_registry_migrations_recorded(isolated_env: Path):
    path = isolated_env / "registry.db"
    Registry(path).close()
    Registry(path).close()
    with sqlite3.connect(path) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM migrations")]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert names[:2] == ["0001_initial", "0002_tokens"]
    assert len(names) == len(set(names))
    assert mode == "wal"


def test_registry_keeps_data_across_versions(isolated_env: Path, authority: Authority):
    document = parse_document("judgment_copy", example("judgment_copy"))
    issued = authority.issue(document, datetime.now(UTC))
    authority.registry.close()
    reopened = Registry(Home.from_env().registry_path)
    assert reopened.document(issued.document_id).qr_text == issued.qr_text


def test_corrupt_registry_gives_clear_error(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
):
    isolated_env.mkdir(parents=True)
    (isolated_env / "registry.db").write_bytes(b"this is not a database" * 100)
    assert main(["keys", "list"]) == 1
    assert "cannot open the registry" in capsys.readouterr().err


def test_revoke_publishes_status_list(authority: Authority):
    document = parse_document("judgment_copy", example("judgment_copy"))
    issued = authority.issue(document, datetime.now(UTC))
    before = json.loads((authority.home.public_dir / "status.json").read_text())
    authority.revoke(issued.document_id, "set-aside", datetime.now(UTC))
    after = json.loads((authority.home.public_dir / "status.json").read_text())
    assert after["signed"]["version"] == before["signed"]["version"] + 1
    store = TrustStore.load(authority.home.trust_dir)
    assert store.status_list is not None
    index = authority.registry.document(issued.document_id).status_index
    assert store.status_list.status_at(index) == 3


def test_scan_and_verify_file_commands(
    authority: Authority, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from verify.demo import render_page

    document = parse_document("attendance_proof", example("attendance_proof"))
    issued = authority.issue(document, datetime.now(UTC), with_pdf=True)
    assert issued.pdf is not None
    scan = tmp_path / "scan.jpg"
    render_page(issued.pdf, 150).save(scan, quality=80)
    assert main(["scan", str(scan)]) == 0
    assert capsys.readouterr().out.strip() == issued.qr_text
    assert main(["scan", "--json", str(scan)]) == 0
    assert json.loads(capsys.readouterr().out) == [issued.qr_text]
    assert main(["verify", "--lang", "en", str(scan)]) == 0
    assert "Genuine document" in capsys.readouterr().out
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    assert main(["scan", str(text_file)]) == 1
    assert "cannot be read" in capsys.readouterr().err
    assert main(["verify", "--json", str(text_file)]) == 3
    assert json.loads(capsys.readouterr().out)["status"] == "UNSUPPORTED_INPUT"
    assert main(["scan", str(tmp_path / "missing.png")]) == 2


def test_pdf_metadata_cannot_borrow_genuine_text(authority: Authority):
    import io

    from verify.demo import render_page
    from verify.scanning import PDF_KEYWORDS_PREFIX

    now = datetime.now(UTC)
    genuine = authority.issue(
        parse_document("judgment_copy", example("judgment_copy")), now, with_pdf=True
    )
    other = authority.issue(
        parse_document("attendance_proof", example("attendance_proof")),
        now,
        with_pdf=True,
    )
    assert genuine.pdf is not None and other.pdf is not None
    authority.revoke(other.document_id, "revoked", now)
    # A PDF showing the revoked document's code, whose metadata names the genuine one.
    buffer = io.BytesIO()
    render_page(other.pdf, 150).save(
        buffer, "PDF", resolution=150, keywords=PDF_KEYWORDS_PREFIX + genuine.qr_text
    )
    forged = buffer.getvalue()
    store = TrustStore.load(authority.home.trust_dir)
    for registry in (authority.registry, None):
        verdict = verify_file(forged, store, now=now, registry=registry)
        assert verdict.document_id == other.document_id
        assert verdict.status is Status.REVOKED


def test_concurrent_revocations_one_wins(authority: Authority):
    import threading

    document = parse_document("judgment_copy", example("judgment_copy"))
    issued = authority.issue(document, datetime.now(UTC))
    home = authority.home
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def revoke(reason: str) -> None:
        # One authority per thread, as in separate worker processes.
        own = Authority(home, Registry(home.registry_path))
        barrier.wait()
        try:
            own.revoke(issued.document_id, reason, datetime.now(UTC))
            outcomes.append("ok")
        except RegistryError as error:
            outcomes.append(str(error))

    threads = [
        threading.Thread(target=revoke, args=(reason,))
        for reason in ("revoked", "set-aside", "revoked", "set-aside")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert sum("already" in outcome for outcome in outcomes) == 3
    entries = authority.registry.audit_entries()
    assert [entry["action"] for entry in entries].count("document.revoke") == 1
