"""Flap detection stepped through time: the exact change at which an alert starts flapping, the
window boundary, hysteresis (calm), a fresh start after calming, batching, pruning, and a restart
that continues exactly where it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.flapping import FlapChange, FlapDetector, FlappingConfig
from alerts.mutedb import MuteDB
from model import FakeClock

T0 = 1_800_000_000.0
FP = "6c0f5e3b9a1d2e47"
OTHER = "0123456789abcdef"


def run(detector: FlapDetector, clock: FakeClock, flips: set[float], until: float) -> list[tuple[float, str]]:
    """Observe FP every minute from the clock's time to T0 + `until`, starting resolved and flipping
    its state at each offset in `flips`; return (offset, change) for every flap change."""
    events: list[tuple[float, str]] = []
    while clock.now() <= T0 + until:
        offset = clock.now() - T0
        firing = sum(1 for f in flips if f <= offset) % 2 == 1
        change = detector.observe(FP, firing, clock.now())
        if change is not None:
            events.append((offset, change.value))
        clock.advance(60)
    return events


def test_alert_starts_flapping_at_its_sixth_change_within_the_hour_and_calms_30_minutes_after_the_last(
    db: MuteDB,
) -> None:
    clock = FakeClock(T0)
    detector = FlapDetector(db)
    flips = {300.0, 600.0, 900.0, 1200.0, 1500.0, 1800.0}

    assert run(detector, clock, flips, until=1740) == []
    assert detector.is_flapping(FP, T0 + 1740) is False
    assert run(detector, clock, flips, until=1800) == [(1800.0, "started")]
    assert [detector.is_flapping(FP, T0 + s) for s in (1800, 3599, 3600)] == [True, True, False]
    assert detector.started_flapping(FP) == T0 + 1800

    assert run(detector, clock, flips, until=4000) == [(3600.0, "calmed")]
    assert detector.started_flapping(FP) is None
    assert detector.transitions(FP) == []  # calming starts the count afresh


def test_changes_exactly_one_window_apart_do_not_count_together(db: MuteDB) -> None:
    """Changes every 12 minutes: any (t - 1h, t] holds 5 of them, never 6."""
    every_12 = {720.0 * k for k in range(1, 20)}
    every_10 = {600.0 * k for k in range(1, 20)}

    assert run(FlapDetector(db), FakeClock(T0), every_12, until=14_000) == []
    detector = FlapDetector(db)
    detector.forget(FP)
    assert run(detector, FakeClock(T0), every_10, until=3600) == [(3600.0, "started")]


def test_flapping_alert_stays_flapping_while_it_keeps_changing(db: MuteDB) -> None:
    clock = FakeClock(T0)
    detector = FlapDetector(db)
    flips = {600.0 * k for k in range(1, 13)}  # every 10 minutes for two hours

    events = run(detector, clock, flips, until=7200 + 1800)

    assert events == [(3600.0, "started"), (7200.0 + 1800.0, "calmed")]
    assert detector.is_flapping(FP, T0 + 7200 + 1799) is False  # observed calm already
    assert detector.transitions(FP) == []


def test_after_calming_it_takes_six_new_changes_to_flap_again(db: MuteDB) -> None:
    clock = FakeClock(T0)
    detector = FlapDetector(db)
    first = {300.0 * k for k in range(1, 7)}  # 300 .. 1800
    second = {3960.0 + 60 * k for k in range(6)}  # 3960 .. 4260, within the hour of the first burst

    events = run(detector, clock, first | second, until=4260)

    assert events == [(1800.0, "started"), (3600.0, "calmed"), (4260.0, "started")]
    assert detector.started_flapping(FP) == T0 + 4260
    assert detector.transitions(FP) == [(T0 + 3960 + 60 * k, k % 2 == 0) for k in range(6)]


def test_a_change_exactly_when_calm_ends_calms_then_counts_as_the_first_new_change(db: MuteDB) -> None:
    detector = FlapDetector(db)
    detector.observe(FP, False, T0)
    changes = [detector.observe(FP, k % 2 == 0, T0 + 60 * (k + 1)) for k in range(6)]

    assert changes == [None] * 5 + [FlapChange.STARTED]
    assert detector.observe(FP, True, T0 + 360 + 1800) is FlapChange.CALMED
    assert detector.transitions(FP) == [(T0 + 2160, True)]
    assert detector.is_flapping(FP, T0 + 2160) is False


def test_the_first_observation_sets_the_state_without_a_change(db: MuteDB) -> None:
    detector = FlapDetector(db)

    assert detector.observe(FP, True, T0) is None
    assert detector.transitions(FP) == []
    assert detector.is_flapping(OTHER, T0) is False
    assert detector.started_flapping(OTHER) is None


def test_observe_many_returns_the_changes_of_a_batch(db: MuteDB) -> None:
    detector = FlapDetector(db, FlappingConfig(changes=2, window=600, calm=300))
    detector.observe_many([(FP, False), (OTHER, False)], T0)
    detector.observe_many([(FP, True), (OTHER, False)], T0 + 60)

    assert detector.observe_many([(FP, False), (OTHER, True)], T0 + 120) == {FP: FlapChange.STARTED}
    assert detector.observe_many([(FP, False), (OTHER, True)], T0 + 420) == {FP: FlapChange.CALMED}
    assert db.query("SELECT fingerprint, firing, last_change, flapping_since FROM flap_state ORDER BY 1") == [
        (OTHER, 1, T0 + 120, None),
        (FP, 0, T0 + 120, None),
    ]


def test_transitions_older_than_the_window_are_dropped_from_memory_and_file(db: MuteDB) -> None:
    detector = FlapDetector(db, FlappingConfig(changes=6, window=600, calm=300))
    detector.observe(FP, False, T0)
    detector.observe(FP, True, T0 + 100)
    detector.observe(FP, False, T0 + 400)

    detector.observe(FP, False, T0 + 700)

    assert detector.transitions(FP) == [(T0 + 400, False)]
    assert db.query("SELECT at, firing FROM flap_transitions WHERE fingerprint = ?", (FP,)) == [(T0 + 400, 0)]


def test_prune_forgets_idle_resolved_alerts_and_keeps_firing_or_recent_ones(db: MuteDB) -> None:
    detector = FlapDetector(db)
    detector.observe_many([(FP, False), (OTHER, True), ("ffffffffffffffff", True)], T0)
    detector.observe("ffffffffffffffff", False, T0 + 60)

    assert detector.prune(T0 + 3600) == 1  # FP: resolved and unchanged
    assert detector.prune(T0 + 3660) == 1  # ffff...: its change is now a window old
    assert db.query("SELECT fingerprint FROM flap_state") == [(OTHER,)]


def test_restart_continues_flap_detection_exactly(tmp_path: Path) -> None:
    flips = {300.0, 600.0, 900.0, 1200.0, 1500.0, 1800.0, 2040.0}
    clock = FakeClock(T0)
    straight_db = MuteDB(tmp_path / "straight.sqlite3")
    straight = run(FlapDetector(straight_db), clock, flips, until=4000)
    straight_db.close()

    clock = FakeClock(T0)
    path = tmp_path / "restarted.sqlite3"
    db = MuteDB(path)
    before = run(FlapDetector(db), clock, flips, until=1900)
    detector_state = FlapDetector(db)
    saved = (detector_state.transitions(FP), detector_state.started_flapping(FP))
    db.close()
    db = MuteDB(path)
    restored = FlapDetector(db)

    assert (restored.transitions(FP), restored.started_flapping(FP)) == saved
    assert saved == ([(T0 + 300 * k, k % 2 == 1) for k in range(1, 7)], T0 + 1800)
    assert restored.is_flapping(FP, T0 + 1900) is True
    assert before + run(restored, clock, flips, until=4000) == straight == [(1800.0, "started"), (3840.0, "calmed")]
    db.close()


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        FlappingConfig.model_validate(data)
    return [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in caught.value.errors()]


def test_flapping_config_reads_durations_and_refuses_bad_values_with_exact_messages() -> None:
    assert FlappingConfig.model_validate({"changes": 4, "window": "30m", "calm": "10m"}) == FlappingConfig(
        changes=4, window=1800, calm=600
    )
    assert FlappingConfig() == FlappingConfig(changes=6, window=3600, calm=1800)
    assert errors({"changes": 1, "window": "0s", "calm": "soon", "flaps": 3}) == [
        "changes: Input should be greater than or equal to 2",
        "window: Value error, '0s' must be a duration greater than 0",
        'calm: Value error, "soon" is not a duration',
        "flaps: Extra inputs are not permitted",
    ]
