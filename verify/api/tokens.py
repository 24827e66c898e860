"""Bearer tokens of staff, stored only as SHA-256 hashes in the registry.

A token is ``wqt_`` followed by 43 base64url characters (256 random bits). It is
shown once, when created, and only its hash is stored. A fast hash is enough
because the tokens are random and long: unlike passwords, they cannot be guessed
from a dictionary, so a slow hash would add nothing. Lookups go by hash, so no
comparison depends on the stored secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from verify.registry import Registry

__all__ = [
    "TOKEN_PREFIX",
    "Role",
    "StaffIdentity",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "wqt_"  # noqa: S105 (a public prefix, not a secret)
# A bearer token longer than this is not one of ours; it is rejected unhashed.
MAX_TOKEN_CHARS = 128
MAX_NAME_CHARS = 80


class Role(StrEnum):
    ISSUER = "issuer"
    REVOKER = "revoker"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class StaffIdentity:
    """The sender of a staff request: the token id, its role and the holder's name."""

    token_id: str
    role: Role
    name: str

    @property
    def actor(self) -> str:
        """The audit log's actor: the holder's name and the token id."""
        return f"{self.name} [token {self.token_id}]"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    registry: Registry, role: Role, name: str, now: datetime, actor: str = "cli"
) -> tuple[str, str]:
    """Store a new token's hash and return (token id, token)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValueError(f"the token name must have 1 to {MAX_NAME_CHARS} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = secrets.token_hex(6)
    with registry.transaction() as db:
        db.execute(
            "INSERT INTO tokens (id, token_hash, role, name, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [token_id, _hash(token), role.value, name, now.isoformat()],
        )
        registry.audit(db, actor, "token.create", detail=f"{token_id} {role.value}")
    return token_id, token


def authenticate(registry: Registry, token: str) -> StaffIdentity | None:
    """Return the identity of an unrevoked token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    row = registry.db.execute(
        "SELECT id, role, name FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
        [_hash(token)],
    ).fetchone()
    if row is None:
        return None
    return StaffIdentity(token_id=row[0], role=Role(row[1]), name=row[2])


def revoke_token(
    registry: Registry, token_id: str, now: datetime, actor: str = "cli"
) -> bool:
    """Revoke a token by id; return False when no unrevoked token has that id."""
    with registry.transaction() as db:
        cursor = db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            [now.isoformat(), token_id],
        )
        if cursor.rowcount == 0:
            return False
        registry.audit(db, actor, "token.revoke", detail=token_id)
    return True


def list_tokens(registry: Registry) -> list[dict[str, Any]]:
    """Return every token's id, role, name and times; never a hash."""
    return list(
        registry.db.query(
            "SELECT id, role, name, created_at, revoked_at FROM tokens"
            " ORDER BY created_at, id"
        )
    )
