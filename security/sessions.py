"""Web sessions kept on the server, and login throttling: `DATA_DIR/sessions.sqlite3`.

A session is a row here, not a signed cookie: the cookie holds only a random session id, and the
file keeps the id's SHA-256, so logging out, changing a password, disabling a user, changing a role
or revoking a kiosk ends the session on the server (`end`, `end_for`) and a copied cookie stops
working. The console and `run_console.py users|kiosk` share the file through SQLite (WAL), each
with its own connection. A session is either a user's login (kind "session") or a wall screen's
(kind "kiosk", named after the kiosk).

`get` ends a session idle for longer than its `idle` timeout or older than its `absolute` lifetime.
It writes `last_seen` only when it moved by `TOUCH_EVERY` (10 s, or a tenth of an idle timeout
shorter than 100 s) or more, to spare a write per request, so the idle timeout is exact to 10 s: a
session may end up to 10 s (a tenth of its idle timeout) before `idle` has passed since its last
request, never later. Rows ended or expired for more than `KEEP_ENDED` (a day) are deleted when a
session is created.

The same file keeps failed logins (table `failures`; `SessionDB.locked_until`, `failed`, `succeeded`,
`unlock`, so that the console and `users unlock` share them like the sessions). They are counted by
the name typed, known or not, so an unknown name is throttled like a known one. After `attempts`
failures in a row the name is locked for `lock_for` seconds; each further lockout without a success
in between doubles that, up to `MAX_LOCK` (24 h): a lock always ends, so nobody, not even the last
admin, is locked out for good. A name with neither failure nor lock for `KEEP_ENDED` is forgotten.
Nothing here reads the clock: `at` (Unix seconds) is passed in.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from store.sqlitetx import open_shared, transaction

__all__ = ["KEEP_ENDED", "KINDS", "MAX_LOCK", "SESSIONS_FILE", "TOUCH_EVERY", "Session", "SessionDB"]

SESSIONS_FILE = "sessions.sqlite3"
"""The sessions' file in DATA_DIR."""
KINDS = ("session", "kiosk")
"""A user's login; a wall screen's (its `name` is the kiosk's)."""
TOUCH_EVERY = 10.0
"""Seconds; `last_seen` is written only when it moves by at least this much (or a tenth of the idle
timeout, when that is less)."""
KEEP_ENDED = 86_400.0
"""Seconds an ended or expired session (and a quiet throttle entry) is kept before it is deleted."""
MAX_LOCK = 86_400.0
"""Seconds; the longest login lock, however many lockouts came before."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    csrf TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    idle REAL,
    absolute REAL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS sessions_by_name ON sessions (name, kind);
CREATE TABLE IF NOT EXISTS failures (
    name TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    lockouts INTEGER NOT NULL,
    locked_until REAL,
    last_failed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_time ON failures (last_failed);
"""

_COLUMNS = "digest, name, kind, csrf, ip, created_at, last_seen, idle, absolute"
_LIVE = (
    "ended_at IS NULL AND (idle IS NULL OR :at - last_seen <= idle)"
    " AND (absolute IS NULL OR :at - created_at <= absolute)"
)
"""Open and not expired at `:at`; the same rule as `Session.expired`."""


@dataclass(frozen=True, slots=True)
class Session:
    """A session as stored, without its id. `key` (12 hex digits of the id's SHA-256) names it in
    the audit log; `csrf` is the token its forms must send back. Times in Unix seconds, `idle` and
    `absolute` in seconds (None: no such timeout)."""

    key: str
    name: str
    kind: str
    csrf: str
    ip: str
    created_at: float
    last_seen: float
    idle: float | None
    absolute: float | None

    def expired(self, at: float) -> bool:
        """Idle for longer than `idle`, or older than `absolute` (at exactly either it still holds)."""
        idle = self.idle is not None and at - self.last_seen > self.idle
        return idle or (self.absolute is not None and at - self.created_at > self.absolute)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _session(row: tuple[str, str, str, str, str, float, float, float | None, float | None]) -> Session:
    digest, name, kind, csrf, ip, created_at, last_seen, idle, absolute = row
    return Session(digest[:12], name, kind, csrf, ip, created_at, last_seen, idle, absolute)


def _kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f'unknown session kind "{kind}" (kinds: {", ".join(KINDS)})')


def _timeout(what: str, seconds: float | None) -> None:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"{what} timeout must be more than 0 seconds, not {seconds}")


