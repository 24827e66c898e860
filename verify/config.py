"""The data directory: one per deployment, holding all of wathiq's state.

``WATHIQ_HOME`` (default ``./var``) contains:

- ``private/``: encrypted private keys, mode 0700, files 0600. Never published.
- ``registry.db``: the SQLite registry of keys, documents, publications and audit.
- ``public/``: the published ``keys.json`` and ``status.json``, safe to serve.
- ``trust/``: this machine's verifier trust store (pinned root, accepted lists).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_BASE_URL", "Home"]

# The verification page that QR codes link to; set WATHIQ_BASE_URL per deployment.
DEFAULT_BASE_URL = "HTTPS://WATHIQ.EXAMPLE.SA"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("WATHIQ_HOME") or "var").absolute())

    @property
    def private_dir(self) -> Path:
        return self.root / "private"

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.db"

    @property
    def public_dir(self) -> Path:
        return self.root / "public"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    @property
    def base_url(self) -> str:
        return os.environ.get("WATHIQ_BASE_URL", DEFAULT_BASE_URL)
