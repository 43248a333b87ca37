"""What became of each source document: converted, failed (and why), or a duplicate of another."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

CONVERTED, FAILED, DUPLICATE = "converted", "failed", "duplicate"


class DocumentStatusStore:
    """SQLite under the artifact root, so the record survives runs that each see a few documents."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS status (doc_id TEXT PRIMARY KEY, source_hash TEXT, status TEXT,"
            " reason TEXT, updated REAL)"
        )

    def record(self, doc_id: str, source_hash: str | None, status: str, reason: str = "") -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO status VALUES (?, ?, ?, ?, ?)",
                (doc_id, source_hash, status, reason, time.time()),
            )

    def converted_with_hash(self, source_hash: str, active: Iterable[str], other_than: str) -> str | None:
        """A still-registered document already converted from identical bytes, if any."""
        active = set(active)
        for (doc_id,) in self._db.execute(
            "SELECT doc_id FROM status WHERE source_hash = ? AND status = ? ORDER BY doc_id", (source_hash, CONVERTED)
        ):
            if doc_id != other_than and doc_id in active:
                return doc_id
        return None

    def source_hashes(self) -> dict[str, str | None]:
        """Each document's content hash when last processed (None when it could not be read)."""
        return dict(self._db.execute("SELECT doc_id, source_hash FROM status"))

    def table(self, active: Iterable[str], statuses: tuple[str, ...] = (FAILED, DUPLICATE)) -> pd.DataFrame:
        rows = self._db.execute("SELECT doc_id, status, reason FROM status ORDER BY doc_id").fetchall()
        active = set(active)
        return pd.DataFrame(
            [r for r in rows if r[0] in active and r[1] in statuses], columns=["doc_id", "status", "reason"]
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DocumentStatusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
