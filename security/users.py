"""The console's users: `DATA_DIR/users.sqlite3`, their roles, password hashes, second factors and
API tokens, and the kiosks (wall screens) with their tokens.

Roles are ordered by power (viewer < operator < oncall < manager < admin); each holds the
permissions of those before it, so a check is `user.role.allows(Role.OPERATOR)`. Passwords are kept
only as argon2id hashes (security/passwords.py); an API token is shown once when issued and kept
only as its SHA-256, and so is a kiosk's token (the secret part of the URL a wall screen opens). A
TOTP secret (security/totp.py) is kept as is, since checking a code needs it, with the last time
step used so that a code works once. Every change goes to the audit log with the acting person
(`actor`) and never a password, token or secret. Nothing here reads the clock: `at` (Unix seconds)
is passed in.

A file made before TOTP existed gains its columns when opened (`ALTER TABLE ... ADD COLUMN`).

Refusals raise ValueError with a message fit for the person who asked (a bad name, a short
password, an unknown role, a user that exists or does not).
"""

from __future__ import annotations

import builtins
import enum
import functools
import hashlib
import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from security import totp
from security.audit import AuditLog
from security.passwords import check_policy, hash_password, needs_rehash, verify_password
from store.sqlitetx import open_shared, transaction

__all__ = ["USERS_FILE", "Kiosk", "Role", "User", "UserDB", "check_name"]

USERS_FILE = "users.sqlite3"

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL,
    totp_secret TEXT,
    totp_step INTEGER
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES users (name),
    issued_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS tokens_by_name ON tokens (name);
