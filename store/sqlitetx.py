"""The one way this code base writes SQLite: one transaction, committed, or rolled back on any
exception (which propagates), so a failed write never leaves a transaction open.

    with transaction(conn, lock) as db:        # BEGIN IMMEDIATE ... COMMIT, holding `lock`
        db.execute(...)

Connections are opened with `isolation_level=None` (autocommit) so that these statements, not the
sqlite3 module, decide where transactions begin and end. `immediate=True` takes the write lock at
BEGIN (no upgrade deadlock between two writers); the store's writer thread, the only writer of its
file, uses a plain BEGIN.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

__all__ = ["open_shared", "transaction"]


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection, lock: AbstractContextManager[object] | None = None, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
    """Run the block in one transaction on `conn`, holding `lock` (if given) throughout."""
    with lock if lock is not None else contextlib.nullcontext():
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def open_shared(path: str | os.PathLike[str], schema: str, *, synchronous: str | None = None) -> sqlite3.Connection:
    """A connection to the SQLite file at `path` (its directory made if missing) for use from several
    threads under the caller's lock: autocommit (see `transaction`), WAL, `schema` applied (its
    statements say IF NOT EXISTS), and `PRAGMA synchronous` when given."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    if synchronous is not None:
        conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.executescript(schema)
    return conn
