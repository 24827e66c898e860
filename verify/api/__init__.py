"""The HTTP verification service and its web pages.

`create_app` builds the FastAPI app from `Settings`; ``wathiq serve`` runs it under
uvicorn. `verify.api.verifications` contains the verification endpoint that kiosks
mount as well.

Importing this package imports nothing else: every ``wathiq`` command loads
`verify.api.cli`, and ``wathiq serve`` must set the metrics environment before
prometheus_client is imported.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app", "create_app_from_env"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "create_app_from_env"):
        from verify.api import app

        return getattr(app, name)
    if name == "Settings":
        from verify.api.settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
