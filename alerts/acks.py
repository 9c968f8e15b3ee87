"""Acknowledgements: an on-call engineer takes an alert ("I'm on it"), so it stops paging.

An `Acknowledgement` belongs to one alert (its fingerprint) for one episode: `clear` is called when
the alert resolves, and the next episode pages again. It may expire (`expires_at`); once expired it
no longer mutes, and `expired_since(t0, t1)` tells the pipeline which acks ran out in (t0, t1], so
it can re-notify those whose alert still fires. An expired ack stays until `clear`, a new
acknowledgement or `unacknowledge`. Times are Unix seconds.

`Acks` keeps the current acks in memory (`active` is asked per alert per evaluation and never
touches the database) and in a `MuteDB`; every change is one transaction, which also appends to
`ack_history` (acknowledge, unacknowledge with who did it, clear) for the audit trail.
Invalid input raises ValueError; un-acknowledging an alert without an active ack raises `NotFound`.
"""

from __future__ import annotations

import builtins
import enum
import math
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from alerts.mutedb import MuteDB, NotFound

__all__ = ["AckAction", "AckEvent", "Acknowledgement", "Acks"]


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Alert `fingerprint` acknowledged by user `by` at `at`; `expires_at` None: until it resolves."""

    fingerprint: str
    by: str
    comment: str
    at: float
    expires_at: float | None = None

    def active(self, t: float) -> bool:
        return self.expires_at is None or t < self.expires_at


class AckAction(enum.Enum):
    ACKNOWLEDGE = "acknowledge"
    UNACKNOWLEDGE = "unacknowledge"
    CLEAR = "clear"
    """The alert resolved, which ends its acknowledgement (`by` is empty)."""


@dataclass(frozen=True, slots=True)
class AckEvent:
    """One entry of an alert's acknowledgement history."""

    fingerprint: str
    action: AckAction
    by: str
    comment: str
    at: float
    expires_at: float | None = None


class Acks:
    """The acknowledgements, in memory and in `db`. Thread-safe."""

    def __init__(self, db: MuteDB) -> None:
        self._db = db
        self._lock = threading.Lock()
        rows = db.query("SELECT fingerprint, by_user, comment, at, expires_at FROM acks")
        self._acks: dict[str, Acknowledgement] = {row[0]: Acknowledgement(*row) for row in rows}

    def acknowledge(
        self, fingerprint: str, by: str, comment: str, t: float, expires_in: float | None = None
    ) -> Acknowledgement:
        """Acknowledge the alert at `t`, for `expires_in` seconds or (None) until it resolves.
        Replaces an earlier ack of it. Raises ValueError if `by` is empty or `expires_in` is not > 0."""
        if not by.strip():
            raise ValueError("by is required: who acknowledges")
        if expires_in is not None and not (math.isfinite(expires_in) and expires_in > 0):
            raise ValueError(f"expires_in must be a number of seconds greater than 0, got {expires_in}")
        ack = Acknowledgement(fingerprint, by, comment, t, None if expires_in is None else t + expires_in)
        with self._lock, self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO acks VALUES (?, ?, ?, ?, ?)",
                (fingerprint, by, comment, t, ack.expires_at),
            )
            _record(db, AckEvent(fingerprint, AckAction.ACKNOWLEDGE, by, comment, t, ack.expires_at))
            self._acks[fingerprint] = ack
        return ack

    def unacknowledge(self, fingerprint: str, by: str, t: float) -> Acknowledgement:
        """Withdraw the alert's active ack (user `by`, at `t`) and return it: the alert pages again.
        Raises NotFound if it has no active ack."""
        with self._lock:
            ack = self._acks.get(fingerprint)
            if ack is None or not ack.active(t):
                raise NotFound(f"alert {fingerprint} is not acknowledged")
            with self._db.transaction() as db:
                db.execute("DELETE FROM acks WHERE fingerprint = ?", (fingerprint,))
                _record(db, AckEvent(fingerprint, AckAction.UNACKNOWLEDGE, by, "", t))
            del self._acks[fingerprint]
        return ack

    def active(self, fingerprint: str, t: float) -> Acknowledgement | None:
        """The alert's ack if it is in force at `t`, else None. No database access."""
        ack = self._acks.get(fingerprint)
        return ack if ack is not None and ack.active(t) else None

    def expired_since(self, t0: float, t1: float) -> list[Acknowledgement]:
        """The acks that expired in (t0, t1] and were not cleared, by expiry time then fingerprint."""
        with self._lock:
            acks = list(self._acks.values())
        expired = [a for a in acks if a.expires_at is not None and t0 < a.expires_at <= t1]
        return sorted(expired, key=lambda a: (a.expires_at, a.fingerprint))

    def clear(self, fingerprint: str, t: float) -> Acknowledgement | None:
        """End the alert's ack (active or expired) because the alert resolved at `t`; return what
        was cleared (None: there was none, and nothing is recorded)."""
        with self._lock:
            ack = self._acks.pop(fingerprint, None)
            if ack is None:
                return None
            with self._db.transaction() as db:
                db.execute("DELETE FROM acks WHERE fingerprint = ?", (fingerprint,))
                _record(db, AckEvent(fingerprint, AckAction.CLEAR, "", "", t))
        return ack

    def list(self) -> list[Acknowledgement]:
        """Every ack held (in force or expired but not cleared), by fingerprint."""
        with self._lock:
            return sorted(self._acks.values(), key=lambda a: a.fingerprint)

    def history(self, fingerprint: str) -> builtins.list[AckEvent]:
        """What happened to the alert's acks, oldest first."""
        rows = self._db.query(
            "SELECT fingerprint, action, by_user, comment, at, expires_at FROM ack_history"
            " WHERE fingerprint = ? ORDER BY seq",
            (fingerprint,),
        )
        return [_event(row) for row in rows]


def _record(db: sqlite3.Connection, event: AckEvent) -> None:
    db.execute(
        "INSERT INTO ack_history (fingerprint, action, by_user, comment, at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (event.fingerprint, event.action.value, event.by, event.comment, event.at, event.expires_at),
    )


def _event(row: tuple[Any, ...]) -> AckEvent:
    fingerprint, action, by, comment, at, expires_at = row
    return AckEvent(fingerprint, AckAction(action), by, comment, at, expires_at)
