"""security/sessions.py: server-side sessions through their timeouts, ending them, and the login throttle,
stepped through time by hand."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from security.sessions import KEEP_ENDED, MAX_LOCK, TOUCH_EVERY, Session, SessionDB

T0 = 1_780_000_000.0
IDLE = 900.0
ABSOLUTE = 8 * 3600.0
ATTEMPTS = 10
LOCK_FOR = 300.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SessionDB]:
    sessions = SessionDB(tmp_path / "sessions.sqlite3")
    yield sessions
    sessions.close()


def _login(db: SessionDB, name: str = "alice", at: float = T0, **timeouts: float | None) -> tuple[str, Session]:
    limits: dict[str, float | None] = {"idle": IDLE, "absolute": ABSOLUTE, **timeouts}
    return db.create(name, "session", at, ip="192.0.2.7", idle=limits["idle"], absolute=limits["absolute"])


def _fail(db: SessionDB, name: str, at: float, times: int) -> list[float | None]:
    return [db.failed(name, at, attempts=ATTEMPTS, lock_for=LOCK_FOR) for _ in range(times)]


# -- sessions ------------------------------------------------------------------------------------
def test_created_session_is_found_by_its_id(db: SessionDB) -> None:
    session_id, session = _login(db)

    assert session == Session(
        key=hashlib.sha256(session_id.encode()).hexdigest()[:12],
        name="alice",
        kind="session",
        csrf=session.csrf,
        ip="192.0.2.7",
        created_at=T0,
        last_seen=T0,
        idle=IDLE,
        absolute=ABSOLUTE,
    )
    assert len(session_id) == 43
    assert len(session.csrf) == 43
    assert session.csrf != session_id
    assert db.get(session_id, T0 + 1) == session


def test_each_session_has_its_own_id_and_csrf_token(db: SessionDB) -> None:
    first_id, first = _login(db)
    second_id, second = _login(db)

    assert first_id != second_id
    assert first.csrf != second.csrf
    assert first.key != second.key
    assert db.get(first_id, T0) == first
    assert db.get(second_id, T0) == second


def test_unknown_id_key_or_csrf_token_finds_no_session(db: SessionDB, tmp_path: Path) -> None:
    session_id, session = _login(db)
    other = SessionDB(tmp_path / "other.sqlite3")
    try:
        other_id, _ = other.create("alice", "session", T0, ip="192.0.2.7", idle=IDLE, absolute=ABSOLUTE)
    finally:
        other.close()

    assert db.get(other_id, T0) is None
    assert db.get(session.key, T0) is None
    assert db.get(session.csrf, T0) is None
    assert db.get(hashlib.sha256(session_id.encode()).hexdigest(), T0) is None
    assert db.get(session_id + "x", T0) is None


def _last_seen(db: SessionDB, session_id: str, at: float) -> float:
    session = db.get(session_id, at)
    assert session is not None
    return session.last_seen


def test_last_seen_moves_only_by_ten_seconds_or_more(db: SessionDB) -> None:
    session_id, _ = _login(db)

    assert _last_seen(db, session_id, T0 + TOUCH_EVERY - 1) == T0
    assert _last_seen(db, session_id, T0 + TOUCH_EVERY) == T0 + TOUCH_EVERY
    assert _last_seen(db, session_id, T0 + TOUCH_EVERY + 9) == T0 + TOUCH_EVERY
    assert db.active(at=T0 + TOUCH_EVERY + 9)[0].last_seen == T0 + TOUCH_EVERY
    assert _last_seen(db, session_id, T0 + 2 * TOUCH_EVERY) == T0 + 2 * TOUCH_EVERY


def test_session_holds_at_exactly_its_idle_timeout_and_ends_after_it(db: SessionDB) -> None:
    kept_id, kept = _login(db)
    lost_id, _ = _login(db, "bob")

    assert db.get(kept_id, T0 + IDLE) == dataclasses.replace(kept, last_seen=T0 + IDLE)
    assert db.get(lost_id, T0 + IDLE + 0.001) is None
    assert db.get(lost_id, T0 + 1) is None  # ended, not only expired: an earlier clock does not revive it
    assert [s.name for s in db.active(at=T0 + 1)] == ["alice"]


def test_each_request_pushes_the_idle_timeout_back(db: SessionDB) -> None:
    session_id, _ = _login(db)

    for minute in range(1, 60):
        assert db.get(session_id, T0 + minute * 60) is not None
    assert db.get(session_id, T0 + 59 * 60 + IDLE) is not None
    assert db.get(session_id, T0 + 59 * 60 + 2 * IDLE + 0.001) is None


def test_a_short_idle_timeout_is_touched_every_tenth_of_it(db: SessionDB) -> None:
    session_id, _ = _login(db, idle=30.0)

    assert _last_seen(db, session_id, T0 + 2.9) == T0
    assert _last_seen(db, session_id, T0 + 3) == T0 + 3
    assert _last_seen(db, session_id, T0 + 33) == T0 + 33
    assert db.get(session_id, T0 + 63.001) is None


def test_a_session_without_idle_timeout_is_touched_every_ten_seconds(db: SessionDB) -> None:
    session_id, _ = _login(db, idle=None)

    assert _last_seen(db, session_id, T0 + TOUCH_EVERY - 0.001) == T0
    assert _last_seen(db, session_id, T0 + TOUCH_EVERY) == T0 + TOUCH_EVERY


def test_idle_timeout_is_exact_to_ten_seconds(db: SessionDB) -> None:
    session_id, _ = _login(db)
    db.get(session_id, T0 + 100)  # stored
    db.get(session_id, T0 + 109)  # not stored: within TOUCH_EVERY of the last write

    assert db.get(session_id, T0 + 100 + IDLE + 0.5) is None  # IDLE - 8.5 s after the last request (T0 + 109)


def test_session_holds_at_exactly_its_absolute_lifetime_and_ends_after_it(db: SessionDB) -> None:
    session_id, _ = _login(db)
    for at in range(int(T0), int(T0 + ABSOLUTE) + 1, 600):
        assert db.get(session_id, at) is not None

    assert db.get(session_id, T0 + ABSOLUTE) is not None
    assert db.get(session_id, T0 + ABSOLUTE + 0.001) is None
    assert db.get(session_id, T0 + ABSOLUTE) is None


def test_session_without_timeouts_lasts(db: SessionDB) -> None:
    session_id, _ = db.create("lobby", "kiosk", T0, ip="192.0.2.9", idle=None, absolute=None)

    assert db.get(session_id, T0 + 365 * 86_400.0) is not None


def test_ended_session_is_gone_and_end_returns_it_once(db: SessionDB) -> None:
    session_id, session = _login(db)

    assert db.end(session_id, T0 + 5) == session
    assert db.get(session_id, T0 + 6) is None
    assert db.end(session_id, T0 + 7) is None
    assert db.end("no such id", T0 + 7) is None


def test_end_for_ends_every_live_session_of_that_user_only(db: SessionDB) -> None:
    first_id, _ = _login(db)
    second_id, _ = _login(db, at=T0 + 1)
    expired_id, _ = _login(db, at=T0 - 2 * IDLE)
    bob_id, bob = _login(db, "bob")
    kiosk_id, kiosk = db.create("alice", "kiosk", T0, ip="192.0.2.9", idle=None, absolute=None)

    assert db.end_for("alice", "session", T0 + 2) == 2

    assert [db.get(i, T0 + 3) for i in (first_id, second_id, expired_id)] == [None, None, None]
    assert db.get(bob_id, T0 + 3) == bob
    assert db.get(kiosk_id, T0 + 3) == kiosk
    assert db.end_for("alice", "session", T0 + 4) == 0
    assert db.end_for("alice", "kiosk", T0 + 4) == 1
    assert db.get(kiosk_id, T0 + 5) is None


def test_active_lists_live_sessions_oldest_first(db: SessionDB) -> None:
    _, alice = _login(db, at=T0 + 1)
    _, bob = _login(db, "bob", at=T0)
    ended_id, _ = _login(db, "carol", at=T0 + 2)
    db.end(ended_id, T0 + 3)
    _login(db, "dave", at=T0 - IDLE - 10)

    assert db.active(at=T0 + 3) == [bob, alice]
    assert db.active("alice", at=T0 + 3) == [alice]
    assert db.active("carol", at=T0 + 3) == []


def test_only_the_hash_of_the_session_id_is_in_the_file(db: SessionDB, tmp_path: Path) -> None:
    session_id, session = _login(db)
    db.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("sessions.sqlite3*"))
    assert session_id.encode() not in stored
    conn = sqlite3.connect(tmp_path / "sessions.sqlite3")
    try:
        assert conn.execute("SELECT digest, csrf FROM sessions").fetchall() == [
            (hashlib.sha256(session_id.encode()).hexdigest(), session.csrf)
        ]
    finally:
        conn.close()


def test_sessions_ended_or_expired_over_a_day_ago_are_deleted_at_the_next_login(db: SessionDB, tmp_path: Path) -> None:
    ended_id, _ = _login(db)
    db.end(ended_id, T0)
    _login(db, "idle")  # expires at T0 + IDLE
    _login(db, "old", at=T0 - ABSOLUTE + IDLE, idle=None)  # expires at T0 + IDLE too
    _login(db, "kiosk", idle=None, absolute=None)

    _login(db, "recent", at=T0 + KEEP_ENDED)  # everything gone stale no more than a day ago is kept
    assert _names(tmp_path) == ["alice", "idle", "kiosk", "old", "recent"]
    _login(db, "later", at=T0 + IDLE + KEEP_ENDED + 1)
    assert _names(tmp_path) == ["kiosk", "later", "recent"]


def _names(tmp_path: Path) -> list[str]:
    conn = sqlite3.connect(tmp_path / "sessions.sqlite3")
    try:
        return [name for (name,) in conn.execute("SELECT name FROM sessions ORDER BY name")]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("kind", "idle", "absolute", "message"),
    [
        ("user", IDLE, ABSOLUTE, 'unknown session kind "user" (kinds: session, kiosk)'),
        ("session", 0.0, ABSOLUTE, "idle timeout must be more than 0 seconds, not 0.0"),
        ("session", IDLE, -1.0, "absolute timeout must be more than 0 seconds, not -1.0"),
    ],
)
def test_create_refuses_with_the_reason(
    db: SessionDB, kind: str, idle: float | None, absolute: float | None, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        db.create("alice", kind, T0, ip="192.0.2.7", idle=idle, absolute=absolute)

    assert str(caught.value) == message
    assert db.active(at=T0) == []


def test_a_second_connection_sees_sessions_ended_by_another(db: SessionDB, tmp_path: Path) -> None:
    session_id, _ = _login(db)
    shell = SessionDB(tmp_path / "sessions.sqlite3")  # as `run_console.py users disable` does
    try:
        assert shell.end_for("alice", "session", T0 + 1) == 1
    finally:
        shell.close()

    assert db.get(session_id, T0 + TOUCH_EVERY + 2) is None


# -- login throttle ------------------------------------------------------------------------------
def test_nine_failures_do_not_lock_and_the_tenth_locks_for_lock_for(db: SessionDB) -> None:
    assert _fail(db, "alice", T0, ATTEMPTS - 1) == [None] * 9
    assert db.locked_until("alice", T0) is None

    assert _fail(db, "alice", T0 + 1, 1) == [T0 + 1 + LOCK_FOR]
    assert db.locked_until("alice", T0 + 1) == T0 + 1 + LOCK_FOR
    assert db.locked_until("alice", T0 + LOCK_FOR) == T0 + 1 + LOCK_FOR  # lock_for - 1 after
    assert db.locked_until("alice", T0 + 1 + LOCK_FOR) is None


def test_each_further_lockout_doubles_the_lock_up_to_a_day(db: SessionDB) -> None:
    at, locks = T0, []
    for _ in range(12):
        assert _fail(db, "alice", at, ATTEMPTS - 1) == [None] * 9  # the count starts again after a lockout
        (until,) = _fail(db, "alice", at, 1)
        assert until is not None
        locks.append(until - at)
        at = until

    assert locks == [300.0, 600.0, 1200.0, 2400.0, 4800.0, 9600.0, 19200.0, 38400.0, 76800.0] + [MAX_LOCK] * 3
    assert MAX_LOCK == 86_400.0


def test_failures_while_locked_are_not_counted(db: SessionDB) -> None:
    _fail(db, "alice", T0, ATTEMPTS)

    assert _fail(db, "alice", T0 + 1, 50) == [None] * 50
    assert db.locked_until("alice", T0 + 1) == T0 + LOCK_FOR
    assert _fail(db, "alice", T0 + LOCK_FOR, ATTEMPTS) == [None] * 9 + [T0 + 3 * LOCK_FOR]


def test_success_forgets_failures_and_lockouts(db: SessionDB) -> None:
    _fail(db, "alice", T0, ATTEMPTS)
    _fail(db, "alice", T0 + LOCK_FOR, ATTEMPTS - 1)

    db.succeeded("alice")

    assert _fail(db, "alice", T0 + LOCK_FOR, ATTEMPTS - 1) == [None] * 9
    assert _fail(db, "alice", T0 + LOCK_FOR, 1) == [T0 + 2 * LOCK_FOR]  # lock_for again, not doubled


def test_unlock_lifts_a_lock_at_once_and_forgets_lockouts(db: SessionDB) -> None:
    _fail(db, "alice", T0, ATTEMPTS)

    assert db.unlock("alice") is True
    assert db.locked_until("alice", T0 + 1) is None
    assert _fail(db, "alice", T0 + 1, ATTEMPTS) == [None] * 9 + [T0 + 1 + LOCK_FOR]
    assert db.unlock("nobody") is False


def test_unknown_names_are_counted_like_known_ones_and_names_apart(db: SessionDB) -> None:
    assert _fail(db, "no-such-user", T0, ATTEMPTS) == [None] * 9 + [T0 + LOCK_FOR]
    assert _fail(db, "alice", T0, ATTEMPTS - 1) == [None] * 9

    assert db.locked_until("no-such-user", T0) == T0 + LOCK_FOR
    assert db.locked_until("alice", T0) is None
    assert db.locked_until("Alice", T0) is None


def test_a_quiet_day_after_the_lock_forgets_the_lockouts(db: SessionDB) -> None:
    _fail(db, "alice", T0, ATTEMPTS)
    _fail(db, "alice", T0 + LOCK_FOR, ATTEMPTS)  # locked until T0 + 3 * LOCK_FOR

    a_day_after_the_lock = T0 + 3 * LOCK_FOR + KEEP_ENDED  # not yet forgotten: doubled again
    assert _fail(db, "alice", a_day_after_the_lock, ATTEMPTS)[-1] == a_day_after_the_lock + 4 * LOCK_FOR
    quiet = a_day_after_the_lock + 4 * LOCK_FOR + KEEP_ENDED + 1
    assert _fail(db, "alice", quiet, ATTEMPTS)[-1] == quiet + LOCK_FOR


def test_a_lock_is_seen_by_another_connection(db: SessionDB, tmp_path: Path) -> None:
    _fail(db, "alice", T0, ATTEMPTS)
    shell = SessionDB(tmp_path / "sessions.sqlite3")
    try:
        assert shell.locked_until("alice", T0) == T0 + LOCK_FOR
        shell.unlock("alice")
    finally:
        shell.close()

    assert db.locked_until("alice", T0) is None


@pytest.mark.parametrize(("attempts", "lock_for"), [(0, LOCK_FOR), (ATTEMPTS, 0.0)])
def test_failed_refuses_a_policy_that_locks_nothing(db: SessionDB, attempts: int, lock_for: float) -> None:
    with pytest.raises(ValueError) as caught:
        db.failed("alice", T0, attempts=attempts, lock_for=lock_for)

    assert str(caught.value) == (f"attempts must be at least 1 and lock_for more than 0, not {attempts} and {lock_for}")
