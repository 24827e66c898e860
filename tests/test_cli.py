from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from verify.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "keys", "init")
    assert code == 0, err


def sign(capsys: pytest.CaptureFixture[str], kind: str = "judgment_copy") -> str:
    code, out, err = run(
        capsys, "sign", "--type", kind, "--json", str(EXAMPLES / f"{kind}.json")
    )
    assert code == 0, err
    return out.strip()


def test_keys_init_stores_encrypted_keys(
    keys: None, isolated_env: Path, capsys: pytest.CaptureFixture[str]
):
    private = isolated_env / "private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    pems = list(private.glob("*.pem"))
    assert len(pems) == 3
    for pem in pems:
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
        assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    public = isolated_env / "public"
    keys_json = json.loads((public / "keys.json").read_text())
    for key in keys_json["signed"]["keys"]:
        assert set(key["jwk"]) == {"kty", "crv", "x"}
    assert stat.S_IMODE((public / "keys.json").stat().st_mode) == 0o644


def test_keys_init_twice_fails(keys: None, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "keys", "init")
    assert code == 1
    assert "already exist" in err


def test_keys_init_without_passphrase(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("WATHIQ_KEY_PASSPHRASE")
    code, _, err = run(capsys, "keys", "init")
    assert code == 1
    assert "WATHIQ_KEY_PASSPHRASE" in err
    assert "Traceback" not in err


def test_passphrase_file_and_wrong_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    secret_file = tmp_path / "passphrase"
    secret_file.write_text(PASSPHRASE + "\n")
    monkeypatch.delenv("WATHIQ_KEY_PASSPHRASE")
    monkeypatch.setenv("WATHIQ_KEY_PASSPHRASE_FILE", str(secret_file))
    assert run(capsys, "keys", "init")[0] == 0
    monkeypatch.setenv("WATHIQ_KEY_PASSPHRASE", "a different passphrase")
    code, out, err = run(
        capsys,
        "sign",
        "--type",
        "judgment_copy",
        "--json",
        str(EXAMPLES / "judgment_copy.json"),
    )
    assert code == 1
    assert "wrong passphrase" in err
    assert PASSPHRASE not in out + err


def test_insecure_mode_warns(
    monkeypatch: pytest.MonkeyPatch,
    isolated_env: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.delenv("WATHIQ_KEY_PASSPHRASE")
    monkeypatch.setenv("WATHIQ_INSECURE_UNENCRYPTED_KEYS", "1")
    assert run(capsys, "keys", "init")[0] == 0
    assert "UNENCRYPTED" in caplog.text
    pem = next((isolated_env / "private").glob("*.pem")).read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_sign_and_verify_both_languages(keys: None, capsys: pytest.CaptureFixture[str]):
    text = sign(capsys)
    code, out, _ = run(capsys, "verify", text)
    assert code == 0
    assert "المستند صحيح" in out
    assert "عبدالرحمن بن سليمان" in out
    code, out, _ = run(capsys, "verify", "--lang", "en", text)
    assert code == 0
    assert "Genuine document" in out
    assert "ADM-1447-004471" in out


def test_verify_json_fields(keys: None, capsys: pytest.CaptureFixture[str]):
    text = sign(capsys, "attendance_proof")
    code, out, _ = run(capsys, "verify", "--json", text)
    verdict = json.loads(out)
    assert code == 0
    assert verdict["status"] == "GENUINE"
    assert len(verdict["document_id"]) == 26
    assert verdict["document"]["attendee_name"] == "نورة بنت عبدالله بن محمد القحطاني"
    assert {check["name"] for check in verdict["checks"]} >= {
        "signature",
        "not_revoked",
    }


def test_verify_from_stdin(
    keys: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    import io

    text = sign(capsys)
    monkeypatch.setattr(
        "sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode() + b"\n"))
    )
    assert run(capsys, "verify", "-")[0] == 0


def test_verify_exit_codes(keys: None, capsys: pytest.CaptureFixture[str]):
    text = sign(capsys)
    tampered = text[:-10] + ("A" if text[-10] != "A" else "B") + text[-9:]
    assert run(capsys, "verify", tampered)[0] == 1
    assert run(capsys, "verify", "https://example.com")[0] == 3
    with pytest.raises(SystemExit) as usage:
        main(["verify", "--lang", "fr", text])
    assert usage.value.code == 2


def test_revoke_then_verify(keys: None, capsys: pytest.CaptureFixture[str]):
    text = sign(capsys)
    document_id = json.loads(run(capsys, "verify", "--json", text)[1])["document_id"]
    successor_text = sign(capsys)
    successor = json.loads(run(capsys, "verify", "--json", successor_text)[1])[
        "document_id"
    ]
    code, out, err = run(
        capsys,
        "revoke",
        document_id,
        "--reason",
        "superseded",
        "--successor",
        successor,
    )
    assert code == 0, err
    code, out, _ = run(capsys, "verify", "--json", text)
    verdict = json.loads(out)
    assert code == 1
    assert verdict["status"] == "REVOKED"
    assert verdict["reason"] == "superseded"
    assert verdict["successor_id"] == successor
    # Offline, the published status list alone shows the revocation.
    code, out, _ = run(capsys, "verify", "--offline", "--json", text)
    assert json.loads(out)["status"] == "REVOKED"
    assert code == 1


def test_revoke_unknown_document(keys: None, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "revoke", "NOSUCHDOCUMENT", "--reason", "revoked")
    assert code == 1
    assert "not in the registry" in err


def test_rotate_keeps_old_documents(keys: None, capsys: pytest.CaptureFixture[str]):
    old_text = sign(capsys)
    assert run(capsys, "keys", "rotate")[0] == 0
    new_text = sign(capsys)
    assert run(capsys, "verify", old_text)[0] == 0
    assert run(capsys, "verify", new_text)[0] == 0
    code, out, _ = run(capsys, "keys", "list", "--json")
    assert code == 0
    statuses = sorted(
        key["status"] for key in json.loads(out) if key["use"] == "documents"
    )
    assert statuses == ["active", "retired"]


def test_compromise_key(keys: None, capsys: pytest.CaptureFixture[str]):
    text = sign(capsys)
    verdict = json.loads(run(capsys, "verify", "--json", text)[1])
    kid = verdict["kid"]
    code, _, err = run(
        capsys, "keys", "compromise", kid, "--since", "2000-01-01T00:00:00Z"
    )
    assert code == 0, err
    code, out, _ = run(capsys, "verify", "--json", text)
    assert json.loads(out)["status"] == "KEY_NOT_TRUSTED"
    assert code == 1


def test_root_rotation_accepted_by_trust_store(
    keys: None, capsys: pytest.CaptureFixture[str]
):
    text = sign(capsys)
    assert run(capsys, "keys", "rotate", "--root")[0] == 0
    code, out, _ = run(capsys, "verify", "--json", text)
    assert code == 0
    assert json.loads(out)["trust"]["key_list_version"] == 2


def test_invalid_document_input(
    keys: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bad = tmp_path / "bad.json"
    data = json.loads((EXAMPLES / "judgment_copy.json").read_text())
    del data["case_number"]
    bad.write_text(json.dumps(data))
    code, _, err = run(capsys, "sign", "--type", "judgment_copy", "--json", str(bad))
    assert code == 2
    assert "missing field 'case_number'" in err
    bad.write_text("{not json")
    code, _, err = run(capsys, "sign", "--type", "judgment_copy", "--json", str(bad))
    assert code == 2
    assert "not valid JSON" in err
    code, _, err = run(
        capsys, "sign", "--type", "judgment_copy", "--json", "/nonexistent"
    )
    assert code == 2
    assert "cannot read" in err


def test_no_private_key_in_output(
    keys: None, isolated_env: Path, capsys: pytest.CaptureFixture[str]
):
    from cryptography.hazmat.primitives import serialization

    outputs = []
    text = sign(capsys)
    outputs.append(text)
    for argv in (
        ["keys", "list"],
        ["keys", "list", "--json"],
        ["verify", "--json", text],
    ):
        _, out, err = run(capsys, *argv)
        outputs.append(out + err)
    everything = "\n".join(outputs)
    for pem in (isolated_env / "private").glob("*.pem"):
        key = serialization.load_pem_private_key(pem.read_bytes(), PASSPHRASE.encode())
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        assert raw.hex() not in everything
    assert PASSPHRASE not in everything
    assert os.environ["WATHIQ_KEY_PASSPHRASE"] not in everything


def test_trust_import_on_new_verifier(
    keys: None,
    isolated_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    text = sign(capsys)
    root_kid = json.loads((isolated_env / "public" / "root.json").read_text())["kid"]
    monkeypatch.setenv("WATHIQ_HOME", str(tmp_path / "verifier"))
    public = str(isolated_env / "public")
    code, _, err = run(capsys, "trust", "import", public)
    assert code == 1
    assert "no pinned root" in err
    code, _, err = run(capsys, "trust", "import", public, "--pin-root", "00" * 8)
    assert code == 1
    assert "do not pin it" in err
    code, out, err = run(capsys, "trust", "import", public, "--pin-root", root_kid)
    assert code == 0, err
    assert "key list version 1" in out
    assert run(capsys, "verify", "--offline", text)[0] == 0


def test_rotate_with_wrong_passphrase_changes_nothing(
    keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    before = run(capsys, "keys", "list", "--json")[1]
    monkeypatch.setenv("WATHIQ_KEY_PASSPHRASE", "a wrong passphrase")
    code, _, err = run(capsys, "keys", "rotate")
    assert code == 1
    assert "wrong passphrase" in err
    monkeypatch.setenv("WATHIQ_KEY_PASSPHRASE", PASSPHRASE)
    assert run(capsys, "keys", "list", "--json")[1] == before
    assert run(capsys, "verify", sign(capsys))[0] == 0


@pytest.mark.parametrize("use", ["documents", "status"])
def test_compromised_key_is_replaced(
    use: str, keys: None, capsys: pytest.CaptureFixture[str]
):
    old_text = sign(capsys)
    listed = json.loads(run(capsys, "keys", "list", "--json")[1])
    kid = next(key["kid"] for key in listed if key["use"] == use)
    code, out, err = run(
        capsys, "keys", "compromise", kid, "--since", "2026-01-01T00:00:00Z"
    )
    assert code == 0, err
    assert "replaced by new key" in out
    new_text = sign(capsys)
    assert run(capsys, "verify", new_text)[0] == 0
    expected = 1 if use == "documents" else 0
    assert run(capsys, "verify", old_text)[0] == expected
    document_id = json.loads(run(capsys, "verify", "--json", new_text)[1])[
        "document_id"
    ]
    assert run(capsys, "revoke", document_id, "--reason", "revoked")[0] == 0


def test_rotate_unknown_court(keys: None, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "keys", "rotate", "--court", "ryd")
    assert code == 1
    assert "unknown court code 'ryd'" in err


def test_verify_input_mistakes(keys: None, capsys: pytest.CaptureFixture[str]):
    assert run(capsys, "verify", "")[0] == 2
    code, _, err = run(capsys, "verify", "missing-scan.pdf")
    assert code == 2
    assert "file not found" in err
    long_text = "WQ1." + "A" * 600
    code, out, _ = run(capsys, "verify", "--json", long_text)
    assert code == 1
    assert json.loads(out)["status"] == "MALFORMED"


def test_verify_file_on_stdin(
    keys: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    import io

    pdf = tmp_path / "copy.pdf"
    code = main(
        ["issue", "judgment_copy", "--json", str(EXAMPLES / "judgment_copy.json"),
         "--out", str(pdf)]
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(pdf.read_bytes())))
    code, out, _ = run(capsys, "verify", "--json", "-")
    assert code == 0
    assert json.loads(out)["status"] == "GENUINE"


@pytest.mark.parametrize(
    "damage",
    [
        lambda trust: (trust / "root.json").unlink(),
        lambda trust: (trust / "keys.json").write_text('{"signed": 5}'),
        lambda trust: (trust / "state.json").write_text("garbage"),
        lambda trust: (trust / "status.json").write_bytes(b""),
    ],
)
def test_broken_trust_store_cannot_verify(
    damage, keys: None, isolated_env: Path, capsys: pytest.CaptureFixture[str]
):
    text = sign(capsys)
    damage(isolated_env / "trust")
    code, out, _ = run(capsys, "verify", "--json", text)
    verdict = json.loads(out)
    assert code == 3
    assert verdict["status"] == "INDETERMINATE"
    assert "trust" in verdict["reason"]


def test_issue_out_path_checked_first(
    keys: None, tmp_path: Path, isolated_env: Path, capsys: pytest.CaptureFixture[str]
):
    source = str(EXAMPLES / "judgment_copy.json")
    for out, message in [
        (tmp_path, "is a directory"),
        (tmp_path / "missing" / "x.pdf", "does not exist"),
    ]:
        code = main(["issue", "judgment_copy", "--json", source, "--out", str(out)])
        assert code == 2
        assert message in capsys.readouterr().err
    existing = tmp_path / "taken.pdf"
    existing.write_bytes(b"keep me")
    assert (
        main(["issue", "judgment_copy", "--json", source, "--out", str(existing)]) == 2
    )
    assert existing.read_bytes() == b"keep me"
    listed = json.loads(run(capsys, "keys", "list", "--json")[1])
    assert listed
    import sqlite3

    with sqlite3.connect(isolated_env / "registry.db") as connection:
        count = connection.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    assert count == 0


def test_check_summaries_cover_every_check(
    keys: None, capsys: pytest.CaptureFixture[str]
):
    from verify.messages import check_summary

    verdict = json.loads(run(capsys, "verify", "--json", sign(capsys))[1])
    for check in verdict["checks"]:
        for passed in (True, False):
            summary = check_summary(check["name"], passed, "ar")
            assert summary, check["name"]
            assert check_summary(check["name"], passed, "en") is None