CREATE TABLE IF NOT EXISTS kiosks (
    name TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    issued_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS kiosks_by_digest ON kiosks (digest);
"""

_ADDED_COLUMNS = (("totp_secret", "TEXT"), ("totp_step", "INTEGER"))
"""Columns of `users` that files made by older versions lack, added when such a file is opened."""

_USER_COLUMNS = "name, role, disabled, created_at, password_changed_at, totp_secret IS NOT NULL"


class Role(enum.Enum):
    """In order of power; each role may do what the roles before it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ONCALL = "oncall"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer up to 4 for admin."""
        return list(Role).index(self)

    def allows(self, other: Role) -> bool:
        """Whether this role holds the permissions of `other` (its own and every lesser role's)."""
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named `text`; ValueError naming the roles otherwise."""
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise ValueError(f'unknown role "{text}" (roles: {known})') from None


@dataclass(frozen=True, slots=True)
class User:
    """A user as stored, without secrets; times in Unix seconds. `totp`: a second factor is enrolled."""

    name: str
    role: Role
    disabled: bool
    created_at: float
    password_changed_at: float
    totp: bool = False


@dataclass(frozen=True, slots=True)
class Kiosk:
    """A wall screen's token as stored, without the token; times in Unix seconds (`revoked_at`
    None while the token is in force)."""

    name: str
    issued_at: float
    revoked_at: float | None


def _user(row: tuple[str, str, int, float, float, int]) -> User:
    name, role, disabled, created_at, changed_at, has_totp = row
    return User(name, Role(role), bool(disabled), created_at, changed_at, bool(has_totp))


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str, what: str = "user") -> None:
    """Raises ValueError unless `name` (of a `what`: user, kiosk) is 1-64 characters of A-Z a-z 0-9 . _ -."""
    if not _NAME.fullmatch(name):
        raise ValueError(f'bad {what} name "{name}": use 1-64 characters of A-Z a-z 0-9 . _ -')


class UserDB:
    """Thread-safe; `close()` it. Each change is recorded in `audit` as done by `actor`."""

    def __init__(self, path: str | os.PathLike[str], audit: AuditLog) -> None:
        self.path = Path(path)
        self._audit = audit
        self._db = open_shared(path, _SCHEMA)
        self._lock = threading.Lock()
        with transaction(self._db, self._lock) as db:  # one opener at a time adds missing columns
            present = {row[1] for row in db.execute("PRAGMA table_info(users)")}
            for column, kind in _ADDED_COLUMNS:
                if column not in present:
                    db.execute(f"ALTER TABLE users ADD COLUMN {column} {kind}")

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified against for unknown users so that they take as long as known ones."""
        return hash_password(secrets.token_urlsafe(16))

    # -- users -----------------------------------------------------------------------------------
    def add(self, name: str, role: Role | str, password: str, at: float, *, actor: str) -> User:
        """A new enabled user; ValueError for a bad name, an unknown role, a short password or a
        name already taken."""
        check_name(name)
        role = role if isinstance(role, Role) else Role.parse(role)
        check_policy(password)
        digest = hash_password(password)  # outside the lock: it takes a tenth of a second
        with transaction(self._db, self._lock) as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise ValueError(f'user "{name}" already exists')
            db.execute(
                "INSERT INTO users (name, role, password_hash, disabled, created_at, password_changed_at)"
                " VALUES (?, ?, ?, 0, ?, ?)",
                (name, role.value, digest, at, at),
            )
        self._audit.record(at, actor, "user.add", name, {"role": role.value})
        return User(name, role, False, at, at)

    def passwd(self, name: str, password: str, at: float, *, actor: str) -> User:
        """Set `name`'s password; ValueError for an unknown user or a short password."""
        check_policy(password)
        digest = hash_password(password)
        with transaction(self._db, self._lock) as db:
            self._require(db, name)
            db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE name = ?", (digest, at, name))
            user = self._require(db, name)
        self._audit.record(at, actor, "user.passwd", name, {})
        return user

    def disable(self, name: str, at: float, *, actor: str) -> User:
        """`name` may no longer log in nor use its tokens (they work again once enabled)."""
        return self._set_disabled(name, True, at, actor, "user.disable")

    def enable(self, name: str, at: float, *, actor: str) -> User:
        return self._set_disabled(name, False, at, actor, "user.enable")

    def _set_disabled(self, name: str, disabled: bool, at: float, actor: str, action: str) -> User:
        """Recorded only when it changes something (disabling a disabled user is not a change)."""
        with transaction(self._db, self._lock) as db:
            before = self._require(db, name)
            db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
            user = self._require(db, name)
        if before.disabled != disabled:
            self._audit.record(at, actor, action, name, {})
        return user

    def set_role(self, name: str, role: Role | str, at: float, *, actor: str) -> User:
        """Give `name` the role `role`; recorded only when it changes. ValueError for an unknown
        user or role."""
        role = role if isinstance(role, Role) else Role.parse(role)
        with transaction(self._db, self._lock) as db:
            before = self._require(db, name)
            db.execute("UPDATE users SET role = ? WHERE name = ?", (role.value, name))
        if before.role is not role:
            self._audit.record(at, actor, "user.role", name, {"from": before.role.value, "to": role.value})
        return replace(before, role=role)

    def list(self) -> builtins.list[User]:
        """Every user by name."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()
        return [_user(row) for row in rows]

    def get(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def check_password(self, name: str, password: str) -> User | None:
        """The user when `password` is theirs and they are enabled, else None (unknown, disabled or
        wrong alike, in about the same time). A hash made with older parameters is replaced."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            verify_password(self._dummy_hash, password)
            return None
        stored: str = row[-1]
        if not verify_password(stored, password):
            return None
        user = _user(row[:-1])
        if user.disabled:
            return None
        if needs_rehash(stored):  # not a password change: neither password_changed_at nor audited
            with transaction(self._db, self._lock) as db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ? AND password_hash = ?",
                    (hash_password(password), name, stored),
                )
        return user

    # -- second factor (TOTP) --------------------------------------------------------------------
    def enroll_totp(self, name: str, at: float, *, actor: str) -> str:
        """A new TOTP secret for `name`, replacing any before, to show once (as is and as an
        otpauth:// URI, security/totp.py). ValueError for an unknown user."""
        secret = totp.new_secret()
        with transaction(self._db, self._lock) as db:
            self._require(db, name)
            db.execute("UPDATE users SET totp_secret = ?, totp_step = NULL WHERE name = ?", (secret, name))
        self._audit.record(at, actor, "user.totp.enroll", name, {})
        return secret

    def remove_totp(self, name: str, at: float, *, actor: str) -> bool:
        """`name` logs in with a password alone again. Whether a secret was enrolled (recorded only
        then). ValueError for an unknown user."""
        with transaction(self._db, self._lock) as db:
            had = self._require(db, name).totp
            db.execute("UPDATE users SET totp_secret = NULL, totp_step = NULL WHERE name = ?", (name,))
        if had:
            self._audit.record(at, actor, "user.totp.remove", name, {})
        return had

    def has_totp(self, name: str) -> bool:
        """Whether `name` has a second factor enrolled (False for an unknown user)."""
        user = self.get(name)
        return user is not None and user.totp

    def check_totp(self, name: str, code: str, at: float) -> bool:
        """Whether `code` is `name`'s TOTP code at `at` and its time step is later than the last one
        used; the step is then recorded, in the same transaction, so a code works once. False for
        an unknown or disabled user or one without a second factor."""
        with transaction(self._db, self._lock) as db:
            row = db.execute("SELECT totp_secret, totp_step, disabled FROM users WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] is None or row[2]:
                return False
            step = totp.verify(row[0], code, at, row[1])
            if step is None:
                return False
            db.execute("UPDATE users SET totp_step = ? WHERE name = ?", (step, name))
        return True

    # -- API tokens ------------------------------------------------------------------------------
    def issue_token(self, name: str, at: float, *, actor: str) -> str:
        """A new API token for `name`, to show once: only its SHA-256 is kept. ValueError for an
        unknown user."""
        token = secrets.token_urlsafe(32)
        digest = _token_digest(token)
        with transaction(self._db, self._lock) as db:
            self._require(db, name)
            db.execute("INSERT INTO tokens (digest, name, issued_at) VALUES (?, ?, ?)", (digest, name, at))
        self._audit.record(at, actor, "user.token.issue", name, {})
        return token

    def revoke_tokens(self, name: str, at: float, *, actor: str) -> int:
        """Revoke every token of `name`; how many were in force. ValueError for an unknown user."""
        with transaction(self._db, self._lock) as db:
            self._require(db, name)
            revoked = db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name)
            ).rowcount
        self._audit.record(at, actor, "user.token.revoke", name, {"tokens": revoked})
        return revoked

    def user_for_token(self, token: str) -> User | None:
        """The enabled user holding `token` (not revoked), else None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}"
                " FROM tokens t JOIN users u ON u.name = t.name WHERE t.digest = ? AND t.revoked_at IS NULL",
                (_token_digest(token),),
            ).fetchone()
        if row is None:
            return None
        user = _user(row)
        return None if user.disabled else user

    # -- kiosks (wall screens) -------------------------------------------------------------------
    def add_kiosk(self, name: str, at: float, *, actor: str) -> str:
        """A new token for the kiosk `name`, to show once (the wall screen opens `/kiosk/<token>`):
        only its SHA-256 is kept. A revoked kiosk gets a new token. ValueError for a bad name or a
        kiosk whose token is in force."""
        check_name(name, "kiosk")
        token = secrets.token_urlsafe(32)
        with transaction(self._db, self._lock) as db:
            row = db.execute("SELECT revoked_at FROM kiosks WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] is None:
                raise ValueError(f'kiosk "{name}" already has a token in force (revoke it first)')
            db.execute(
                "INSERT INTO kiosks (name, digest, issued_at, revoked_at) VALUES (?, ?, ?, NULL) ON CONFLICT (name)"
                " DO UPDATE SET digest = excluded.digest, issued_at = excluded.issued_at, revoked_at = NULL",
                (name, _token_digest(token), at),
            )
        self._audit.record(at, actor, "kiosk.add", name, {})
        return token

    def revoke_kiosk(self, name: str, at: float, *, actor: str) -> None:
        """The kiosk's token stops working (its web sessions are SessionDB's to end); recorded only
        when it was in force. ValueError for an unknown kiosk."""
        with transaction(self._db, self._lock) as db:
            row = db.execute("SELECT revoked_at FROM kiosks WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ValueError(f'unknown kiosk "{name}"')
            db.execute("UPDATE kiosks SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name))
        if row[0] is None:
            self._audit.record(at, actor, "kiosk.revoke", name, {})

    def kiosk_for_token(self, token: str) -> str | None:
        """The name of the kiosk holding `token` (not revoked), else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT name FROM kiosks WHERE digest = ? AND revoked_at IS NULL", (_token_digest(token),)
            ).fetchone()
        return row[0] if row else None

    def kiosks(self) -> builtins.list[Kiosk]:
        """Every kiosk by name, revoked ones included."""
        with self._lock:
            rows = self._db.execute("SELECT name, issued_at, revoked_at FROM kiosks ORDER BY name").fetchall()
        return [Kiosk(name, issued_at, revoked_at) for name, issued_at, revoked_at in rows]

    def _require(self, db: sqlite3.Connection, name: str) -> User:
        row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ValueError(f'unknown user "{name}"')
        return _user(row)

    def close(self) -> None:
        with self._lock:
            self._db.close()
