"""CLI commands of this package, added to the ``wathiq`` command.

``wathiq serve`` runs the service under uvicorn; ``wathiq tokens`` manages the
staff bearer tokens. Heavy imports happen inside the commands, because every
``wathiq`` command builds this parser.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["add_commands"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
METRICS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _now(args: argparse.Namespace) -> datetime:
    at: datetime | None = getattr(args, "at", None)
    return at or datetime.now(UTC)


def cmd_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from verify.api.settings import Settings, UnsafeSettings

    try:
        settings = Settings()
        if settings.environment == "production":
            # Development warnings are logged by each worker as it starts.
            settings.check_production()
    except ValidationError as error:
        print(f"wathiq: invalid settings: {error}", file=sys.stderr)
        return EXIT_USAGE
    except UnsafeSettings as error:
        print(f"wathiq: {error}", file=sys.stderr)
        return EXIT_ERROR
    metrics_directory = None
    if args.workers > 1 and not os.environ.get(METRICS_DIRECTORY_VARIABLE):
        # Set before any worker imports prometheus_client, so that the workers
        # share their values through files and /metrics covers all of them.
        metrics_directory = tempfile.mkdtemp(prefix="wathiq-metrics-")
        os.environ[METRICS_DIRECTORY_VARIABLE] = metrics_directory
    try:
        return _run_uvicorn(args, settings)
    finally:
        if metrics_directory is not None:
            shutil.rmtree(metrics_directory, ignore_errors=True)


def _run_uvicorn(args: argparse.Namespace, settings: Any) -> int:
    import uvicorn

    from verify.api.logs import logging_config

    uvicorn.run(
        "verify.api.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logging_config(settings.log_format, settings.log_level),
        # The access log would write request paths, which contain QR payloads.
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return EXIT_OK


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from verify.api.tokens import Role, create_token
    from verify.config import Home
    from verify.registry import Registry

    registry = Registry(Home.from_env().registry_path)
    try:
        token_id, token = create_token(registry, Role(args.role), args.name, _now(args))
    except ValueError as error:
        print(f"wathiq: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        registry.close()
    print(token)
    print(
        f"created {args.role} token {token_id} for {args.name!r}; it is shown only"
        " once, so store it now",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from verify.api.tokens import list_tokens
    from verify.config import Home
    from verify.registry import Registry

    registry = Registry(Home.from_env().registry_path)
    try:
        rows = list_tokens(registry)
    finally:
        registry.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("no tokens; create one with 'wathiq tokens create'")
    for row in rows:
        state = f"revoked {row['revoked_at'][:19]}" if row["revoked_at"] else "active"
        print(
            f"{row['id']}  {row['role']:8}  {state:27}  created"
            f" {row['created_at'][:19]}  {row['name']}"
        )
    return EXIT_OK


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from verify.api.tokens import revoke_token
    from verify.config import Home
    from verify.registry import Registry

    registry = Registry(Home.from_env().registry_path)
    try:
        revoked = revoke_token(registry, args.token_id, _now(args))
    finally:
        registry.close()
    if not revoked:
        print(
            f"wathiq: no active token {args.token_id}; see 'wathiq tokens list'",
            file=sys.stderr,
        )
        return EXIT_ERROR
    print(f"token {args.token_id} revoked")
    return EXIT_OK


def add_commands(commands: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this package's subcommands to the ``wathiq`` parser."""
    from verify.cli import int_between

    serve = add(
        commands,
        "serve",
        cmd_serve,
        "run the verification service and web pages (settings: WATHIQ_* variables)",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port",
        type=int_between("port", 0, 65535),
        default=8000,
        help="TCP port to listen on (default 8000)",
    )
    serve.add_argument(
        "--workers",
        type=int_between("worker count", 1, 64),
        default=1,
        help="worker processes; about one per CPU core (default 1)",
    )

    tokens = commands.add_parser("tokens", help="manage staff bearer tokens")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = add(
        actions, "create", cmd_tokens_create, "create a staff token and print it once"
    )
    create.add_argument(
        "--role",
        required=True,
        choices=["issuer", "revoker", "auditor"],
        help="what the token may do: issue, revoke, or read the audit log",
    )
    create.add_argument(
        "--name",
        required=True,
        help="name of the token's holder, shown in the audit log",
    )
    listing = add(actions, "list", cmd_tokens_list, "show tokens, never their secrets")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = add(actions, "revoke", cmd_tokens_revoke, "revoke a token by its id")
    revoke.add_argument("token_id", help="the token id shown by 'wathiq tokens list'")
