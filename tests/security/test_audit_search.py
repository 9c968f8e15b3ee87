"""security/audit.py: searching the log (time, actor, action prefix, text, limit and total) over a
real SQLite file in tmp_path, the indexes an older file gains, and the first entry that breaks the
chain."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from security.audit import AuditLog, AuditQuery, ChainBreak

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ENTRIES: list[tuple[float, str, str, str, dict[str, Any]]] = [
    (T0, "yamada", "login", "yamada", {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f", "outcome": "ok"}),
    (T0 + 60, "yamada", "view.device", "rtr-east-01", {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f"}),
    (T0 + 120, "suzuki", "login.failed", "suzuki", {"ip": "10.0.0.9", "outcome": "failed"}),
    (T0 + 180, "suzuki", "login", "suzuki", {"ip": "10.0.0.9", "session": "ffeeddccbbaa", "outcome": "ok"}),
    (T0 + 240, "suzuki", "alert.ack", "fp-1234", {"comment": "NTT回線工事 対応中", "session": "ffeeddccbbaa"}),
    (T0 + 300, "shell:root", "user.add", "tanaka", {"role": "viewer"}),
    (T0 + 360, "yamada", "availability.reclassify", "records", {"category": "planned", "reason": "Planned Work"}),
    (T0 + 420, "kiosk:lobby", "authz.denied", "/alerts", {"ip": "10.0.1.1", "outcome": "denied"}),
]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    audit = AuditLog(tmp_path / "audit.sqlite3")
    for entry in ENTRIES:
        audit.record(*entry)
    yield audit
    audit.close()


def ids(log: AuditLog, **query: Any) -> tuple[list[int], int]:
    entries, total = log.search(**{"since": None, "until": None, **query})
    return [e.id for e in entries], total


def test_without_filters_every_entry_comes_newest_first_with_the_total(log: AuditLog) -> None:
    entries, total = log.search(since=None, until=None)

    assert [e.id for e in entries] == [8, 7, 6, 5, 4, 3, 2, 1]
    assert total == 8
    assert (entries[-1].actor, entries[-1].action, entries[-1].subject) == ("yamada", "login", "yamada")
    assert entries[-1].detail == {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f", "outcome": "ok"}


def test_the_limit_keeps_the_newest_and_the_total_counts_every_match(log: AuditLog) -> None:
    assert ids(log, limit=3) == ([8, 7, 6], 8)
    assert ids(log, limit=0) == ([], 8)
    assert ids(log, actor="yamada", limit=2) == ([7, 2], 3)


def test_since_is_inclusive_and_until_exclusive(log: AuditLog) -> None:
    assert ids(log, since=T0 + 120, until=T0 + 300) == ([5, 4, 3], 3)
    assert ids(log, since=T0 + 400) == ([8], 1)
    assert ids(log, until=T0 + 60) == ([1], 1)
    assert ids(log, since=T0 + 500) == ([], 0)


def test_the_actor_must_match_exactly(log: AuditLog) -> None:
    assert ids(log, actor="suzuki") == ([5, 4, 3], 3)
    assert ids(log, actor="kiosk:lobby") == ([8], 1)
    assert ids(log, actor="suzu") == ([], 0)
    assert ids(log, actor="Suzuki") == ([], 0)


def test_the_action_is_a_prefix(log: AuditLog) -> None:
    assert ids(log, action="login") == ([4, 3, 1], 3)
    assert ids(log, action="login.failed") == ([3], 1)
    assert ids(log, action="view") == ([2], 1)
    assert ids(log, action="a") == ([8, 7, 5], 3)
    assert ids(log, action="logout") == ([], 0)


def test_wildcards_in_the_action_are_plain_characters(log: AuditLog) -> None:
    assert ids(log, action="*") == ([], 0)
    assert ids(log, action="log?n") == ([], 0)
    assert ids(log, action="[l]ogin") == ([], 0)


def test_the_text_is_found_in_the_subject_or_the_details_in_either_ascii_case(log: AuditLog) -> None:
    assert ids(log, text="RTR-EAST") == ([2], 1)
    assert ids(log, text="ntt回線工事") == ([5], 1)
    assert ids(log, text="planned work") == ([7], 1)
    assert ids(log, text="10.0.0.9") == ([4, 3], 2)
    assert ids(log, text="ffeeddccbbaa") == ([5, 4], 2)
    assert ids(log, text="対応中") == ([5], 1)
    assert ids(log, text="nothing like it") == ([], 0)


def test_every_condition_given_must_hold(log: AuditLog) -> None:
    assert ids(log, actor="yamada", action="view", since=T0) == ([2], 1)
    assert ids(log, actor="suzuki", action="login", text="failed") == ([3], 1)
    assert ids(log, actor="suzuki", action="login", until=T0 + 120) == ([], 0)


@pytest.mark.parametrize(
    "query",
    [
        AuditQuery(),
        AuditQuery(since=T0 + 120, until=T0 + 300),
        AuditQuery(actor="suzuki", action="login"),
        AuditQuery(action="a", text="PLANNED"),
        AuditQuery(text="0a1b2c"),
        AuditQuery(action="*"),
        AuditQuery(limit=2),
    ],
)
def test_matches_finds_what_the_search_finds(log: AuditLog, query: AuditQuery) -> None:
    every = log.entries()
    matching = [e.id for e in reversed(every) if query.matches(e)]
    page = log.page(query)

    assert [e.id for e in page.entries] == matching[: query.limit]
    assert page.total == len(matching)


def test_a_negative_limit_is_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError, match=r"^limit must be 0 or more, not -1$"):
        log.search(since=None, until=None, limit=-1)


def test_a_file_written_before_the_indexes_opens_gains_them_and_keeps_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    old = AuditLog(path)
    for entry in ENTRIES[:3]:
        old.record(*entry)
    old.close()
    with sqlite3.connect(path) as db:
        for name in ("audit_at", "audit_actor", "audit_action"):
            db.execute(f"DROP INDEX {name}")
    db.close()

    log = AuditLog(path)
    try:
        with sqlite3.connect(path) as db:
            indexes = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()
        db.close()
        found = ids(log, action="login")
        intact = log.check()
    finally:
        log.close()

    assert indexes == [("audit_action",), ("audit_actor",), ("audit_at",)]
    assert found == ([3, 1], 2)
    assert intact is None


def test_check_names_a_changed_entry(log: AuditLog) -> None:
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE audit SET subject = 'someone-else' WHERE id = 3")
    db.close()

    assert log.check() == ChainBreak(3)
    assert log.verify() == "entry 3 was changed"


def test_check_names_a_missing_entry_and_the_next_one(log: AuditLog) -> None:
    with sqlite3.connect(log.path) as db:
        db.execute("DELETE FROM audit WHERE id = 2")
    db.close()

    assert log.check() == ChainBreak(2, 3)
    assert log.verify() == "entry 2 is missing (the next is 3)"
