"""The store keeps every accepted sample exactly, refuses bad ones with a counted reason, rolls data
up, survives restarts, applies retention by dropping partitions, and records state intervals."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample, TargetState
from store import Matcher, MatchOp, Retention, Store, StoreLocked, StoreStalled
from store.disk import StateRow
from tests.store.conftest import T0

A = Labels(target="web-01", ifname="eth0")
B = Labels(target="web-02", ifname="eth0")


def _ingest(store: Store, clock: FakeClock, start: float, count: int, step: float = 15.0) -> None:
    """`count` samples of series A (value i/4) and B (value -i), one batch per step, clock following."""
    for i in range(count):
        ts = start + i * step
        clock.set(max(clock.now(), ts))  # the collector's clock moves with the data
        store.append([Sample("m", A, i / 4, ts), Sample("m", B, float(-i), ts)])
    assert store.flush()


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def _ids(store: Store) -> tuple[int, int]:
    refs = store.select([Matcher("__name__", MatchOp.EQ, "m")])
    by_target = {r.labels["target"]: r.id for r in refs}
    return by_target["web-01"], by_target["web-02"]


def test_samples_read_back_exactly_across_disk_and_head(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry(), head_window=600)
    _ingest(store, clock, T0, 3 * 240)  # three hours: two blocks go to disk and leave the head
    a, b = _ids(store)
    got = store.read_range([a, b], int(T0 * 1000), int((T0 + 3 * 3600) * 1000))
    expected_ts = [int(T0 * 1000) + i * 15_000 for i in range(720)]
    assert got[a].ts.tolist() == expected_ts
    assert got[a].values.tolist() == [i / 4 for i in range(720)]
    assert got[b].values.tolist() == [float(-i) for i in range(720)]
    assert store._head.floor > int(T0 * 1000)  # the first hour really came from disk
    part = store.read_range([a], int(T0 * 1000) + 3_600_000 - 15_000, int(T0 * 1000) + 3_600_000 + 15_000)
    assert part[a].values.tolist() == [239 / 4, 240 / 4, 241 / 4]
    store.close()


def test_refused_samples_are_counted_by_reason(store: Store, clock: FakeClock, registry: CollectorRegistry) -> None:
    store.append([Sample("m", A, 1.0, T0), Sample("m", A, 2.0, T0 + 15)])
    store.append([Sample("m", A, 9.0, T0 + 5)])  # older than the last: out of order
    store.append([Sample("m", A, 2.0, T0 + 15)])  # same time, same value: a harmless no-op
    store.append([Sample("m", A, 3.0, T0 + 15)])  # same time, other value
    store.append([Sample("m", A, 3.0, T0 + 3600)])  # more than 10 minutes ahead of the clock
    store.append([Sample("m", B, 1.0, T0 - 7200)])  # before the oldest block the store accepts
    store.append([Sample("m", B, "x", T0)])  # type: ignore[arg-type]
    assert store.flush()
    rejected = {
        reason: _metric(registry, "store_samples_rejected_total", reason=reason)
        for reason in (
            "out_of_order",
            "duplicate_sample_for_timestamp",
            "too_far_in_future",
            "out_of_bounds",
            "invalid_value",
        )
    }
    assert rejected == {
        "out_of_order": 1.0,
        "duplicate_sample_for_timestamp": 1.0,
        "too_far_in_future": 1.0,
        "out_of_bounds": 1.0,
        "invalid_value": 1.0,
    }
    assert _metric(registry, "store_samples_ingested_total") == 2.0
    a, _ = _ids(store)
    assert store.read_range([a], 0, 2**62)[a].values.tolist() == [1.0, 2.0]


def test_five_minute_rollups_hold_count_sum_min_max_last(store: Store, clock: FakeClock) -> None:
    _ingest(store, clock, T0, 240 + 30)  # the first hour is written with its rollups
    a, _ = _ids(store)
    r = store.read_rollup([a], "5m", int(T0 * 1000), int((T0 + 3600 + 450) * 1000))[a]
    assert r.ts.tolist() == [int(T0 * 1000) + k * 300_000 for k in range(14)]
    assert r.count.tolist() == [20.0] * 13 + [10.0]
    first = [i / 4 for i in range(20)]
    assert (r.sum[0], r.min[0], r.max[0], r.last[0]) == (sum(first), 0.0, 19 / 4, 19 / 4)
    assert r.avg[12] == sum(i / 4 for i in range(240, 260)) / 20  # computed from the head, same way
    assert r.last[13] == 269 / 4


def test_hourly_rollups_are_written_when_a_utc_day_closes(tmp_path: Path) -> None:
    midnight = 1_799_971_200.0  # 2027-01-15T00:00:00Z
    clock = FakeClock(start=midnight - 7200)
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    _ingest(store, clock, midnight - 7200, 240 * 3 + 120)  # 22:00 .. 01:30
    a, _ = _ids(store)
    r = store.read_rollup([a], "1h", int((midnight - 7200) * 1000), int((midnight + 5400) * 1000))[a]
    assert r.ts.tolist() == [int((midnight + h * 3600) * 1000) for h in (-2, -1, 0, 1)]
    assert r.count.tolist() == [240.0, 240.0, 240.0, 120.0]
    assert r.min.tolist() == [0.0, 60.0, 120.0, 180.0]
    assert r.last.tolist() == [239 / 4, 479 / 4, 719 / 4, 839 / 4]
    stored = store._reader().execute("SELECT name FROM partitions WHERE tier='1h'").fetchall()
    assert stored == [("r1h_202701",)]
    assert store._reader().execute("SELECT count(*), min(n), max(n) FROM r1h_202701").fetchone() == (2, 24, 24)
    store.close()


def test_restart_replays_the_write_ahead_records(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    _ingest(store, clock, T0, 300)
    store.close()
    again = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    a, b = _ids(again)
    got = again.read_range([a, b], 0, 2**62)
    assert got[a].values.tolist() == [i / 4 for i in range(300)]
    assert got[b].ts.tolist() == [int(T0 * 1000) + i * 15_000 for i in range(300)]
    again.append([Sample("m", A, 1.0, T0 + 299 * 15)])  # still refused after the restart
    again.append([Sample("m", A, 7.0, T0 + 300 * 15)])
    assert again.flush()
    assert again.read_range([a], 0, 2**62)[a].values.tolist()[-2:] == [299 / 4, 7.0]
    again.close()


def test_retention_drops_whole_raw_partitions_and_keeps_rollups(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry(), retention=Retention(raw=86400.0))
    _ingest(store, clock, T0, 260)
    a, _ = _ids(store)
    later = T0 + 2 * 86400
    _ingest(store, clock, later, 280)
    names = [r[0] for r in store._reader().execute("SELECT name FROM partitions ORDER BY name")]
    assert names == ["r1h_202701", "r5m_20270115", "r5m_20270117", "raw_20270117"]
    assert store.read_range([a], int(T0 * 1000), int((T0 + 3600) * 1000)) == {}
    old = store.read_rollup([a], "5m", int(T0 * 1000), int((T0 + 3599) * 1000))[a]
    assert old.count.tolist() == [20.0] * 12
    store.close()


def test_a_second_store_on_the_same_directory_is_refused(store: Store, tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(StoreLocked, match="is in use by another process"):
        Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry())


def test_state_changes_become_intervals(store: Store) -> None:
    store.record_state("web-01/host", TargetState.UP, T0, "")
    store.record_state("web-01/host", TargetState.UP, T0 + 15, "")  # no change: same interval
    store.record_state("web-01/host", TargetState.DOWN, T0 + 60, "timed out after 10s")
    store.record_state("web-01/host", TargetState.UP, T0 + 120, "")
    assert store.flush()
    assert store.state_intervals("web-01/host", 0, 2e9) == [
        StateRow("web-01/host", "up", T0, T0 + 60, ""),
        StateRow("web-01/host", "down", T0 + 60, T0 + 120, "timed out after 10s"),
        StateRow("web-01/host", "up", T0 + 120, None, ""),
    ]


def test_a_full_queue_blocks_then_counts_the_stall(tmp_path: Path, clock: FakeClock) -> None:
    registry = CollectorRegistry()
    store = Store.open(tmp_path, clock=clock, metrics=registry, queue_batches=1, stall_timeout=0.2)
    with store._lock:  # the writer cannot apply anything while the head is held
        store.append([Sample("m", A, 1.0, T0)])  # taken by the writer, which then waits
        for _ in range(500):
            if store._queue.empty():
                break
            threading.Event().wait(0.01)
        store.append([Sample("m", A, 2.0, T0 + 1)])  # fills the queue
        with pytest.raises(StoreStalled, match=r"^write queue full for 0\.2s$"):
            store.append([Sample("m", A, 3.0, T0 + 2)])
    for _ in range(200):  # let the writer drain the queue before the flush barrier goes in
        if store._queue.empty():
            break
        threading.Event().wait(0.01)
    assert store.flush()
    assert _metric(registry, "store_ingest_stalls_total") == 1.0
    assert [s.value for s in store.latest()] == [2.0]
    store.close()


def test_matchers_select_series_with_prometheus_semantics(store: Store) -> None:
    store.append(
        [
            Sample("m", A, 1.0, T0),
            Sample("m", B, 1.0, T0),
            Sample("m", Labels(target="sw-01"), 1.0, T0),
            Sample("other", A, 1.0, T0),
        ]
    )
    assert store.flush()

    def targets(*matchers: Matcher) -> list[str]:
        return [r.labels.get("target", "") for r in store.select([Matcher("__name__", MatchOp.EQ, "m"), *matchers])]

    assert targets(Matcher("target", MatchOp.EQ, "web-01")) == ["web-01"]
    assert targets(Matcher("target", MatchOp.NE, "web-01")) == ["web-02", "sw-01"]
    assert targets(Matcher("target", MatchOp.RE, "web-.*")) == ["web-01", "web-02"]
    assert targets(Matcher("target", MatchOp.RE, "web")) == []  # anchored
    assert targets(Matcher("target", MatchOp.NRE, "web-.*")) == ["sw-01"]
    assert targets(Matcher("ifname", MatchOp.EQ, "")) == ["sw-01"]  # missing label = empty string
    assert [r.name for r in store.select([Matcher("__name__", MatchOp.RE, "o.*")])] == ["other"]


def test_latest_gives_the_newest_sample_of_each_series(store: Store) -> None:
    store.append([Sample("m", A, 1.0, T0), Sample("m", A, 5.0, T0 + 15), Sample("m", B, np.float64(3.5), T0)])
    assert store.flush()
    assert sorted(store.latest(), key=lambda s: s.labels["target"]) == [
        Sample("m", A, 5.0, T0 + 15),
        Sample("m", B, 3.5, T0),
    ]


def test_latest_can_leave_out_series_not_updated_recently(store: Store, clock: FakeClock) -> None:
    store.append([Sample("m", A, 1.0, T0 - 400), Sample("m", B, 2.0, T0 - 100)])
    assert store.flush()
    assert store.latest(max_age=300) == [Sample("m", B, 2.0, T0 - 100)]


def test_health_reports_a_write_that_runs_too_long_and_a_dead_writer(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    assert store.health() == (True, "0 batches queued, 0 series")
    with store._lock:  # the writer is stuck inside a write
        store.append([Sample("m", A, 1.0, T0)])
        for _ in range(200):
            if store._busy_since is not None:
                break
            threading.Event().wait(0.01)
        clock.advance(31)
        assert store.health() == (False, "one write has been running for 31s")
    store.close()
    assert store.health() == (False, "writer thread is not running")


def test_a_failed_commit_is_reported_and_its_new_series_are_saved_with_the_next(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    other = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
    other.executescript(
        "CREATE TABLE fail_writes (x); CREATE TRIGGER refuse BEFORE INSERT ON wal"
        " WHEN (SELECT count(*) FROM fail_writes) > 0 BEGIN SELECT RAISE(ABORT, 'disk says no'); END;"
    )
    store.append([Sample("m", A, 1.0, T0)])
    assert store.flush()
    other.execute("INSERT INTO fail_writes VALUES (1)")
    store.append([Sample("m", B, 2.0, T0)])
    assert not store.flush()
    assert store.health() == (False, "the last write failed: IntegrityError: disk says no")
    other.execute("DELETE FROM fail_writes")
    c = Labels(target="web-03", ifname="eth0")
    store.append([Sample("m", c, 3.0, T0)])
    assert store.flush()
    assert store.health() == (True, "0 batches queued, 3 series")
    store.close()
    other.close()
    again = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    refs = again.select([Matcher("__name__", MatchOp.EQ, "m")])
    assert [r.labels["target"] for r in refs] == ["web-01", "web-02", "web-03"]
    values = again.read_range([r.id for r in refs], 0, 2**62)
    assert {r.labels["target"]: values[r.id].values.tolist() for r in refs if r.id in values} == {
        "web-01": [1.0],
        "web-03": [3.0],  # web-02's sample was in the failed write: it is the batch that was lost
    }
    again.close()


def test_one_bad_sample_is_refused_alone_and_the_rest_of_the_batch_is_kept(
    store: Store, registry: CollectorRegistry
) -> None:
    store.append(
        [
            Sample("m", A, 1.0, float("nan")),
            Sample("m", A, 2.0, T0),
            Sample("m", A, "x", T0),  # type: ignore[arg-type]
            Sample("m", B, None, T0),  # type: ignore[arg-type]
            Sample("m", B, 4.0, T0 + 15),
        ]
    )
    assert store.flush()
    assert _metric(registry, "store_samples_rejected_total", reason="invalid_value") == 3.0
    assert sorted((s.labels["target"], s.value) for s in store.latest()) == [("web-01", 2.0), ("web-02", 4.0)]


def test_stopping_and_crashing_leave_unmonitored_time_unknown(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    store.record_state("web-01/host", TargetState.UP, T0, "")
    store.append([Sample("m", A, 1.0, T0 + 30)])
    assert store.flush()
    clock.advance(60)
    store.close()  # a clean stop at T0 + 60
    clock.advance(60)
    again = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    again.record_state("web-01/host", TargetState.UP, T0 + 120, "")
    again.append([Sample("m", A, 2.0, T0 + 150)])
    assert again.flush()
    again._thread.join(0)  # simulate a crash: the file is left as it is, nothing is closed
    again._disk.conn.close()
    again._lockfile.close()
    clock.advance(600)
    third = Store.open(tmp_path, clock=clock, metrics=CollectorRegistry())
    assert third.state_intervals("web-01/host", 0, 2e9) == [
        StateRow("web-01/host", "up", T0, T0 + 60, ""),
        StateRow("web-01/host", "unknown", T0 + 60, T0 + 120, "console stopped"),
        StateRow("web-01/host", "up", T0 + 120, T0 + 150, ""),
        StateRow("web-01/host", "unknown", T0 + 150, None, "console was not running"),
    ]
    third.close()
