"""A persistent cache of generated pairs, keyed by chunk content hash and generator fingerprint."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

Pair = dict[str, str]  # {"query": ..., "positive": ...}


class QuestionCache:
    """SQLite, committed per answer: an interrupted run resumes where it stopped, and an answer is
    stored once whatever happens (one row per content hash and fingerprint)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60)  # another run may be writing answers too
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pairs (content_hash TEXT, fingerprint TEXT, pairs TEXT,"
            " PRIMARY KEY (content_hash, fingerprint))"
        )

    def get_many(self, content_hashes: Sequence[str], fingerprint: str) -> dict[str, list[Pair]]:
        found: dict[str, list[Pair]] = {}
        unique = list(dict.fromkeys(content_hashes))
        for i in range(0, len(unique), 500):  # stay under SQLite's bound-parameter limit
            batch = unique[i : i + 500]
            marks = ",".join("?" * len(batch))
            for content_hash, pairs in self._db.execute(
                f"SELECT content_hash, pairs FROM pairs WHERE fingerprint = ? AND content_hash IN ({marks})",
                [fingerprint, *batch],
            ):
                found[content_hash] = json.loads(pairs)
        return found

    def put(self, content_hash: str, fingerprint: str, pairs: Sequence[Pair]) -> None:
        payload = json.dumps(list(pairs), ensure_ascii=False)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO pairs VALUES (?, ?, ?)", (content_hash, fingerprint, payload))

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> QuestionCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
