"""The SQLite registry of keys, issued documents, publications and the audit log.

Every multi-step write runs in one ``BEGIN IMMEDIATE`` transaction, so a failed or
interrupted issuance leaves no half record. The database runs in WAL mode with a
busy timeout so that the API's workers and the CLI can share one file. The schema
changes only through the named migrations below, each applied once, in order.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from verify.errors import DocumentNotFound, RegistryError
from verify.verifier import RegistryRecord

__all__ = ["STATUS_LIST_SIZE", "DocumentRow", "Registry"]

logger = logging.getLogger(__name__)

# 2**17 entries: random indexes among this many reveal little about which document
# a fetched status list is consulted for.
STATUS_LIST_SIZE = 131_072
BUSY_TIMEOUT_SECONDS = 30
REVOCATION_REASONS = ("revoked", "superseded", "set-aside")


def _migrate_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE keys (
            kid TEXT PRIMARY KEY, use TEXT NOT NULL, court TEXT NOT NULL,
            document_types TEXT NOT NULL, jwk TEXT NOT NULL,
            valid_from TEXT NOT NULL, valid_until TEXT, status TEXT NOT NULL,
            compromised_at TEXT, created_at TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE documents (
            id TEXT PRIMARY KEY, type TEXT NOT NULL, content TEXT NOT NULL,
            kid TEXT NOT NULL REFERENCES keys(kid), issued_at TEXT NOT NULL,
            expires_at TEXT, content_digest TEXT NOT NULL,
            status_index INTEGER NOT NULL UNIQUE, status TEXT NOT NULL,
            successor_id TEXT, revoked_at TEXT, qr_text TEXT NOT NULL,
            pdf BLOB, pdf_sha256 TEXT, request_key TEXT UNIQUE)"""
    )
    db.execute(
        """CREATE TABLE publications (
            name TEXT PRIMARY KEY, version INTEGER NOT NULL, issued_at TEXT NOT NULL)"""
    )
    db.execute(
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, document_id TEXT, detail TEXT)"""
    )


def _migrate_tokens(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
            name TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"""
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _migrate_initial),
    ("0002_tokens", _migrate_tokens),
]


_ROW_COLUMNS = (
    "id, type, content, kid, issued_at, expires_at, content_digest, status_index,"
    " status, successor_id, revoked_at, qr_text, pdf_sha256, request_key"
)


@dataclass(frozen=True)
class DocumentRow:
    id: str
    type: str
    content: dict[str, Any]
    kid: str
    issued_at: str
    expires_at: str | None
    content_digest: str
    status_index: int
    status: str
    successor_id: str | None
    qr_text: str
    pdf_sha256: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DocumentRow:
        return cls(
            id=row["id"],
            type=row["type"],
            content=json.loads(row["content"]),
            kid=row["kid"],
            issued_at=row["issued_at"],
            expires_at=row["expires_at"],
            content_digest=row["content_digest"],
            status_index=row["status_index"],
            status=row["status"],
            successor_id=row["successor_id"],
            qr_text=row["qr_text"],
            pdf_sha256=row["pdf_sha256"],
        )


