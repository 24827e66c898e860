"""Anonymous usage counts: checks per day, input and status, and ratings per day.

Rows hold only a date, a category and a number. No document id, name, QR text,
image or time of day is ever written, so the counts cannot be linked to a visitor
or a document.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

__all__ = ["RATINGS", "SOURCES", "UsageCounts"]

# Checks made on the kiosk screen; other local programs that call the API are not
# counted.
SOURCES = ("camera", "scanner", "file")
RATINGS = ("good", "neutral", "poor")


def _create_tables(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE checks (day TEXT NOT NULL, source TEXT NOT NULL,"
        " status TEXT NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,"
        " PRIMARY KEY (day, source, status))"
    )
    db.execute(
        "CREATE TABLE ratings (day TEXT NOT NULL, rating TEXT NOT NULL,"
        " count INTEGER NOT NULL, PRIMARY KEY (day, rating))"
    )


# Applied in order; a database at user_version N has had the first N applied.
MIGRATIONS: tuple[tuple[str, Callable[[sqlite_utils.Database], None]], ...] = (
    ("create checks and ratings", _create_tables),
)


class UsageCounts:
    """The counts database, safe to use from the server's worker threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None
        )
        self._db = sqlite_utils.Database(connection)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.enable_wal()
            self._migrate()

    def _migrate(self) -> None:
        applied = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, (_name, migration) in enumerate(MIGRATIONS, start=1):
            if number <= applied:
                continue
            with self._db.conn:
                self._db.execute("BEGIN IMMEDIATE")
                migration(self._db)
                # PRAGMA takes no parameters; `number` is an int from this module.
                self._db.execute(f"PRAGMA user_version = {number}")

    def count_check(self, source: str, status: str, outcome: str, day: date) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown check source {source!r}")
        with self._lock:
            self._db.execute(
                "INSERT INTO checks (day, source, status, outcome, count)"
                " VALUES (?, ?, ?, ?, 1) ON CONFLICT (day, source, status)"
                " DO UPDATE SET count = count + 1",
                [day.isoformat(), source, status, outcome],
            )

    def count_rating(self, rating: str, day: date) -> None:
        if rating not in RATINGS:
            raise ValueError(f"unknown rating {rating!r}; use one of {RATINGS}")
        with self._lock:
            self._db.execute(
                "INSERT INTO ratings (day, rating, count) VALUES (?, ?, 1)"
                " ON CONFLICT (day, rating) DO UPDATE SET count = count + 1",
                [day.isoformat(), rating],
            )

    def checks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._db["checks"].rows_where(order_by="day, source, status"))

    def ratings(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._db["ratings"].rows_where(order_by="day, rating"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
