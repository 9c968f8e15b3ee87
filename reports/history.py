"""The state history the availability reports read: `DATA_DIR/history.sqlite3`.

Two kinds of record, each an interval [start, end) (end NULL while it lasts):
- a leaf's bad state: `device:<name>` down or unreachable, `link:<name>` down, `probe:<device>/<collector>`
  failing (keys as reports/service.py `leaf_key`), written by `observe(t, bad)`: the leaves bad at
  `t`; an interval opens when a leaf turns bad and closes when it is no longer listed;
- a firing alert, written by `observe_alerts(t, firing)`: its labels and summaries, for the outages'
  causes and the `alerts:` leaves.

`heartbeat` is the last time anything was observed. When the console stops, the intervals still
open stay open; the next start closes them at the last heartbeat (`HistoryDB.open` does), so the time
the console did not watch is never counted as an outage (`gaps()` lists it). Times are Unix
seconds, passed in: nothing here reads the clock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from alerts.model import Alert
from model import Labels
from store.sqlitetx import open_shared, transaction

__all__ = ["CATEGORIES", "AlertSpan", "HistoryDB", "LeafSpan", "Reclassification"]

CATEGORIES = ("planned", "external")
"""What an administrator may reclassify an outage as: planned work, or an external cause."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leaf_spans (
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL
);
CREATE INDEX IF NOT EXISTS leaf_spans_time ON leaf_spans (start);
CREATE INDEX IF NOT EXISTS leaf_spans_open ON leaf_spans ("end") WHERE "end" IS NULL;
CREATE TABLE IF NOT EXISTS alert_spans (
    fingerprint TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL
);
CREATE INDEX IF NOT EXISTS alert_spans_time ON alert_spans (start);
CREATE TABLE IF NOT EXISTS reclassifications (
    system TEXT NOT NULL,
    at_time REAL NOT NULL,
    category TEXT NOT NULL,
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS watched (
    start REAL NOT NULL,
    "end" REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class LeafSpan:
    key: str
    state: str
    """`down`, `unreachable` (devices behind a cut) or `failing` (probes)."""
    start: float
    end: float | None


@dataclass(frozen=True, slots=True)
class AlertSpan:
    fingerprint: str
    labels: Labels
    annotations: Labels
    start: float
    """When the alert became active (its `activeAt`, before its `for` delay)."""
    end: float | None


@dataclass(frozen=True, slots=True)
class Reclassification:
    """An outage of `system` (the one in progress at `at_time`) reclassified by `by` at `at`: its
    downtime no longer counts. The outage itself stays as recorded."""

    system: str
    at_time: float
    category: str
    reason: str
    by: str
    at: float


class HistoryDB:
    """Thread-safe; `close()` it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = open_shared(path, _SCHEMA, synchronous="NORMAL")
        self._lock = threading.Lock()
        self._open: dict[str, str] = {}
        self._alerts: set[str] = set()
        self._watch_start: float | None = None
        self._heartbeat: float | None = self._last_watched()

    def _last_watched(self) -> float | None:
        with self._lock:
            row = self._db.execute('SELECT MAX("end") FROM watched').fetchone()
        return None if row is None else row[0]

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> HistoryDB:
        """Open `path` to record into it, closing what a previous run left open at its last
        heartbeat. (Readers, such as `run_console.py report`, open it with `HistoryDB(path)`.)"""
        db = cls(path)
        with transaction(db._db, db._lock) as conn:
            row = conn.execute('SELECT MAX("end") FROM watched').fetchone()
            last = row[0] if row and row[0] is not None else None
            if last is not None:
                conn.execute('UPDATE leaf_spans SET "end" = MAX(start, ?) WHERE "end" IS NULL', (last,))
                conn.execute('UPDATE alert_spans SET "end" = MAX(start, ?) WHERE "end" IS NULL', (last,))
            else:
                conn.execute('DELETE FROM leaf_spans WHERE "end" IS NULL')
                conn.execute('DELETE FROM alert_spans WHERE "end" IS NULL')
        return db

    @property
    def heartbeat(self) -> float | None:
        return self._heartbeat

    # -- writing ----------------------------------------------------------------------------------

    def observe(self, t: float, bad: Mapping[str, str]) -> None:
        """The leaves bad at `t` (key -> state); every other leaf is good at `t`."""
        with transaction(self._db, self._lock) as conn:
            for key, state in list(self._open.items()):
                if bad.get(key) != state:
                    conn.execute('UPDATE leaf_spans SET "end" = ? WHERE key = ? AND "end" IS NULL', (t, key))
                    del self._open[key]
            for key, state in bad.items():
                if key not in self._open:
                    conn.execute("INSERT INTO leaf_spans (key, state, start) VALUES (?, ?, ?)", (key, state, t))
                    self._open[key] = state
            self._watched(conn, t)

    def observe_alerts(self, t: float, firing: Iterable[Alert]) -> None:
        """The alerts firing at `t`; an alert no longer listed has ended at `t`."""
        now = {a.fingerprint: a for a in firing}
        with transaction(self._db, self._lock) as conn:
            for fp in self._alerts - now.keys():
                conn.execute('UPDATE alert_spans SET "end" = ? WHERE fingerprint = ? AND "end" IS NULL', (t, fp))
            for fp in now.keys() - self._alerts:
                alert = now[fp]
                conn.execute(
                    "INSERT INTO alert_spans (fingerprint, labels, annotations, start) VALUES (?, ?, ?, ?)",
                    (fp, json.dumps(dict(alert.labels)), json.dumps(dict(alert.annotations)), alert.active_at),
                )
            self._alerts = set(now)
            self._watched(conn, t)

    def _watched(self, conn: sqlite3.Connection, t: float) -> None:
        if self._watch_start is None:
            self._watch_start = t
            conn.execute('INSERT INTO watched (start, "end") VALUES (?, ?)', (t, t))
        else:
            conn.execute('UPDATE watched SET "end" = ? WHERE start = ?', (t, self._watch_start))
        self._heartbeat = t

    def insert(
        self, leaves: Iterable[LeafSpan], alerts: Iterable[AlertSpan], watched: Iterable[tuple[float, float]]
    ) -> None:
        """Closed history in bulk (imports, benchmarks, tests)."""
        with transaction(self._db, self._lock) as conn:
            conn.executemany(
                'INSERT INTO leaf_spans (key, state, start, "end") VALUES (?, ?, ?, ?)',
                ((s.key, s.state, s.start, s.end) for s in leaves),
            )
            conn.executemany(
                'INSERT INTO alert_spans (fingerprint, labels, annotations, start, "end") VALUES (?, ?, ?, ?, ?)',
                (
                    (a.fingerprint, json.dumps(dict(a.labels)), json.dumps(dict(a.annotations)), a.start, a.end)
                    for a in alerts
                ),
            )
            conn.executemany('INSERT INTO watched (start, "end") VALUES (?, ?)', watched)
        self._heartbeat = self._last_watched()

    # -- reading ----------------------------------------------------------------------------------

    def leaf_spans(self, start: float, end: float) -> list[LeafSpan]:
        """Every leaf span overlapping [start, end), by start; one still open ends at the heartbeat."""
        until = self._heartbeat if self._heartbeat is not None else end
        with self._lock:
            rows = self._db.execute(
                'SELECT key, state, start, "end" FROM leaf_spans WHERE start < ? AND ("end" IS NULL OR "end" > ?)'
                " ORDER BY start, key",
                (end, start),
            ).fetchall()
        return [LeafSpan(k, s, a, b if b is not None else max(a, until)) for k, s, a, b in rows]

    def alert_spans(self, start: float, end: float) -> list[AlertSpan]:
        until = self._heartbeat if self._heartbeat is not None else end
        with self._lock:
            rows = self._db.execute(
                'SELECT fingerprint, labels, annotations, start, "end" FROM alert_spans'
                ' WHERE start < ? AND ("end" IS NULL OR "end" > ?) ORDER BY start, fingerprint',
                (end, start),
            ).fetchall()
        return [
            AlertSpan(
                fp, Labels(json.loads(labels)), Labels(json.loads(notes)), a, b if b is not None else max(a, until)
            )
            for fp, labels, notes, a, b in rows
        ]

    def gaps(self, start: float, end: float) -> list[tuple[float, float]]:
        """The parts of [start, end) nothing was observed in (the console was not running)."""
        with self._lock:
            rows = self._db.execute(
                'SELECT start, "end" FROM watched WHERE start < ? AND "end" > ? ORDER BY start', (end, start)
            ).fetchall()
        out, t = [], start
        for a, b in rows:
            if a > t:
                out.append((t, min(a, end)))
            t = max(t, b)
        if t < end:
            out.append((t, end))
        return out

    def reclassify(self, change: Reclassification) -> None:
        """Record `change` (the latest for an outage wins; earlier ones stay on record)."""
        if change.category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, not {change.category!r}")
        if not change.reason.strip():
            raise ValueError("a reason is required")
        with transaction(self._db, self._lock) as conn:
            conn.execute(
                "INSERT INTO reclassifications (system, at_time, category, reason, by, at) VALUES (?, ?, ?, ?, ?, ?)",
                (change.system, change.at_time, change.category, change.reason, change.by, change.at),
            )

    def reclassifications(self, system: str) -> list[Reclassification]:
        """Every reclassification of `system`'s outages, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT system, at_time, category, reason, by, at FROM reclassifications WHERE system = ?"
                " ORDER BY at, rowid",
                (system,),
            ).fetchall()
        return [Reclassification(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def down_intervals(spans: Iterable[LeafSpan]) -> dict[str, list[tuple[float, float]]]:
    """Leaf key -> its bad intervals (any bad state counts as down for a service tree)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for span in spans:
        if span.end is not None and span.end > span.start:
            out.setdefault(span.key, []).append((span.start, span.end))
    return out
