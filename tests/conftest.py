from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulator import SimulatedIssuer

PASSPHRASE = "test passphrase, not secret"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give every test its own data directory and a clean wathiq environment."""
    for name in [
        "WATHIQ_HOME",
        "WATHIQ_KEY_PASSPHRASE",
        "WATHIQ_KEY_PASSPHRASE_FILE",
        "WATHIQ_INSECURE_UNENCRYPTED_KEYS",
        "WATHIQ_BASE_URL",
    ]:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("WATHIQ_HOME", str(home))
    monkeypatch.setenv("WATHIQ_KEY_PASSPHRASE", PASSPHRASE)
    yield home


@pytest.fixture
def issuer() -> SimulatedIssuer:
    return SimulatedIssuer()
