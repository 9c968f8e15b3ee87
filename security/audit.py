"""The audit trail: `DATA_DIR/audit.sqlite3`, append-only, each entry chained to the one before by hash.

An entry says who (`actor`) did what (`action`, e.g. `availability.reclassify`) to what (`subject`)
when (`at`, Unix seconds), with the details as JSON. Its `hash` is SHA-256 over the previous entry's
hash and this entry's fields, so editing or deleting any entry breaks every hash after it:
`verify()` names the first entry that does not match (`check()` says the same as a `ChainBreak`).
Nothing here reads the clock.

A copy (the CSV or JSON export of dashboards/api_audit.py) can be checked without this code: an
entry's `hash` is the SHA-256 (lower-case hex) of the UTF-8 of
`json.dumps([prev, id, repr(at), actor, action, subject, detail], ensure_ascii=False)`, where `detail`
is the JSON text `detail_text` writes, and `prev` is the previous entry's hash (`GENESIS` for entry 1).

Entries carry in `detail`, where they apply, "ip" (the client's address), "session" (a 12-hex key
of the web session) and "outcome" ("ok", "denied", "failed"). `search` finds entries by time, actor,
action prefix and text, newest first, through indexes on `at`, `actor` and `action`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.sqlitetx import open_shared, transaction

__all__ = ["AUDIT_FILE", "GENESIS", "AuditEntry", "AuditLog", "AuditPage", "AuditQuery", "ChainBreak", "detail_text"]

AUDIT_FILE = "audit.sqlite3"
"""The audit log's file in DATA_DIR."""
GENESIS = "0" * 64
"""The `prev` of the first entry."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor);
CREATE INDEX IF NOT EXISTS audit_action ON audit (action);
"""
_COLUMNS = "id, at, actor, action, subject, detail, prev, hash"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
"""Text search folds ASCII letters only, as SQLite's lower() does (no ICU)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    actor: str
    action: str
    subject: str
    detail: Mapping[str, Any]
    prev: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to find (every condition given must hold):

    - `since` <= `at` < `until` (Unix seconds; None: open);
    - `actor`: exactly this actor ("": any);
    - `action`: actions starting with it ("view" finds "view.device"; "": any), case-sensitive;
    - `text`: in the subject or in the detail's JSON text (`detail_text`), ASCII letters in either case.

    At most `limit` (>= 0) of them, newest first."""

    since: float | None = None
    until: float | None = None
    actor: str = ""
    action: str = ""
    text: str = ""
    limit: int = 500

    def matches(self, entry: AuditEntry) -> bool:
        """Whether `entry` meets the conditions (what `AuditLog.search`'s SQL asks, for fakes)."""
        needle = self.text.translate(_ASCII_LOWER)
        return (
            (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at < self.until)
            and (not self.actor or entry.actor == self.actor)
            and entry.action.startswith(self.action)
            and (
                needle in entry.subject.translate(_ASCII_LOWER)
                or needle in detail_text(entry.detail).translate(_ASCII_LOWER)
            )
        )


@dataclass(frozen=True, slots=True)
class AuditPage:
    """What a search found: `entries` (at most the query's limit, newest first) of `total` matching."""

    entries: tuple[AuditEntry, ...]
    total: int


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first entry that breaks the hash chain: `entry` is missing (`next` is the id found after
    the gap) or, with `next` None, was changed (its fields or `prev` do not give its hash)."""

    entry: int
    next: int | None = None

    def __str__(self) -> str:
        if self.next is not None:
            return f"entry {self.entry} is missing (the next is {self.next})"
        return f"entry {self.entry} was changed"


def detail_text(detail: Mapping[str, Any]) -> str:
    """`detail` as the log stores and hashes it: JSON, keys sorted, not ASCII-escaped."""
    return json.dumps(dict(detail), ensure_ascii=False, sort_keys=True)


def _glob_prefix(prefix: str) -> str:
    """A GLOB pattern for strings starting with `prefix` (its wildcards bracketed: literal)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in prefix) + "*"


def _where(query: AuditQuery) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if query.since is not None:
        clauses.append("at >= ?")
        args.append(query.since)
    if query.until is not None:
        clauses.append("at < ?")
        args.append(query.until)
    if query.actor:
        clauses.append("actor = ?")
        args.append(query.actor)
    if query.action:
        clauses.append("action GLOB ?")  # a literal prefix: SQLite ranges over the action index
        args.append(_glob_prefix(query.action))
    if query.text:
        needle = query.text.translate(_ASCII_LOWER)
        clauses.append("(instr(lower(subject), ?) > 0 OR instr(lower(detail), ?) > 0)")
        args += [needle, needle]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    id_, at, actor, action, subject, detail, prev, digest = row
    return AuditEntry(id_, at, actor, action, subject, json.loads(detail), prev, digest)


def _digest(prev: str, id_: int, at: float, actor: str, action: str, subject: str, detail: str) -> str:
    text = json.dumps([prev, id_, repr(at), actor, action, subject, detail], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class AuditLog:
    """Thread-safe; `close()` it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = open_shared(path, _SCHEMA)
        self._lock = threading.Lock()

    def record(self, at: float, actor: str, action: str, subject: str, detail: Mapping[str, Any]) -> AuditEntry:
        body = detail_text(detail)
        with transaction(self._db, self._lock) as conn:
            row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            id_, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            digest = _digest(prev, id_, at, actor, action, subject, body)
            conn.execute(
                "INSERT INTO audit (id, at, actor, action, subject, detail, prev, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (id_, at, actor, action, subject, body, prev, digest),
            )
        return AuditEntry(id_, at, actor, action, subject, json.loads(body), prev, digest)

    def entries(self, action: str | None = None) -> list[AuditEntry]:
        """Every entry (of `action`, if given), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM audit"
        with self._lock:
            rows = self._db.execute(
                sql + (" WHERE action = ? ORDER BY id" if action else " ORDER BY id"), (action,) if action else ()
            ).fetchall()
        return [_entry(row) for row in rows]

    def search(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        actor: str = "",
        action: str = "",
        text: str = "",
        limit: int = 500,
    ) -> tuple[list[AuditEntry], int]:
        """The entries `AuditQuery` of these arguments describes, newest (highest id) first, at most
        `limit` of them, and how many match in all. Raises ValueError for a negative `limit`."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        where, args = _where(AuditQuery(since, until, actor, action, text, limit))
        with self._lock:
            total: int = self._db.execute(f"SELECT count(*) FROM audit{where}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM audit{where} ORDER BY id DESC LIMIT ?", [*args, limit]
            ).fetchall()
        return [_entry(row) for row in rows], total

    def page(self, query: AuditQuery) -> AuditPage:
        """`search` with the fields of `query`."""
        entries, total = self.search(
            since=query.since,
            until=query.until,
            actor=query.actor,
            action=query.action,
            text=query.text,
            limit=query.limit,
        )
        return AuditPage(tuple(entries), total)

    def check(self) -> ChainBreak | None:
        """None when the chain is whole, else the first entry that breaks it."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id").fetchall()
        prev, expected_id = GENESIS, 1
        for id_, at, actor, action, subject, detail, stored_prev, digest in rows:
            if id_ != expected_id:
                return ChainBreak(expected_id, id_)
            if stored_prev != prev or _digest(prev, id_, at, actor, action, subject, detail) != digest:
                return ChainBreak(id_)
            prev, expected_id = digest, id_ + 1
        return None

    def verify(self) -> str | None:
        """None when the chain is whole, else what is wrong with the first entry that breaks it."""
        found = self.check()
        return None if found is None else str(found)

    def close(self) -> None:
        with self._lock:
            self._db.close()
