"""Acknowledgements: with and without expiry, the expiry detection window, un-acknowledging, the end
of an ack when its alert resolves, the audit history, and a restart that restores them."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.acks import AckAction, AckEvent, Acknowledgement, Acks
from alerts.mutedb import MuteDB, NotFound
from model import FakeClock

T0 = 1_800_000_000.0
FP = "6c0f5e3b9a1d2e47"
OTHER = "0123456789abcdef"


def test_ack_without_expiry_holds_until_the_alert_resolves(db: MuteDB) -> None:
    acks = Acks(db)
    ack = acks.acknowledge(FP, "alice", "on it", T0)

    assert ack == Acknowledgement(FP, "alice", "on it", T0, None)
    assert acks.active(FP, T0 + 30 * 86400) == ack
    assert acks.active(OTHER, T0) is None
    assert acks.clear(FP, T0 + 3600) == ack
    assert acks.active(FP, T0 + 3600) is None


def test_ack_with_expiry_stops_muting_at_its_expiry_as_the_clock_steps(db: MuteDB) -> None:
    clock = FakeClock(T0)
    acks = Acks(db)
    ack = acks.acknowledge(FP, "alice", "looking", clock.now(), expires_in=1800)

    seen = []
    for _ in range(4):
        seen.append((clock.now() - T0, acks.active(FP, clock.now()) is not None))
        clock.advance(900)

    assert ack.expires_at == T0 + 1800
    assert seen == [(0.0, True), (900.0, True), (1800.0, False), (2700.0, False)]


def test_expired_since_reports_each_expiry_in_exactly_one_half_open_window(db: MuteDB) -> None:
    acks = Acks(db)
    first = acks.acknowledge(FP, "alice", "", T0, expires_in=600)
    second = acks.acknowledge(OTHER, "bob", "", T0, expires_in=660)
    acks.acknowledge("ffffffffffffffff", "carol", "", T0)  # never expires

    windows = [(T0 + 540, T0 + 600), (T0 + 600, T0 + 660), (T0 + 660, T0 + 720)]

    assert [acks.expired_since(t0, t1) for t0, t1 in windows] == [[first], [second], []]
    assert acks.expired_since(T0, T0 + 3600) == [first, second]


def test_cleared_or_re_acknowledged_acks_are_not_reported_as_expired(db: MuteDB) -> None:
    acks = Acks(db)
    acks.acknowledge(FP, "alice", "", T0, expires_in=600)
    acks.acknowledge(OTHER, "bob", "", T0, expires_in=600)
    acks.clear(FP, T0 + 300)  # the alert resolved before the ack ran out
    renewed = acks.acknowledge(OTHER, "bob", "still on it", T0 + 500, expires_in=600)

    assert acks.expired_since(T0, T0 + 900) == []
    assert acks.expired_since(T0 + 900, T0 + 1100) == [renewed]


def test_unacknowledge_withdraws_the_ack_and_records_who(db: MuteDB) -> None:
    acks = Acks(db)
    ack = acks.acknowledge(FP, "alice", "on it", T0, expires_in=3600)

    assert acks.unacknowledge(FP, "bob", T0 + 60) == ack
    assert acks.active(FP, T0 + 60) is None
    assert acks.expired_since(T0, T0 + 7200) == []
    assert acks.history(FP) == [
        AckEvent(FP, AckAction.ACKNOWLEDGE, "alice", "on it", T0, T0 + 3600),
        AckEvent(FP, AckAction.UNACKNOWLEDGE, "bob", "", T0 + 60, None),
    ]


def test_unacknowledging_an_alert_without_an_active_ack_is_not_found(db: MuteDB) -> None:
    acks = Acks(db)
    acks.acknowledge(FP, "alice", "", T0, expires_in=60)

    with pytest.raises(NotFound) as expired:
        acks.unacknowledge(FP, "bob", T0 + 60)
    with pytest.raises(NotFound) as never:
        acks.unacknowledge(OTHER, "bob", T0)

    assert str(expired.value) == f"alert {FP} is not acknowledged"
    assert str(never.value) == f"alert {OTHER} is not acknowledged"


def test_clear_on_resolve_ends_the_episode_so_the_next_one_pages_again(db: MuteDB) -> None:
    acks = Acks(db)
    acks.acknowledge(FP, "alice", "on it", T0)

    assert acks.clear(FP, T0 + 600) is not None
    assert acks.clear(FP, T0 + 700) is None  # nothing left: nothing recorded
    assert acks.active(FP, T0 + 900) is None
    assert [(e.action, e.by, e.at) for e in acks.history(FP)] == [
        (AckAction.ACKNOWLEDGE, "alice", T0),
        (AckAction.CLEAR, "", T0 + 600),
    ]


@pytest.mark.parametrize(
    ("by", "expires_in", "message"),
    [
        ("", None, "by is required: who acknowledges"),
        ("alice", 0.0, "expires_in must be a number of seconds greater than 0, got 0.0"),
        ("alice", -60.0, "expires_in must be a number of seconds greater than 0, got -60.0"),
        ("alice", float("inf"), "expires_in must be a number of seconds greater than 0, got inf"),
    ],
)
def test_invalid_acknowledgement_is_refused_with_its_reason(
    db: MuteDB, by: str, expires_in: float | None, message: str
) -> None:
    acks = Acks(db)
    with pytest.raises(ValueError) as caught:
        acks.acknowledge(FP, by, "", T0, expires_in=expires_in)
    assert str(caught.value) == message
    assert acks.list() == []


def test_restart_restores_acks_and_their_history_exactly(tmp_path: Path) -> None:
    path = tmp_path / "mute.sqlite3"
    db = MuteDB(path)
    acks = Acks(db)
    acks.acknowledge(FP, "alice", "回線の調査中", T0, expires_in=1800.5)
    acks.acknowledge(OTHER, "bob", "", T0 + 1)
    acks.acknowledge("ffffffffffffffff", "carol", "", T0 + 2)
    acks.unacknowledge("ffffffffffffffff", "dave", T0 + 3)
    before = (acks.list(), acks.history(FP), acks.history("ffffffffffffffff"))
    db.close()

    db = MuteDB(path)
    restored = Acks(db)

    assert (restored.list(), restored.history(FP), restored.history("ffffffffffffffff")) == before
    assert restored.list() == [
        Acknowledgement(OTHER, "bob", "", T0 + 1, None),
        Acknowledgement(FP, "alice", "回線の調査中", T0, T0 + 1800.5),
    ]
    assert restored.expired_since(T0, T0 + 1800.5) == [restored.list()[1]]
    db.close()
