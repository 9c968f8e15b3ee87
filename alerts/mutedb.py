"""The SQLite file behind silences, acknowledgements, maintenance windows and flap detection.

`MuteDB` owns one connection (WAL mode, `isolation_level=None`) and a lock; `alerts/silences.py`,
`alerts/acks.py`, `alerts/maintenance.py` and `alerts/flapping.py` keep their state in memory and
write every change through `transaction()`, one SQLite transaction per write, so a restart (close +
reopen) restores exactly what was there. Times are Unix seconds (REAL); matchers are stored as
Alertmanager matcher strings in a JSON list.

Tables:
- `silences(id, matchers, starts_at, ends_at, created_by, comment, updated_at)`
- `acks(fingerprint, by_user, comment, at, expires_at)`: the current acknowledgement per alert
- `ack_history(seq, fingerprint, action, by_user, comment, at, expires_at)`: every acknowledge,
  unacknowledge and clear, for the audit trail
- `maintenance_windows(name, spec, origin, created_by, created_at)`: the window as JSON config
- `flap_state(fingerprint, firing, last_change, flapping_since)` and
  `flap_transitions(fingerprint, at, firing)`: the flap detector's memory

The file may be its own (`MuteDB(path)`) or one already open, such as `alerts.sqlite3` of the alert
state (`MuteDB(connection, lock=that_lock)`): then the connection must have been opened with
`isolation_level=None` and `check_same_thread=False`, every user of it must hold `lock`, and
`close()` leaves it open.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from store.sqlitetx import transaction

__all__ = ["MuteDB", "NotFound"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (
    fingerprint TEXT PRIMARY KEY,
    by_user TEXT NOT NULL,
    comment TEXT NOT NULL,
    at REAL NOT NULL,
    expires_at REAL
);
CREATE TABLE IF NOT EXISTS ack_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    action TEXT NOT NULL,
    by_user TEXT NOT NULL,
    comment TEXT NOT NULL,
    at REAL NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS ack_history_fingerprint ON ack_history (fingerprint, seq);
CREATE TABLE IF NOT EXISTS maintenance_windows (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL
);
CREATE TABLE IF NOT EXISTS flap_state (
    fingerprint TEXT PRIMARY KEY,
    firing INTEGER NOT NULL,
    last_change REAL,
    flapping_since REAL
);
CREATE TABLE IF NOT EXISTS flap_transitions (
    fingerprint TEXT NOT NULL,
    at REAL NOT NULL,
    firing INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS flap_transitions_fingerprint ON flap_transitions (fingerprint, at);
"""


class NotFound(LookupError):
    """No such silence, acknowledgement or maintenance window (an API answers 404)."""


class MuteDB:
    """One SQLite file (or a shared connection) for the mute state. Thread-safe; `close()` what you open."""

    def __init__(
        self, source: str | os.PathLike[str] | sqlite3.Connection, *, lock: threading.Lock | None = None
    ) -> None:
        if isinstance(source, sqlite3.Connection):
            self.path: Path | None = None
            self._db = source
            self._owned = False
        else:
            Path(source).parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(source)
            self._db = sqlite3.connect(os.fspath(source), check_same_thread=False, isolation_level=None)
            self._owned = True
        self._lock = lock if lock is not None else threading.Lock()
        with self._lock:
            if self._owned:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """Hold the lock and run the block in one write transaction (BEGIN IMMEDIATE ... COMMIT);
        an exception rolls it back and propagates."""
        return transaction(self._db, self._lock)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection if this object opened it (a shared one stays open)."""
        if self._owned:
            with self._lock:
                self._db.close()
