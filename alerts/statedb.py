"""Alert state in SQLite (e.g. `data_dir/alerts.sqlite3`, WAL mode): after each group evaluation
the group's alerts are saved in one transaction, so a restart continues every alert where it was.

One row per alert: group key, rule key (alerts/evaluation.py `rule_keys`), fingerprint, labels and
annotations (JSON objects), state, active_at, fired_at, resolved_at, keep_firing_since,
last_evaluated, value. Times are Unix seconds.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from alerts.evaluation import AlertEntry
from alerts.model import AlertState, fingerprint
from model import Labels
from store.sqlitetx import transaction

__all__ = ["AlertStateDB"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_state (
    group_key TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    state TEXT NOT NULL,
    active_at REAL NOT NULL,
    fired_at REAL,
    resolved_at REAL,
    keep_firing_since REAL,
    last_evaluated REAL,
    value REAL,
    PRIMARY KEY (group_key, rule_key, fingerprint)
)
"""


class AlertStateDB:
    """The `StateStore` of RuleEvaluator over one SQLite file. Thread-safe (one connection, a lock).
    Always `close()` what you open."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def load(self, group_key: str) -> dict[str, list[AlertEntry]]:
        """The saved alerts of a group by rule key (empty when it was never saved)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT rule_key, labels, annotations, state, active_at, fired_at, resolved_at,"
                " keep_firing_since, last_evaluated, value FROM alert_state WHERE group_key = ?"
                " ORDER BY rule_key, fingerprint",
                (group_key,),
            ).fetchall()
        out: dict[str, list[AlertEntry]] = {}
        for rule_key, labels, notes, state, active_at, fired, resolved, keep_since, evaluated, value in rows:
            entry = AlertEntry(
                labels=Labels(json.loads(labels)),
                annotations=Labels(json.loads(notes)),
                state=AlertState(state),
                active_at=active_at,
                value=math.nan if value is None else value,
                fired_at=fired,
                resolved_at=resolved,
                keep_firing_since=keep_since,
                last_evaluated=evaluated,
            )
            out.setdefault(rule_key, []).append(entry)
        return out

    def save(self, group_key: str, states: Mapping[str, Sequence[AlertEntry]]) -> None:
        """Replace the group's saved alerts with `states`, in one transaction."""
        rows = [
            (
                group_key,
                rule_key,
                fingerprint(e.labels),
                json.dumps(dict(e.labels), ensure_ascii=False, sort_keys=True),
                json.dumps(dict(e.annotations), ensure_ascii=False, sort_keys=True),
                e.state.value,
                e.active_at,
                e.fired_at,
                e.resolved_at,
                e.keep_firing_since,
                e.last_evaluated,
                None if math.isnan(e.value) else e.value,  # SQLite stores NaN as NULL anyway
            )
            for rule_key, entries in states.items()
            for e in entries
        ]
        with transaction(self._db, self._lock) as db:
            db.execute("DELETE FROM alert_state WHERE group_key = ?", (group_key,))
            db.executemany("INSERT INTO alert_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def group_keys(self) -> list[str]:
        """Every group with saved state (a group gone from the rule files keeps its rows until `forget`)."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT DISTINCT group_key FROM alert_state ORDER BY 1")]

    def forget(self, group_key: str) -> None:
        """Delete a group's saved state (its rule file or group was removed)."""
        with self._lock:
            self._db.execute("DELETE FROM alert_state WHERE group_key = ?", (group_key,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
