"""The durable queue of one remote-write target: a SQLite file in the queue directory.

Each record is a run of encoded TimeSeries messages (one sample each, store/remote.py) for one shard,
snappy-compressed, with its sample count and oldest sample time. Records are read back per shard in the
order they were put (ids only grow) and deleted only after the receiver accepted them. `put` commits
before it returns (WAL, synchronous=NORMAL): a process killed with `kill -9` loses nothing it returned
from; a power loss may lose the commits since the last WAL checkpoint.

A queue keeps the shard count it was created with while it holds records: a series must stay in one
shard to stay in order, and records already split by the old count cannot be split again. A changed
count is taken up when the queue is found empty at open.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import NamedTuple

import cramjam

from store.sqlitetx import open_shared, transaction

__all__ = ["Batch", "Record", "RemoteQueue", "queue_file"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shard INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    oldest REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_shard ON records (shard);
CREATE TABLE IF NOT EXISTS inflight (shard INTEGER PRIMARY KEY, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL);
"""

_INCREMENTAL = 2
"""PRAGMA auto_vacuum = INCREMENTAL: free pages are given back on `PRAGMA incremental_vacuum`."""

_VACUUM_PAGES = 256
"""Free pages (of 4 KiB) worth giving back to the file system once the queue has drained."""


class Record(NamedTuple):
    """What `put` stores: `samples` messages for `shard`, snappy-compressed (`payload`), the oldest
    sample at `oldest` (Unix seconds)."""

    shard: int
    samples: int
    oldest: float
    payload: bytes


class Batch(NamedTuple):
    """Consecutive records of one shard, read together: ids `first_id..last_id`, `samples` in all,
    `body` the snappy block of their messages concatenated (a WriteRequest). `resent`: this batch was
    read before and not deleted (a former run of the writer stopped, or an error came between), so it
    may have been sent."""

    shard: int
    first_id: int
    last_id: int
    samples: int
    oldest: float
    body: bytes
    resent: bool = False


def queue_file(queue_dir: Path, url: str) -> Path:
    """The queue file of `url` in `queue_dir`: host and port for people, a hash of the URL for uniqueness."""
    parts = urllib.parse.urlsplit(url)
    readable = f"{parts.hostname or 'host'}_{parts.port or parts.scheme}".replace(":", "_")
    return queue_dir / f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.sqlite3"


