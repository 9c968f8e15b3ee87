"""Selectors, lookback, staleness, offset and @, range queries and limits: exact answers worked out by
hand from Prometheus 2.42's rules (closed windows `[t - range, t]`, 5-minute lookback inclusive)."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample
from store import Store
from store.query import STALE_NAN, QueryEngine, QueryError, is_stale
from tests.query.engine_support import T0, T, open_store, put


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    yield s
    s.close()


def values(result: object) -> dict[tuple[tuple[str, str], ...], float]:
    from store.query import QueryResult

    assert isinstance(result, QueryResult)
    return {s.labels.pairs: s.value for s in result.vector}


def test_an_instant_selector_sees_the_newest_sample_up_to_five_minutes_old_inclusive(store: Store) -> None:
    engine = put(store, ("g", {"a": "1"}, 7.0, 0))
    assert values(engine.instant("g", T + 300)) == {(("__name__", "g"), ("a", "1")): 7.0}
    assert values(engine.instant("g", T + 300.001)) == {}
    assert values(engine.instant("g", T - 0.001)) == {}


def test_a_stale_marker_ends_the_series_for_instant_selectors_and_is_dropped_from_ranges(store: Store) -> None:
    engine = put(store, ("g", {}, 1.0, 0), ("g", {}, STALE_NAN, 15), ("g", {}, 3.0, 60))
    assert values(engine.instant("g", T + 10)) == {(("__name__", "g"),): 1.0}
    assert values(engine.instant("g", T + 20)) == {}
    assert values(engine.instant("count_over_time(g[1m])", T + 30)) == {(): 1.0}
    assert values(engine.instant("count_over_time(g[2m])", T + 60)) == {(): 2.0}
    assert values(engine.instant("g", T + 61)) == {(("__name__", "g"),): 3.0}


def test_offset_and_at_move_the_evaluation_time(store: Store) -> None:
    engine = put(store, ("g", {}, 1.0, 0), ("g", {}, 2.0, 60), ("g", {}, 3.0, 120))
    assert values(engine.instant("g offset 1m", T + 125)) == {(("__name__", "g"),): 2.0}
    assert values(engine.instant(f"g @ {T + 59}", T + 1000)) == {(("__name__", "g"),): 1.0}
    assert values(engine.instant(f"g @ {T + 61}", T + 100_000)) == {(("__name__", "g"),): 2.0}
    assert values(engine.instant(f"g @ {T + 121} offset 1m", T)) == {(("__name__", "g"),): 2.0}
    result = engine.range("g @ end()", T, T + 120, 60)
    assert result.matrix[0].points == ((T, 3.0), (T + 60, 3.0), (T + 120, 3.0))


def test_a_range_query_evaluates_at_start_plus_multiples_of_step(store: Store) -> None:
    engine = put(store, ("g", {}, 1.0, 0), ("g", {}, 2.0, 45), ("g", {}, 5.0, 100))
    result = engine.range("g * 2", T - 10, T + 101, 30)
    assert result.result_type == "matrix"
    assert result.matrix[0].labels == Labels()
    assert result.matrix[0].points == ((T + 20, 2.0), (T + 50, 4.0), (T + 80, 4.0))


def test_a_range_vector_instant_query_answers_the_raw_samples_of_the_closed_window(store: Store) -> None:
    engine = put(store, ("g", {}, 1.0, 0), ("g", {}, 2.0, 30), ("g", {}, STALE_NAN, 45), ("g", {}, 4.0, 60))
    result = engine.instant("g[1m]", T + 60)
    assert result.result_type == "matrix"
    assert result.matrix[0].points == ((T, 1.0), (T + 30, 2.0), (T + 60, 4.0))


def test_regex_matchers_are_anchored(store: Store) -> None:
    engine = put(store, ("g", {"site": "ams"}, 1.0, 0), ("g", {"site": "xams"}, 2.0, 0))
    assert list(values(engine.instant('g{site=~"am.*"}', T + 1)).values()) == [1.0]
    assert list(values(engine.instant('g{site!~"am.*"}', T + 1)).values()) == [2.0]


def test_the_stale_marker_keeps_its_bits_through_the_head_the_disk_and_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0 + 3600)
    registry = CollectorRegistry()
    store = Store.open(tmp_path / "data", clock=clock, metrics=registry, head_window=0.0)
    marker = [Sample("g", Labels(), v, T0 + i) for i, v in enumerate((1.0, STALE_NAN, math.nan, 2.0))]
    later = [Sample("g", Labels(), float(i), T0 + 3600 + 400 + i) for i in range(3)]  # past the block + grace
    store.append(marker)
    store.append(later)
    assert store.flush()
    assert store.flush()  # the block of the first hour is written after the commit that made it due
    assert registry.get_sample_value("store_blocks_written_total") == 1.0
    sid = store.select([])[0].id

    def bits() -> list[int]:
        data = store.read_range([sid], int(T0 * 1000), int((T0 + 10) * 1000))
        return [struct.unpack("<Q", struct.pack("<d", float(v)))[0] for v in data[sid].values]

    expected = [struct.unpack("<Q", struct.pack("<d", s.value))[0] for s in marker]
    assert bits() == expected
    assert is_stale(STALE_NAN) and not is_stale(math.nan)
    store.close()
    store = Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry())
    try:
        assert bits() == expected
        assert values(QueryEngine(store).instant("g", T0 + 1.5)) == {}
    finally:
        store.close()


def test_limits_answer_with_prometheus_messages(store: Store) -> None:
    engine = put(store, *(("g", {"i": str(i)}, 1.0, t) for i in range(3) for t in (0, 15, 30)))
    with pytest.raises(QueryError, match="exceeded maximum resolution of 11,000 points") as points:
        engine.range("g", T, T + 11_001, 1)
    assert points.value.error_type == "bad_data"
    small = QueryEngine(store, max_samples=5)
    with pytest.raises(QueryError, match="query processing would load too many samples") as samples:
        small.instant("sum_over_time(g[1m])", T + 30)
    assert samples.value.error_type == "execution"
    with pytest.raises(QueryError, match='invalid expression type "range vector" for range query'):
        engine.range("g[1m]", T, T + 60, 15)


def test_windows_whose_raw_samples_aged_out_are_answered_from_rollups_with_a_warning(tmp_path: Path) -> None:
    from store import Retention

    clock = FakeClock(T0 + 3600)
    store = Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry(), retention=Retention(raw=3600.0))
    try:
        store.append([Sample("g", Labels(), float(i), T0 + 60 * i) for i in range(60)])
        assert store.flush()
        clock.advance(2 * 86400)
        store.append([Sample("other", Labels(), 1.0, T0 + 2 * 86400)])  # writes the block; raw retention drops it
        assert store.flush()
        assert store.flush()
        sid = store.select([])[0].id
        assert store.read_range([sid], int(T0 * 1000), int((T0 + 3600) * 1000)) == {}
        engine = QueryEngine(store)
        # [T0+1200, T0+1800] holds samples 20..30 (raw answer 25); the whole buckets inside it,
        # [1200, 1500) and [1500, 1800), hold 20..29
        result = engine.instant("avg_over_time(g[10m])", T0 + 1800)
        assert [s.value for s in result.vector] == [24.5]
        assert result.warnings and "5-minute rollups" in result.warnings[0]
        assert [s.value for s in engine.instant("count_over_time(g[10m])", T0 + 1800).vector] == [10.0]
        assert [s.value for s in engine.instant("max_over_time(g[10m])", T0 + 1800).vector] == [29.0]
        assert engine.instant("rate(g[10m])", T0 + 1800).vector == ()  # never from rollups
        assert engine.instant("avg_over_time(g[7m])", T0 + 1800).vector == ()  # not whole buckets
    finally:
        store.close()


def test_a_series_added_after_a_query_is_selected_by_the_same_selector_next_time(store: Store) -> None:
    engine = put(store, ("g", {"a": "1"}, 1.0, 0))
    assert values(engine.instant('g{a=~".+"}', T + 10)) == {(("__name__", "g"), ("a", "1")): 1.0}
    store.append([Sample("g", Labels(a="2"), 2.0, T + 5)])
    assert store.flush()
    assert values(engine.instant('g{a=~".+"}', T + 10)) == {
        (("__name__", "g"), ("a", "1")): 1.0,
        (("__name__", "g"), ("a", "2")): 2.0,
    }
