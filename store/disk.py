"""The durable SQLite store: series index, write-ahead table, time-partitioned chunks and rollups,
state intervals.

One file, WAL journal, `synchronous=NORMAL`: a committed transaction survives a killed process.
Raw chunks live in one table per UTC day (`raw_20261127`), 5-minute rollups in one table per UTC
day, 1-hour rollups in one table per UTC month, so retention drops whole tables.
Only the writer thread writes; each reader thread opens its own read-only connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from model import Labels
from store.sqlitetx import transaction

__all__ = ["ChunkRow", "Disk", "PartitionInfo", "StateRow", "connect_reader", "partition_name"]

DAY_MS = 86_400_000
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE (name, labels));
CREATE TABLE IF NOT EXISTS wal (
    id INTEGER PRIMARY KEY, min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
    name TEXT PRIMARY KEY, tier TEXT NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state_intervals (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, state TEXT NOT NULL,
    start_ts REAL NOT NULL, end_ts REAL, cause TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS state_intervals_target ON state_intervals (target, start_ts);
"""


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """One stored chunk or rollup row of one series: [start, end] in ms, sample/slot count, blob."""

    series_id: int
    start: int
    end: int
    count: int
    blob: bytes


@dataclass(frozen=True, slots=True)
class StateRow:
    target: str
    state: str
    start: float
    end: float | None
    cause: str


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    name: str
    tier: str
    start: int
    end: int


