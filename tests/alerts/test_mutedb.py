"""MuteDB: one WAL-mode SQLite file with the mute tables, one transaction per write (rolled back on
error), and a connection shared with the alert state when asked."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from alerts.acks import Acks
from alerts.mutedb import MuteDB
from alerts.silences import Silences
from model import Labels

T0 = 1_800_000_000.0


def test_mutedb_creates_its_tables_in_a_wal_mode_file(tmp_path: Path) -> None:
    db = MuteDB(tmp_path / "sub" / "mute.sqlite3")
    try:
        tables = [row[0] for row in db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        assert [t for t in tables if t != "sqlite_sequence"] == [
            "ack_history",
            "acks",
            "flap_state",
            "flap_transitions",
            "maintenance_windows",
            "silences",
        ]
        assert db.query("PRAGMA journal_mode") == [("wal",)]
        assert db.path == tmp_path / "sub" / "mute.sqlite3"
    finally:
        db.close()


def test_a_failing_transaction_is_rolled_back_whole(tmp_path: Path) -> None:
    db = MuteDB(tmp_path / "mute.sqlite3")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO acks VALUES ('a', 'alice', '', 1, NULL)")
        raise RuntimeError("boom")

    assert db.query("SELECT count(*) FROM acks") == [(0,)]
    with db.transaction() as conn:  # the connection is usable again
        conn.execute("INSERT INTO acks VALUES ('a', 'alice', '', 1, NULL)")
    assert db.query("SELECT fingerprint FROM acks") == [("a",)]
    db.close()


def test_reopening_the_file_keeps_existing_rows(tmp_path: Path) -> None:
    path = tmp_path / "mute.sqlite3"
    db = MuteDB(path)
    Acks(db).acknowledge("6c0f5e3b9a1d2e47", "alice", "on it", T0)
    db.close()

    db = MuteDB(path)  # CREATE TABLE IF NOT EXISTS leaves the data alone
    assert db.query("SELECT fingerprint, by_user FROM acks") == [("6c0f5e3b9a1d2e47", "alice")]
    db.close()


def test_mutedb_on_a_shared_connection_writes_there_and_leaves_it_open(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "alerts.sqlite3", check_same_thread=False, isolation_level=None)
    conn.execute("CREATE TABLE alert_state (fingerprint TEXT)")
    db = MuteDB(conn, lock=threading.Lock())
    silence = Silences(db).create('site="dc-east"', starts_at=T0, ends_at=T0 + 60, created_by="a", comment="c", t=T0)
    db.close()

    assert db.path is None
    assert conn.execute("SELECT id FROM silences").fetchall() == [(silence.id,)]
    assert conn.execute("SELECT count(*) FROM alert_state").fetchall() == [(0,)]
    reopened = Silences(MuteDB(conn, lock=threading.Lock()))
    assert reopened.silencing(Labels({"site": "dc-east"}), T0) == silence
    conn.close()
