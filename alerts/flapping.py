"""Flap detection: an alert that keeps starting and stopping is reported once as flapping, not paged
at every change.

The pipeline calls `observe(fingerprint, firing, t)` (or `observe_many`) for every alert at every
evaluation. A state change is recorded when `firing` differs from the last observation (the first
observation of a fingerprint only sets its state). An alert starts flapping at the change that makes
`changes` state changes within the last `window` seconds, i.e. with times in (t - window, t]. It
stays flapping until it has gone `calm` seconds without a change: at `last_change + calm` it is no
longer flapping (hysteresis), its current state is notified normally, and its change history starts
afresh, so it takes `changes` new changes to flap again. `observe` returns `FlapChange.STARTED` or
`FlapChange.CALMED` at the observation where that happens, which is where the pipeline sends its one
"flapping" and one "calmed" notification; `is_flapping(fp, t)` answers for any time from the state.

State is in memory and in a `MuteDB` (`flap_state`, `flap_transitions`), written only when it changes,
one transaction per `observe`/`observe_many`; changes older than the window are dropped. Times are
Unix seconds.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from alerts.mutedb import MuteDB
from alerts.notifiers.config import Seconds

__all__ = ["FlapChange", "FlapDetector", "FlappingConfig"]


class FlappingConfig(BaseModel):
    """`flapping:`: `changes` state changes within `window` make an alert flap; `calm` without a change end it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    changes: Annotated[int, Field(ge=2)] = 6
    window: Seconds = 3600.0
    calm: Seconds = 1800.0


class FlapChange(enum.Enum):
    STARTED = "started"
    CALMED = "calmed"


@dataclass(slots=True)
class _Flap:
    firing: bool
    last_change: float | None = None
    flapping_since: float | None = None
    transitions: list[tuple[float, bool]] = field(default_factory=list)


class FlapDetector:
    """Flap state per alert fingerprint. Thread-safe."""

    def __init__(self, db: MuteDB, config: FlappingConfig | None = None) -> None:
        self.config = config or FlappingConfig()
        self._db = db
        self._lock = threading.Lock()
        self._flaps: dict[str, _Flap] = {}
        for fp, firing, last_change, since in db.query(
            "SELECT fingerprint, firing, last_change, flapping_since FROM flap_state"
        ):
            self._flaps[fp] = _Flap(bool(firing), last_change, since)
        for fp, at, firing in db.query("SELECT fingerprint, at, firing FROM flap_transitions ORDER BY fingerprint, at"):
            if fp in self._flaps:
                self._flaps[fp].transitions.append((at, bool(firing)))

    def observe(self, fingerprint: str, firing: bool, t: float) -> FlapChange | None:
        """Record the alert's state at `t`; return STARTED/CALMED if it started or stopped flapping."""
        return self.observe_many([(fingerprint, firing)], t).get(fingerprint)

    def observe_many(self, items: Iterable[tuple[str, bool]], t: float) -> dict[str, FlapChange]:
        """`observe` for many alerts at `t`, written in one transaction; the changes by fingerprint."""
        changes: dict[str, FlapChange] = {}
        with self._lock:
            dirty: list[str] = []
            for fingerprint, firing in items:
                changed, event = self._step(fingerprint, firing, t)
                if changed:
                    dirty.append(fingerprint)
                if event is not None:
                    changes[fingerprint] = event
            if dirty:
                with self._db.transaction() as db:
                    for fingerprint in dirty:
                        self._save(db, fingerprint)
        return changes

    def is_flapping(self, fingerprint: str, t: float) -> bool:
        """Whether the alert is flapping at `t` (False from `calm` after its last change on). `t` is
        not before the alert's last observation: the answer comes from the state as then."""
        flap = self._flaps.get(fingerprint)
        return flap is not None and self._flapping(flap, t)

    def started_flapping(self, fingerprint: str) -> float | None:
        """When the alert's current flapping episode started (the change that made it flap), as of
        the last observation; None when it was not flapping then."""
        flap = self._flaps.get(fingerprint)
        return None if flap is None else flap.flapping_since

    def transitions(self, fingerprint: str) -> list[tuple[float, bool]]:
        """The alert's recorded state changes `(t, firing)`, oldest first (those within the window
        at the last observation, and none from before it last calmed)."""
        with self._lock:
            flap = self._flaps.get(fingerprint)
            return [] if flap is None else list(flap.transitions)

    def forget(self, fingerprint: str) -> None:
        """Drop everything known about the alert."""
        with self._lock:
            if self._flaps.pop(fingerprint, None) is None:
                return
            with self._db.transaction() as db:
                _delete(db, fingerprint)

    def prune(self, t: float) -> int:
        """Forget alerts that are not firing, not flapping at `t` and have no change within the
        window (so memory does not grow with every alert ever seen); return how many."""
        window = self.config.window
        with self._lock:
            idle = [
                fp
                for fp, flap in self._flaps.items()
                if not flap.firing
                and not self._flapping(flap, t)
                and (flap.last_change is None or flap.last_change <= t - window)
            ]
            if idle:
                with self._db.transaction() as db:
                    for fp in idle:
                        _delete(db, fp)
                        del self._flaps[fp]
        return len(idle)

    def _flapping(self, flap: _Flap, t: float) -> bool:
        return (
            flap.flapping_since is not None and flap.last_change is not None and t - flap.last_change < self.config.calm
        )

    def _step(self, fingerprint: str, firing: bool, t: float) -> tuple[bool, FlapChange | None]:
        """Apply one observation (holding the lock): whether the state changed, and the flap change."""
        flap = self._flaps.get(fingerprint)
        if flap is None:
            self._flaps[fingerprint] = _Flap(firing)
            return True, None
        changed = False
        event: FlapChange | None = None
        if flap.flapping_since is not None and not self._flapping(flap, t):
            flap.flapping_since = None
            flap.transitions.clear()
            changed, event = True, FlapChange.CALMED
        flipped = firing != flap.firing
        if flipped:
            flap.firing = firing
            flap.last_change = t
            flap.transitions.append((t, firing))
            changed = True
        horizon = t - self.config.window
        recent = [change for change in flap.transitions if change[0] > horizon]
        if len(recent) != len(flap.transitions):
            flap.transitions = recent
            changed = True
        if flipped and flap.flapping_since is None and len(recent) >= self.config.changes:
            flap.flapping_since = t
            event = FlapChange.STARTED
        return changed, event

    def _save(self, db: sqlite3.Connection, fingerprint: str) -> None:
        flap = self._flaps[fingerprint]
        db.execute(
            "INSERT OR REPLACE INTO flap_state VALUES (?, ?, ?, ?)",
            (fingerprint, int(flap.firing), flap.last_change, flap.flapping_since),
        )
        db.execute("DELETE FROM flap_transitions WHERE fingerprint = ?", (fingerprint,))
        db.executemany(
            "INSERT INTO flap_transitions VALUES (?, ?, ?)",
            [(fingerprint, at, int(firing)) for at, firing in flap.transitions],
        )


def _delete(db: sqlite3.Connection, fingerprint: str) -> None:
    db.execute("DELETE FROM flap_state WHERE fingerprint = ?", (fingerprint,))
    db.execute("DELETE FROM flap_transitions WHERE fingerprint = ?", (fingerprint,))
