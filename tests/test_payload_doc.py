from __future__ import annotations

import importlib.util
from pathlib import Path

import cbor2

from verify.payload import decode_cose, payload_from_qr_text

ROOT = Path(__file__).parent.parent


def _example_module():
    spec = importlib.util.spec_from_file_location(
        "payload_example", ROOT / "scripts" / "payload_example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worked_example_matches_code():
    example = _example_module().example()
    assert example in (ROOT / "docs" / "payload.md").read_text("utf-8")


def test_worked_example_decodes_as_documented():
    example = _example_module().example()
    lines = example.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("QR text")))
    text = "".join(lines[start + 1 :])
    message = decode_cose(payload_from_qr_text(text))
    claims = cbor2.loads(message.payload)
    assert claims[1] == "RYD-ADM"
    assert claims[6] == 1795158000
    assert claims[7] == bytes(range(16))
    assert claims[-65537][5] == 4242
    assert message.kid.hex() == "21fe31dfa154a261"