class RemoteQueue:
    """One target's queue. Thread-safe: every call holds the queue's lock for its SQLite work."""

    def __init__(self, conn: sqlite3.Connection, path: Path, shards: int, pending: list[int]) -> None:
        self._conn = conn
        self.path = path
        self.shards = shards
        self._pending = pending
        self._heads: list[float | None] = [None] * shards  # oldest sample of each shard's first record
        self._lock = threading.Lock()
        self._closed = False
        self._wakeups = [threading.Event() for _ in range(shards)]

    @classmethod
    def open(cls, queue_dir: Path, url: str, *, shards: int) -> RemoteQueue:
        """Open (or create) the queue of `url` under `queue_dir`. See the module docstring on `shards`."""
        path = queue_file(queue_dir, url)
        conn = open_shared(path, _SCHEMA, synchronous="NORMAL")
        counts = dict(conn.execute("SELECT shard, sum(samples) FROM records GROUP BY shard").fetchall())
        stored = conn.execute("SELECT value FROM meta WHERE key = 'shards'").fetchone()
        if counts and stored is not None and int(stored[0]) != shards:
            log.warning(
                "remote write %s: the queue holds %d samples in %s shards; keeping that count until it drains "
                "(configured: %d)",
                url,
                sum(counts.values()),
                stored[0],
                shards,
            )
            shards = int(stored[0])
        if not counts and conn.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            # Only an empty file can change it (open_shared's WAL switch has created the file already).
            conn.execute(f"PRAGMA auto_vacuum = {_INCREMENTAL}")
            conn.execute("VACUUM")
        with transaction(conn) as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('shards', ?), ('url', ?)", (str(shards), url))
        return cls(conn, path, shards, [int(counts.get(s, 0)) for s in range(shards)])

    def put(self, records: list[Record]) -> None:
        """Append `records` in one transaction, committed when this returns."""
        with transaction(self._conn, self._lock) as db:
            db.executemany("INSERT INTO records (shard, samples, oldest, payload) VALUES (?, ?, ?, ?)", records)
            for record in records:
                if self._pending[record.shard] == 0:
                    self._heads[record.shard] = record.oldest
                self._pending[record.shard] += record.samples
        for record in records:
            self._wakeups[record.shard].set()

    def read(self, shard: int, max_samples: int) -> Batch | None:
        """The first records of `shard` (whole records, at most `max_samples` samples unless the first
        record alone has more), or None when the shard is empty. Reading removes nothing; it notes the
        batch's ids as in flight until `delete`, so that after a restart the same batch is read again,
        whole and no more (`Batch.resent`): see store/remote_send.py on resends."""
        with self._lock:
            marked = self._conn.execute("SELECT first_id, last_id FROM inflight WHERE shard = ?", (shard,)).fetchone()
            cursor = self._conn.execute(
                "SELECT id, samples, oldest, payload FROM records WHERE shard = ? AND id BETWEEN ? AND ? ORDER BY id",
                (shard, *(marked or (0, 2**63 - 1))),
            )
            try:
                rows: list[tuple[int, int, float, bytes]] = []
                total = 0
                for row in cursor:
                    if not marked and rows and total + row[1] > max_samples:
                        break
                    rows.append(row)
                    total += row[1]
                    if not marked and total >= max_samples:
                        break
            finally:
                cursor.close()
            if rows and not marked:
                with transaction(self._conn) as db:
                    db.execute("INSERT OR REPLACE INTO inflight VALUES (?, ?, ?)", (shard, rows[0][0], rows[-1][0]))
        if not rows:
            return None
        if len(rows) == 1:
            body = rows[0][3]
        else:
            raw = b"".join(bytes(cramjam.snappy.decompress_raw(r[3])) for r in rows)
            body = bytes(cramjam.snappy.compress_raw(raw))
        return Batch(shard, rows[0][0], rows[-1][0], total, min(r[2] for r in rows), body, marked is not None)

    def delete(self, batch: Batch) -> None:
        """Remove `batch`'s records (after the receiver accepted them, or refused them for good)."""
        with transaction(self._conn, self._lock) as db:
            db.execute(
                "DELETE FROM records WHERE shard = ? AND id BETWEEN ? AND ?",
                (batch.shard, batch.first_id, batch.last_id),
            )
            db.execute("DELETE FROM inflight WHERE shard = ?", (batch.shard,))
            self._pending[batch.shard] -= batch.samples
            self._heads[batch.shard] = None
            drained = not any(self._pending)
        if drained:
            self._vacuum()

    def pending(self, shard: int | None = None) -> int:
        """Samples queued in `shard`, or in all shards."""
        with self._lock:
            return sum(self._pending) if shard is None else self._pending[shard]

    def wakeup(self, shard: int) -> threading.Event:
        """Set when records are put into `shard` (the sender clears it before it looks)."""
        return self._wakeups[shard]

    def lag(self, now: float) -> float:
        """Seconds since the oldest sample of the records at the front of the shards (0 when empty).
        Records are in arrival order, so this is the oldest unsent sample unless a collector appended
        samples older than ones appended before them."""
        with self._lock:
            oldest: float | None = None
            for shard in range(self.shards):
                if self._pending[shard] == 0:
                    continue
                head = self._heads[shard]
                if head is None and not self._closed:
                    row = self._conn.execute(
                        "SELECT oldest FROM records WHERE shard = ? ORDER BY id LIMIT 1", (shard,)
                    ).fetchone()
                    head = self._heads[shard] = None if row is None else float(row[0])
                if head is not None and (oldest is None or head < oldest):
                    oldest = head
        return 0.0 if oldest is None else max(0.0, now - oldest)

    def close(self) -> None:
        """Close the file (pending samples stay in it); `pending` and `lag` go on answering from memory."""
        with self._lock:
            self._closed = True
            self._conn.close()

    def _vacuum(self) -> None:
        """Give the pages of a drained backlog back to the file system (the file stays small)."""
        with self._lock:
            (free,) = self._conn.execute("PRAGMA freelist_count").fetchone()
            if free >= _VACUUM_PAGES:
                self._conn.executescript("PRAGMA incremental_vacuum;")  # execute() would step it once: one page