class SessionDB:
    """Thread-safe; `close()` it. Session ids are random, returned once by `create` and kept only as
    their SHA-256. Also the login throttle (one file and connection: the CLI's `users unlock` and
    the console share it like the sessions)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = open_shared(path, _SCHEMA)
        self._lock = threading.Lock()

    def create(
        self, name: str, kind: str, at: float, *, ip: str, idle: float | None, absolute: float | None
    ) -> tuple[str, Session]:
        """A new session for `name` (a user, or a kiosk when `kind` is "kiosk") from `ip`: its id,
        to set as the cookie and never stored, and the session with a fresh CSRF token. Deletes
        sessions ended or expired more than `KEEP_ENDED` ago. ValueError for an unknown kind or a
        timeout not above 0."""
        _kind(kind)
        _timeout("idle", idle)
        _timeout("absolute", absolute)
        session_id = secrets.token_urlsafe(32)
        digest = _digest(session_id)
        session = Session(digest[:12], name, kind, secrets.token_urlsafe(32), ip, at, at, idle, absolute)
        with transaction(self._db, self._lock) as db:
            db.execute(
                "DELETE FROM sessions WHERE ended_at < :old OR (idle IS NOT NULL AND last_seen + idle < :old)"
                " OR (absolute IS NOT NULL AND created_at + absolute < :old)",
                {"old": at - KEEP_ENDED},
            )
            db.execute(
                f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (digest, name, kind, session.csrf, ip, at, at, idle, absolute),
            )
        return session_id, session

    def get(self, session_id: str, at: float) -> Session | None:
        """The session `session_id` names, its `last_seen` moved to `at` (when by `TOUCH_EVERY`, or a
        tenth of a shorter idle timeout, or more); None when it is unknown, ended or expired at `at`
        (an expired one is ended now)."""
        digest = _digest(session_id)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM sessions WHERE digest = ? AND ended_at IS NULL", (digest,)
            ).fetchone()
        if row is None:
            return None
        session = _session(row)
        if session.expired(at):
            with transaction(self._db, self._lock) as db:
                db.execute("UPDATE sessions SET ended_at = ? WHERE digest = ? AND ended_at IS NULL", (at, digest))
            return None
        every = TOUCH_EVERY if session.idle is None else min(TOUCH_EVERY, session.idle / 10)
        if at - session.last_seen < every:
            return session
        with transaction(self._db, self._lock) as db:  # it may have been ended since it was read
            touched = db.execute(
                "UPDATE sessions SET last_seen = ? WHERE digest = ? AND ended_at IS NULL", (at, digest)
            ).rowcount
        return replace(session, last_seen=at) if touched else None

    def end(self, session_id: str, at: float) -> Session | None:
        """End the session (a logout): the session as it was, for the audit log, or None when it
        was unknown or already ended."""
        digest = _digest(session_id)
        with transaction(self._db, self._lock) as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM sessions WHERE digest = ? AND ended_at IS NULL", (digest,)
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE sessions SET ended_at = ? WHERE digest = ?", (at, digest))
        return _session(row)

    def end_for(self, name: str, kind: str, at: float) -> int:
        """End every session of the user (kind "session") or kiosk (kind "kiosk") `name`: after a
        password change, a disable, a role change, a kiosk's revocation. How many were live.
        ValueError for an unknown kind."""
        _kind(kind)
        with transaction(self._db, self._lock) as db:
            return db.execute(
                f"UPDATE sessions SET ended_at = :at WHERE name = :name AND kind = :kind AND {_LIVE}",
                {"at": at, "name": name, "kind": kind},
            ).rowcount

    def active(self, name: str | None = None, *, at: float) -> list[Session]:
        """The sessions live at `at` (of `name`, users' and kiosks' alike, if given), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM sessions WHERE {_LIVE}"
        if name is not None:
            sql += " AND name = :name"
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, name", {"at": at, "name": name}).fetchall()
        return [_session(row) for row in rows]

    # -- login throttling ------------------------------------------------------------------------
    def locked_until(self, name: str, at: float) -> float | None:
        """When the lock on `name` ends, or None when it is not locked at `at`."""
        with self._lock:
            row = self._db.execute("SELECT locked_until FROM failures WHERE name = ?", (name,)).fetchone()
        until: float | None = row[0] if row else None
        return until if until is not None and until > at else None

    def failed(self, name: str, at: float, *, attempts: int, lock_for: float) -> float | None:
        """Count a failed login as `name` (whether or not such a user exists); when it is the
        `attempts`-th in a row, lock the name and return when the lock ends: `lock_for` seconds
        the first time, doubled for each lockout since the last success, at most `MAX_LOCK`. The
        count then starts again. A failure while the name is locked is not counted (the login was
        refused before any password was checked). ValueError for attempts < 1 or lock_for <= 0."""
        if attempts < 1 or not lock_for > 0:
            raise ValueError(f"attempts must be at least 1 and lock_for more than 0, not {attempts} and {lock_for}")
        with transaction(self._db, self._lock) as db:
            db.execute(
                "DELETE FROM failures WHERE last_failed < ? AND (locked_until IS NULL OR locked_until < ?)",
                (at - KEEP_ENDED, at - KEEP_ENDED),
            )
            row = db.execute("SELECT count, lockouts, locked_until FROM failures WHERE name = ?", (name,)).fetchone()
            count, lockouts, until = row if row else (0, 0, None)
            if until is not None and until > at:
                return None
            count += 1
            if count >= attempts:
                lockouts += 1
                count, until = 0, at + min(lock_for * 2.0 ** min(lockouts - 1, 64), MAX_LOCK)
            else:
                until = None
            db.execute(
                "INSERT INTO failures (name, count, lockouts, locked_until, last_failed) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET count = excluded.count, lockouts = excluded.lockouts,"
                " locked_until = COALESCE(excluded.locked_until, locked_until), last_failed = excluded.last_failed",
                (name, count, lockouts, until, at),
            )
        return until

    def succeeded(self, name: str) -> None:
        """A successful login as `name`: its failures and lockouts are forgotten."""
        self._forget(name)

    def unlock(self, name: str) -> bool:
        """An admin's unlock: the lock, failures and lockouts of `name` are forgotten. Whether
        anything was recorded for it."""
        return self._forget(name)

    def _forget(self, name: str) -> bool:
        with transaction(self._db, self._lock) as db:
            return db.execute("DELETE FROM failures WHERE name = ?", (name,)).rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
