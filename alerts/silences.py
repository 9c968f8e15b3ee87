"""Silences, as Alertmanager has them: matchers plus a time range, made by someone for a reason.

A `Silence` mutes an alert whose labels match all its matchers while it is active. States follow
Alertmanager: pending before `starts_at`, active in [`starts_at`, `ends_at`), expired from `ends_at`
on (Alertmanager counts the instant `ends_at` as still active; the half-open range makes "expire at
t" take effect at t). Times are Unix seconds.

`Silences` is the collection over a `MuteDB`: every change is one SQLite transaction, and the
silences are held in memory so `silencing(labels, t)`, which the pipeline asks for every alert on
every evaluation, never touches the database. Validation follows Alertmanager's: at least one
matcher, not every matcher may match the empty string, the end after the start, `created_by` and
`comment` given; a start in the past is moved to now and an end in the past is refused.
Expired silences are deleted `retention` (Alertmanager: 120h) after they end by `gc(t)`.
Invalid input raises ValueError with Alertmanager's message; an unknown id raises `NotFound`.
"""

from __future__ import annotations

import builtins
import enum
import json
import math
import threading
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.matchers import Matcher, Matchers, parse_matcher, parse_matchers
from alerts.mutedb import MuteDB, NotFound
from model import Labels

__all__ = ["SILENCE_RETENTION", "Silence", "SilenceState", "Silences", "validate_silence"]

SILENCE_RETENTION = 120 * 3600.0
"""Seconds an expired silence is kept (listed, restorable) before `gc` deletes it: Alertmanager's default."""


class SilenceState(enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    """One silence. `id` is a uuid4 string; `updated_at` is when it was created or last changed."""

    id: str
    matchers: Matchers
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    updated_at: float

    def state(self, t: float) -> SilenceState:
        if t < self.starts_at:
            return SilenceState.PENDING
        if t < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def mutes(self, labels: Mapping[str, str], t: float) -> bool:
        """Whether the silence is active at `t` and every matcher matches `labels`."""
        return self.starts_at <= t < self.ends_at and all(m.matches(labels) for m in self.matchers)


def validate_silence(silence: Silence) -> None:
    """Raise ValueError, with Alertmanager's message, if `silence` may not be created."""
    if not silence.matchers:
        raise ValueError("at least one matcher required")
    if all(m.matches({}) for m in silence.matchers):
        raise ValueError("at least one matcher must not match the empty string")
    if not silence.ends_at > silence.starts_at:
        raise ValueError("end time must be after start time")
    if not silence.created_by.strip():
        raise ValueError("created_by is required")
    if not silence.comment.strip():
        raise ValueError("comment is required")


class Silences:
    """All silences, in memory and in `db`. Thread-safe: writes hold a lock, reads use an immutable snapshot."""

    def __init__(self, db: MuteDB, *, retention: float = SILENCE_RETENTION) -> None:
        self._db = db
        self._retention = retention
        self._lock = threading.Lock()
        rows = db.query(
            "SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM silences ORDER BY id"
        )
        self._by_id: dict[str, Silence] = {row[0]: _from_row(row) for row in rows}
        self._latest = float("-inf")  # the latest t `silencing` was asked about
        self._index = _Index.build(())
        self._snapshot()

    def create(
        self,
        matchers: str | Iterable[str | Matcher],
        *,
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
        t: float,
    ) -> Silence:
        """Create a silence at time `t` and return it (with its new id). `matchers` are Matcher
        objects or Alertmanager matcher text (`'site=~"dc-.*", severity="critical"'` or a list).
        A start before `t` becomes `t`. Raises ValueError (bad matchers, see `validate_silence`,
        `end time can't be in the past`)."""
        parsed = _matchers(matchers)
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=parsed,
            starts_at=max(starts_at, t),
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            updated_at=t,
        )
        if ends_at <= t:
            raise ValueError("end time can't be in the past")
        validate_silence(silence)
        with self._lock:
            self._write(silence)
            self._by_id[silence.id] = silence
            self._snapshot()
        return silence

    def expire(self, silence_id: str, t: float) -> Silence:
        """End the silence at `t` (a pending one gets start = end = t, as in Alertmanager) and
        return it. Raises NotFound for an unknown id, ValueError if it has already expired."""
        with self._lock:
            old = self._by_id.get(silence_id)
            if old is None:
                raise NotFound(f"silence {silence_id} not found")
            state = old.state(t)
            if state is SilenceState.EXPIRED:
                raise ValueError(f"silence {silence_id} already expired")
            starts_at = t if state is SilenceState.PENDING else old.starts_at
            new = Silence(old.id, old.matchers, starts_at, t, old.created_by, old.comment, t)
            self._write(new)
            self._by_id[new.id] = new
            self._snapshot()
        return new

    def get(self, silence_id: str) -> Silence:
        """The silence with this id. Raises NotFound."""
        silence = self._by_id.get(silence_id)
        if silence is None:
            raise NotFound(f"silence {silence_id} not found")
        return silence

    def list(self, t: float, states: Collection[SilenceState] | None = None) -> builtins.list[Silence]:
        """The silences (all, or those in one of `states` at `t`) by id."""
        with self._lock:
            silences = sorted(self._by_id.values(), key=lambda s: s.id)
        return [s for s in silences if states is None or s.state(t) in states]

    def silencing(self, labels: Mapping[str, str], t: float) -> Silence | None:
        """The first (by id) silence active at `t` that mutes `labels`, or None. No database access.

        `t` is expected to move forward: a silence that ended more than `_SLACK` before the latest
        `t` asked about is no longer looked at (it could only matter to a `t` that far back)."""
        if t > self._latest:
            self._latest = t
            if t >= self._index.prune_at:
                with self._lock:
                    self._snapshot()
        index = self._index
        pairs = labels.pairs if isinstance(labels, Labels) else tuple(labels.items())
        lookup = dict(pairs)  # matchers look labels up by name: a dict is fastest
        candidates = [*index.unkeyed]
        for pair in pairs:
            candidates.extend(index.keyed.get(pair, ()))
        candidates.sort(key=lambda s: s.id)
        for silence in candidates:
            if silence.starts_at <= t < silence.ends_at and all(m.matches(lookup) for m in silence.matchers):
                return silence
        return None

    def gc(self, t: float) -> int:
        """Delete the silences that expired `retention` or longer before `t`; return how many."""
        with self._lock:
            doomed = [s.id for s in self._by_id.values() if s.ends_at <= t - self._retention]
            if not doomed:
                return 0
            with self._db.transaction() as db:
                db.executemany("DELETE FROM silences WHERE id = ?", [(i,) for i in doomed])
            for silence_id in doomed:
                del self._by_id[silence_id]
            self._snapshot()
        return len(doomed)

    def _write(self, silence: Silence) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO silences VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    silence.id,
                    json.dumps([str(m) for m in silence.matchers], ensure_ascii=False),
                    silence.starts_at,
                    silence.ends_at,
                    silence.created_by,
                    silence.comment,
                    silence.updated_at,
                ),
            )

    def _snapshot(self) -> None:
        """Recompute (holding the lock) the silences `silencing` looks at: by id, all but those that
        ended more than `_SLACK` before the latest `t` asked about."""
        horizon = self._latest - _SLACK
        self._index = _Index.build(s for s in self._by_id.values() if s.ends_at > horizon)


