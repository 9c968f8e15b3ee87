"""The audit trail: `DATA_DIR/audit.sqlite3`, append-only, each entry chained to the one before by hash.

An entry says who (`actor`) did what (`action`, e.g. `availability.reclassify`) to what (`subject`)
when (`at`, Unix seconds), with the details as JSON. Its `hash` is SHA-256 over the previous entry's
hash and this entry's fields, so editing or deleting any entry breaks every hash after it:
`verify()` names the first entry that does not match. Nothing here reads the clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.sqlitetx import transaction

__all__ = ["AUDIT_FILE", "GENESIS", "AuditEntry", "AuditLog"]

AUDIT_FILE = "audit.sqlite3"
"""The audit log's file in DATA_DIR."""
GENESIS = "0" * 64
"""The `prev` of the first entry."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any]
    prev: str
    hash: str


def _digest(prev: str, id_: int, at: float, actor: str, action: str, subject: str, detail: str) -> str:
    text = json.dumps([prev, id_, repr(at), actor, action, subject, detail], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    """Thread-safe; `close()` it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._db = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def record(self, at: float, actor: str, action: str, subject: str, detail: Mapping[str, Any]) -> AuditEntry:
        body = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True)
        with transaction(self._db, self._lock) as conn:
            row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            id_, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            digest = _digest(prev, id_, at, actor, action, subject, body)
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, subject, detail, prev, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (id_, at, actor, action, subject, body, prev, digest),
            )
        return AuditEntry(id_, at, actor, action, subject, json.loads(body), prev, digest)

    def entries(self, action: str | None = None) -> list[AuditEntry]:
        """Every entry (of `action`, if given), oldest first."""
        sql = "SELECT id, at, actor, action, subject, detail, prev, hash FROM audit"
        with self._lock:
            rows = self._db.execute(
                sql + (" WHERE action = ? ORDER BY id" if action else " ORDER BY id"), (action,) if action else ()
            ).fetchall()
        return [AuditEntry(i, at, a, act, s, json.loads(d), p, h) for i, at, a, act, s, d, p, h in rows]

    def verify(self) -> str | None:
        """None when the chain is whole, else what is wrong with the first entry that breaks it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, actor, action, subject, detail, prev, hash FROM audit ORDER BY id"
            ).fetchall()
        prev, expected_id = GENESIS, 1
        for id_, at, actor, action, subject, detail, stored_prev, digest in rows:
            if id_ != expected_id:
                return f"entry {expected_id} is missing (the next is {id_})"
            if stored_prev != prev or _digest(prev, id_, at, actor, action, subject, detail) != digest:
                return f"entry {id_} was changed"
            prev, expected_id = digest, id_ + 1
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()
