"""CLI commands of this package, added to the ``wathiq`` command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_commands(
    commands: Any, add: Callable[..., argparse.ArgumentParser]
) -> None:
    """Add this package's subcommands to the ``wathiq`` parser."""