def partition_name(tier: str, ts_ms: int) -> tuple[str, int, int]:
    """The partition of a tier holding time `ts_ms`: (table name, start ms, end ms)."""
    day = datetime.fromtimestamp(ts_ms // DAY_MS * 86_400, UTC)
    if tier == "1h":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return f"r1h_{start:%Y%m}", int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    prefix = {"raw": "raw", "5m": "r5m"}[tier]
    start_ms = ts_ms // DAY_MS * DAY_MS
    return f"{prefix}_{day:%Y%m%d}", start_ms, start_ms + DAY_MS


def _labels_json(labels: Labels) -> str:
    return json.dumps(labels.pairs, ensure_ascii=False, separators=(",", ":"))


def _labels_from_json(text: str) -> Labels:
    return Labels.from_pairs(tuple((k, v) for k, v in json.loads(text)))


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection for one reader thread."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Disk:
    """The writer's connection and every write; also the read queries, given a connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fresh = not path.exists()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if fresh:
            self.conn.execute("PRAGMA page_size=8192")
            self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(_SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._known_partitions = {r[0] for r in self.conn.execute("SELECT name FROM partitions")}

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def load_series(self) -> Iterator[tuple[int, str, Labels]]:
        for sid, name, labels in self.conn.execute("SELECT id, name, labels FROM series ORDER BY id"):
            yield sid, name, _labels_from_json(labels)

    def load_wal(self) -> Iterator[bytes]:
        for (data,) in self.conn.execute("SELECT data FROM wal ORDER BY id"):
            yield data

    # -- writes (writer thread only) ----------------------------------------------------------
    def commit_batch(
        self,
        new_series: Sequence[tuple[int, str, Labels]],
        wal: tuple[int, int, bytes] | None,
        states: Sequence[tuple[str, str, float, str]],
    ) -> None:
        """One transaction: new series, one write-ahead record (min_ts, max_ts, data), state changes."""
        with self._transaction() as c:
            if new_series:
                c.executemany(
                    "INSERT INTO series (id, name, labels) VALUES (?, ?, ?)",
                    [(sid, name, _labels_json(labels)) for sid, name, labels in new_series],
                )
            if wal is not None:
                c.execute("INSERT INTO wal (min_ts, max_ts, data) VALUES (?, ?, ?)", wal)
            for target, state, ts, cause in states:
                self._record_state(target, state, ts, cause)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """BEGIN ... COMMIT, or ROLLBACK and re-raise: a failed write leaves no transaction open."""
        return transaction(self.conn, immediate=False)

    def end_open_intervals(self, ts: float, state: str, cause: str) -> int:
        """End every open state interval (of another state) at `ts` and open one in `state`: when the
        console stops, and at open after a crash, so unmonitored time never counts as up or down."""
        with self._transaction() as c:
            targets = [
                r[0]
                for r in c.execute("SELECT target FROM state_intervals WHERE end_ts IS NULL AND state != ?", (state,))
            ]
            for target in targets:
                self._record_state(target, state, ts, cause)
        return len(targets)

    def last_activity(self) -> float | None:
        """The latest time (seconds) the file knows anything happened: a sample or a state change."""
        row = self.conn.execute("SELECT max(max_ts) FROM wal").fetchone()
        wal_s = row[0] / 1000.0 if row and row[0] is not None else None
        flushed = self.get_meta("flushed_until")
        start = self.conn.execute("SELECT max(start_ts) FROM state_intervals").fetchone()[0]
        known = [v for v in (wal_s, int(flushed) / 1000.0 if flushed else None, start) if v is not None]
        return max(known) if known else None

    def _record_state(self, target: str, state: str, ts: float, cause: str) -> None:
        c = self.conn
        row = c.execute("SELECT id, state FROM state_intervals WHERE target=? AND end_ts IS NULL", (target,)).fetchone()
        if row is not None:
            if row[1] == state:
                return
            c.execute("UPDATE state_intervals SET end_ts=? WHERE id=?", (ts, row[0]))
        c.execute(
            "INSERT INTO state_intervals (target, state, start_ts, cause) VALUES (?, ?, ?, ?)",
            (target, state, ts, cause),
        )

    def write_block(
        self,
        end: int,
        raw: Sequence[ChunkRow],
        rollups: Sequence[tuple[str, ChunkRow]],
    ) -> None:
        """One transaction: a block's chunks and rollup rows; mark it flushed; trim the WAL."""
        with self._transaction() as c:
            self._insert_rows("raw", raw)
            by_tier: dict[str, list[ChunkRow]] = {}
            for tier, row in rollups:
                by_tier.setdefault(tier, []).append(row)
            for tier, rows in by_tier.items():
                self._insert_rows(tier, rows)
            c.execute("INSERT OR REPLACE INTO meta VALUES ('flushed_until', ?)", (str(end),))
            c.execute("DELETE FROM wal WHERE max_ts < ?", (end,))

    def _insert_rows(self, tier: str, rows: Sequence[ChunkRow]) -> None:
        by_table: dict[str, list[tuple[int, int, int, int, bytes]]] = {}
        for r in rows:
            table = self._partition(tier, r.start)
            by_table.setdefault(table, []).append((r.series_id, r.start, r.end, r.count, r.blob))
        for table, values in by_table.items():
            self.conn.executemany(
                f"INSERT INTO {table} (series_id, start_ts, end_ts, n, data) VALUES (?, ?, ?, ?, ?)", values
            )

    def _partition(self, tier: str, ts: int) -> str:
        name, start, end = partition_name(tier, ts)
        if name not in self._known_partitions:
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {name} (series_id INTEGER NOT NULL, start_ts INTEGER NOT NULL,"
                " end_ts INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL)"
            )
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name}_series ON {name} (series_id, start_ts)")
            self.conn.execute("INSERT OR IGNORE INTO partitions VALUES (?, ?, ?, ?)", (name, tier, start, end))
            self._known_partitions.add(name)
        return name

    def drop_partitions(self, names: Iterable[str]) -> int:
        """Drop whole partitions (retention) and give the space back to the file system."""
        dropped = 0
        for name in names:
            with self._transaction() as c:
                c.execute(f"DROP TABLE IF EXISTS {name}")
                c.execute("DELETE FROM partitions WHERE name=?", (name,))
            self._known_partitions.discard(name)
            dropped += 1
        if dropped:
            self.conn.execute("PRAGMA incremental_vacuum")
        return dropped


# -- reads (any connection) -------------------------------------------------------------------
def partitions(conn: sqlite3.Connection, tier: str, start: int, end: int) -> list[PartitionInfo]:
    """Partitions of a tier overlapping [start, end] (ms), oldest first."""
    rows = conn.execute(
        "SELECT name, tier, start_ts, end_ts FROM partitions WHERE tier=? AND end_ts > ? AND start_ts <= ?"
        " ORDER BY start_ts",
        (tier, start, end),
    ).fetchall()
    return [PartitionInfo(*r) for r in rows]


