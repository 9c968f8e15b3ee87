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
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager

__all__ = ["transaction"]


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