_SLACK = 3600.0
"""Seconds an expired silence stays in `silencing`'s list, so calls with slightly older times agree."""


@dataclass(frozen=True, slots=True)
class _Index:
    """The silences `silencing` looks at, found by label pair: a silence with an equality matcher
    on a non-empty value can only mute alerts with that pair, so it is filed under it (`keyed`);
    the others are tried for every alert (`unkeyed`). Replaced whole, never changed."""

    keyed: dict[tuple[str, str], tuple[Silence, ...]]
    unkeyed: tuple[Silence, ...]
    prune_at: float
    """When the earliest-ending silence has been over for `_SLACK`: time to rebuild."""

    @staticmethod
    def build(silences: Iterable[Silence]) -> _Index:
        keyed: dict[tuple[str, str], list[Silence]] = {}
        unkeyed: list[Silence] = []
        prune_at = math.inf
        for silence in silences:
            prune_at = min(prune_at, silence.ends_at + _SLACK)
            key = next(((m.name, m.value) for m in silence.matchers if m.op == "=" and m.value), None)
            if key is None:
                unkeyed.append(silence)
            else:
                keyed.setdefault(key, []).append(silence)
        return _Index({k: tuple(v) for k, v in keyed.items()}, tuple(unkeyed), prune_at)


def _matchers(source: str | Iterable[str | Matcher]) -> Matchers:
    if isinstance(source, str):
        return parse_matchers(source)
    out: list[Matcher] = []
    for item in source:
        out.extend((item,) if isinstance(item, Matcher) else parse_matchers(item))
    return tuple(out)


def _from_row(row: tuple[Any, ...]) -> Silence:
    silence_id, matchers, starts_at, ends_at, created_by, comment, updated_at = row
    return Silence(
        id=silence_id,
        matchers=tuple(parse_matcher(text) for text in json.loads(matchers)),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
        updated_at=updated_at,
    )
