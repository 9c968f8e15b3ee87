"""The console's users: `DATA_DIR/users.sqlite3`, their roles, password hashes and API tokens.

Roles are ordered by power (viewer < operator < oncall < manager < admin); each holds the
permissions of those before it, so a check is `user.role.allows(Role.OPERATOR)`. Passwords are kept
only as argon2id hashes (security/passwords.py); an API token is shown once when issued and kept
only as its SHA-256. Every change goes to the audit log with the acting person (`actor`) and never a
password or token. Nothing here reads the clock: `at` (Unix seconds) is passed in.

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
from dataclasses import dataclass
from pathlib import Path

from security.audit import AuditLog
from security.passwords import check_policy, hash_password, needs_rehash, verify_password
from store.sqlitetx import transaction

__all__ = ["USERS_FILE", "Role", "User", "UserDB", "check_name"]

USERS_FILE = "users.sqlite3"

_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES users (name),
    issued_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS tokens_by_name ON tokens (name);
"""

_USER_COLUMNS = "name, role, disabled, created_at, password_changed_at"


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
    """A user as stored, without secrets; times in Unix seconds."""

    name: str
    role: Role
    disabled: bool
    created_at: float
    password_changed_at: float


def _user(row: tuple[str, str, int, float, float]) -> User:
    name, role, disabled, created_at, changed_at = row
    return User(name, Role(role), bool(disabled), created_at, changed_at)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> None:
    """Raises ValueError unless `name` is 1-64 characters of A-Z a-z 0-9 . _ -."""
    if not _NAME.fullmatch(name):
        raise ValueError(f'bad user name "{name}": use 1-64 characters of A-Z a-z 0-9 . _ -')


class UserDB:
    """Thread-safe; `close()` it. Each change is recorded in `audit` as done by `actor`."""

    def __init__(self, path: str | os.PathLike[str], audit: AuditLog) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._audit = audit
        self._db = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

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

    def _require(self, db: sqlite3.Connection, name: str) -> User:
        row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ValueError(f'unknown user "{name}"')
        return _user(row)

    def close(self) -> None:
        with self._lock:
            self._db.close()