class Registry:
    """One registry database file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: no implicit transactions, only transaction().
            connection = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_SECONDS,
                check_same_thread=False,
                isolation_level=None,
            )
            self.db = sqlite_utils.Database(connection)
            # Documents carry personal data (full national ids): owner access only.
            os.chmod(path, 0o600)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise RegistryError(f"cannot open the registry {path}: {error}") from None
        except OSError as error:
            raise RegistryError(
                f"cannot open the registry {path}: {error.strerror}"
            ) from None

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run a block as one write transaction, rolled back on any error."""
        connection = self.db.conn
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            applied = {row[0] for row in db.execute("SELECT name FROM migrations")}
            for name, migration in MIGRATIONS:
                if name in applied:
                    continue
                migration(db)
                db.execute("INSERT INTO migrations VALUES (?, ?)", [name, _now_text()])
                logger.info("applied registry migration %s", name)

    # Keys.

    def add_key(self, db: sqlite_utils.Database, row: dict[str, Any]) -> None:
        row = {**row, "document_types": json.dumps(row["document_types"])}
        row["jwk"] = json.dumps(row["jwk"])
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        db.execute(f"INSERT INTO keys ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608

    def keys(self) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM keys ORDER BY created_at, kid")
        return [
            {
                **row,
                "document_types": json.loads(row["document_types"]),
                "jwk": json.loads(row["jwk"]),
            }
            for row in rows
        ]

    def key(self, kid: str) -> dict[str, Any] | None:
        for row in self.keys():
            if row["kid"] == kid:
                return row
        return None

    # Status list indexes and documents.

    def allocate_status_index(self, db: sqlite_utils.Database) -> int:
        """Pick an unused status-list index uniformly at random."""
        used = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        if used >= STATUS_LIST_SIZE:
            raise RegistryError("the status list is full; start a new status list")
        while True:
            index = secrets.randbelow(STATUS_LIST_SIZE)
            taken = db.execute(
                "SELECT 1 FROM documents WHERE status_index = ?", [index]
            ).fetchone()
            if taken is None:
                return index

    def insert_document(self, db: sqlite_utils.Database, row: dict[str, Any]) -> None:
        row = {**row, "content": json.dumps(row["content"], ensure_ascii=False)}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        db.execute(
            f"INSERT INTO documents ({columns}) VALUES ({marks})",  # noqa: S608
            list(row.values()),
        )

    def document(self, document_id: str) -> DocumentRow:
        row = self._document_row(document_id)
        if row is None:
            raise DocumentNotFound(
                f"document {document_id} is not in the registry; check the id"
            )
        return DocumentRow.from_row(row)

    def _document_row(
        self, document_id: str, columns: str = _ROW_COLUMNS
    ) -> dict[str, Any] | None:
        # Every column but the PDF, unless asked: verifications read this row often,
        # and the PDF is a large BLOB they never need.
        rows = list(
            self.db.query(
                f"SELECT {columns} FROM documents WHERE id = ?",  # noqa: S608
                [document_id.strip().upper()],
            )
        )
        return rows[0] if rows else None

    def document_by_request_key(self, request_key: str) -> DocumentRow | None:
        rows = list(
            self.db.query(
                f"SELECT {_ROW_COLUMNS} FROM documents WHERE request_key = ?",  # noqa: S608
                [request_key],
            )
        )
        return DocumentRow.from_row(rows[0]) if rows else None

    def pdf(self, document_id: str) -> bytes | None:
        row = self._document_row(document_id, "pdf")
        if row is None:
            raise DocumentNotFound(f"document {document_id} is not in the registry")
        pdf = row["pdf"]
        return bytes(pdf) if pdf is not None else None

    def pdf_sha256(self, document_id: str) -> str | None:
        row = self._document_row(document_id)
        return row["pdf_sha256"] if row else None

    def status_entries(self) -> list[tuple[int, str]]:
        rows = self.db.execute(
            "SELECT status_index, status FROM documents WHERE status != 'valid'"
        ).fetchall()
        return [(index, status) for index, status in rows]

    def lookup(self, document_id: bytes) -> RegistryRecord | None:
        """Return the registry's record for a verifier (see RegistryView)."""
        from verify.payload import format_document_id

        row = self._document_row(format_document_id(document_id))
        if row is None:
            return None
        return RegistryRecord(
            status=row["status"],
            digest=bytes.fromhex(row["content_digest"]),
            kid=bytes.fromhex(row["kid"]),
            successor_id=row["successor_id"],
        )

    # Publications and audit.

    def next_version(self, db: sqlite_utils.Database, name: str, issued_at: str) -> int:
        row = db.execute(
            "SELECT version FROM publications WHERE name = ?", [name]
        ).fetchone()
        version = 1 if row is None else row[0] + 1
        db.execute(
            "INSERT OR REPLACE INTO publications VALUES (?, ?, ?)",
            [name, version, issued_at],
        )
        return version

    def audit(
        self,
        db: sqlite_utils.Database,
        actor: str,
        action: str,
        document_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, action, document_id, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            [_now_text(), actor, action, document_id, detail],
        )

    def audit_entries(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM audit ORDER BY id DESC LIMIT ? OFFSET ?", [limit, offset]
            )
        )


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