def all_partitions(conn: sqlite3.Connection) -> list[PartitionInfo]:
    rows = conn.execute("SELECT name, tier, start_ts, end_ts FROM partitions ORDER BY start_ts").fetchall()
    return [PartitionInfo(*r) for r in rows]


def read_rows(conn: sqlite3.Connection, tier: str, ids: Sequence[int] | None, start: int, end: int) -> list[ChunkRow]:
    """Rows of the given series (None: every series) overlapping [start, end] (ms), ordered by
    series then time."""
    out: list[ChunkRow] = []
    if ids is not None and not ids:
        return out
    for part in partitions(conn, tier, start, end):
        try:
            out.extend(_read_partition(conn, part.name, ids, start, end))
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            # retention dropped it between the lookup and the read: it holds nothing we keep
    out.sort(key=lambda r: (r.series_id, r.start))
    return out


def _read_partition(
    conn: sqlite3.Connection, name: str, ids: Sequence[int] | None, start: int, end: int
) -> list[ChunkRow]:
    columns = f"SELECT series_id, start_ts, end_ts, n, data FROM {name} WHERE end_ts >= ? AND start_ts <= ?"
    if ids is None:
        return [ChunkRow(*r) for r in conn.execute(columns, (start, end))]
    out: list[ChunkRow] = []
    for i in range(0, len(ids), 500):
        chunk_ids = ids[i : i + 500]
        sql = f"{columns} AND series_id IN ({','.join('?' * len(chunk_ids))})"
        out.extend(ChunkRow(*r) for r in conn.execute(sql, (start, end, *chunk_ids)))
    return out


def read_row_keys(
    conn: sqlite3.Connection, tier: str, ids: Sequence[int], start: int, end: int
) -> list[tuple[str, int, int, int, int, int]]:
    """What `read_rows` finds, without the blobs: (partition, rowid, series_id, start, end, count),
    ordered by series then time. With `read_blobs`, a reader that caches decoded rows fetches the
    bytes of only the rows it has not decoded yet."""
    out: list[tuple[str, int, int, int, int, int]] = []
    if not ids:
        return out
    for part in partitions(conn, tier, start, end):
        columns = f"SELECT rowid, series_id, start_ts, end_ts, n FROM {part.name} WHERE end_ts >= ? AND start_ts <= ?"
        try:
            for i in range(0, len(ids), 500):
                chunk_ids = ids[i : i + 500]
                sql = f"{columns} AND series_id IN ({','.join('?' * len(chunk_ids))})"
                out.extend((part.name, *r) for r in conn.execute(sql, (start, end, *chunk_ids)))
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
    out.sort(key=lambda r: (r[2], r[3]))
    return out


def read_blobs(conn: sqlite3.Connection, partition: str, rowids: Sequence[int]) -> dict[int, bytes]:
    """The blobs of rows `rowids` of `partition` (a name `read_row_keys` gave); missing rows are absent."""
    out: dict[int, bytes] = {}
    for i in range(0, len(rowids), 500):
        chunk = rowids[i : i + 500]
        sql = f"SELECT rowid, data FROM {partition} WHERE rowid IN ({','.join('?' * len(chunk))})"
        try:
            out.update(conn.execute(sql, tuple(chunk)).fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
    return out


def read_states(conn: sqlite3.Connection, target: str | None, start: float, end: float) -> list[StateRow]:
    """State intervals overlapping [start, end] (seconds), of one target or all."""
    sql = (
        "SELECT target, state, start_ts, end_ts, cause FROM state_intervals WHERE start_ts <= ?"
        " AND (end_ts IS NULL OR end_ts >= ?)"
    )
    params: tuple[object, ...] = (end, start)
    if target is not None:
        sql += " AND target = ?"
        params += (target,)
    return [StateRow(*r) for r in conn.execute(sql + " ORDER BY target, start_ts", params)]
