"""Range and instant-vector functions: values worked out by hand with the formulas of Prometheus 2.42's
promql/functions.go (the expected expressions repeat its arithmetic in its order)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from model import Labels
from store import Store
from store.query import QueryError, QueryResult
from tests.query.engine_support import T, open_store, put


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    yield s
    s.close()


def one(result: QueryResult) -> float:
    assert len(result.vector) == 1, result.vector
    return result.vector[0].value


def by_label(result: QueryResult, label: str) -> dict[str, float]:
    return {s.labels.get(label, ""): s.value for s in result.vector}


def test_rate_extrapolates_to_both_window_edges_when_samples_are_close_to_them(store: Store) -> None:
    engine = put(store, *(("c", {}, 100.0 + 15 * k, 15 * k) for k in range(1, 20)))  # T+15 .. T+285
    # first 115 at +15, last 385 at +285: 270 over 270 s, 15 s to each edge (< 1.1 * 15)
    assert one(engine.instant("rate(c[5m])", T + 300)) == 270 * ((270.0 + 15 + 15) / 270 / 300)
    assert one(engine.instant("increase(c[5m])", T + 300)) == 270 * ((270.0 + 15 + 15) / 270)
    assert one(engine.instant("delta(c[5m])", T + 300)) == 270 * ((270.0 + 15 + 15) / 270)


def test_rate_extrapolates_half_an_interval_when_samples_are_far_from_the_edges(store: Store) -> None:
    engine = put(store, ("c", {}, 5.0, 100), ("c", {}, 6.0, 110), ("c", {}, 7.0, 120))
    # to start 100 s (zero point: 20 * 5/2 = 50 s, still > 11): +5; to end 180 s: +5
    assert one(engine.instant("increase(c[5m])", T + 300)) == 2 * ((20.0 + 5 + 5) / 20)


def test_rate_does_not_extrapolate_a_counter_below_zero(store: Store) -> None:
    engine = put(store, ("c", {}, 1.0, 200), ("c", {}, 2.0, 210), ("c", {}, 3.0, 220))
    # zero point 20 * 1/2 = 10 s before the first sample (< 11): +10; to end 80 s: +5
    assert one(engine.instant("increase(c[5m])", T + 300)) == 2 * ((20.0 + 10 + 5) / 20)
    # delta is no counter: start 200 s away, so +5 on both sides
    assert one(engine.instant("delta(c[5m])", T + 300)) == 2 * ((20.0 + 5 + 5) / 20)


def test_a_counter_reset_adds_the_value_before_it(store: Store) -> None:
    engine = put(store, *(("c", {}, v, 15 * i) for i, v in enumerate((10.0, 20.0, 5.0, 15.0))))
    # 15 - 10 + 20 = 25 over 45 s; 15 s to the start (+15; zero point 45*10/25 = 18 s), 0 to the end
    assert one(engine.instant("increase(c[1m])", T + 45)) == 25 * ((45.0 + 15 + 0) / 45)
    assert one(engine.instant("resets(c[1m])", T + 45)) == 1.0
    assert one(engine.instant("changes(c[1m])", T + 45)) == 3.0
    assert one(engine.instant("irate(c[1m])", T + 45)) == 10.0 / 15
    assert one(engine.instant("idelta(c[1m])", T + 30)) == -15.0
    assert one(engine.instant("irate(c[1m])", T + 30)) == 5.0 / 15  # after a reset: the new value


def test_over_time_functions(store: Store) -> None:
    engine = put(store, *(("g", {}, v, 10 * i) for i, v in enumerate((4.0, 1.0, 3.0, 2.0))))
    at = T + 30
    assert one(engine.instant("sum_over_time(g[30s])", at)) == 10.0
    assert one(engine.instant("avg_over_time(g[30s])", at)) == 2.5
    assert one(engine.instant("min_over_time(g[30s])", at)) == 1.0
    assert one(engine.instant("max_over_time(g[30s])", at)) == 4.0
    assert one(engine.instant("count_over_time(g[30s])", at)) == 4.0
    assert one(engine.instant("last_over_time(g[30s])", at)) == 2.0
    assert engine.instant("last_over_time(g[30s])", at).vector[0].labels == Labels(__name__="g")
    assert one(engine.instant("present_over_time(g[30s])", at)) == 1.0
    assert one(engine.instant("quantile_over_time(0.5, g[30s])", at)) == 2.5  # rank 1.5 of 1,2,3,4
    assert one(engine.instant("quantile_over_time(0.9, g[30s])", at)) == 3 * (1 - 0.7000000000000002) + 4 * (
        0.7000000000000002
    )
    assert one(engine.instant("quantile_over_time(1.5, g[30s])", at)) == math.inf
    assert one(engine.instant("quantile_over_time(-1, g[30s])", at)) == -math.inf
    assert one(engine.instant("stdvar_over_time(g[30s])", at)) == 1.25
    assert one(engine.instant("stddev_over_time(g[30s])", at)) == math.sqrt(1.25)
    assert one(engine.instant("sum_over_time(g[29s])", at)) == 6.0  # [t-29s, t] misses +0


def test_deriv_and_predict_linear_fit_least_squares(store: Store) -> None:
    engine = put(store, ("g", {}, 1.0, 0), ("g", {}, 3.0, 10), ("g", {}, 2.0, 20))
    # x = 0, 10, 20 (from the first sample) and y = 1, 3, 2: slope = (sum xy - sum x sum y / n) / (...)
    slope = (70.0 - 30.0 * 6.0 / 3) / (500.0 - 30.0 * 30.0 / 3)
    assert one(engine.instant("deriv(g[1m])", T + 20)) == slope
    # intercept at the evaluation time: x = -20, -10, 0
    icpt = 6.0 / 3 - slope * -30.0 / 3
    assert one(engine.instant("predict_linear(g[1m], 60)", T + 20)) == slope * 60 + icpt


def test_absent_takes_its_labels_from_equality_matchers(store: Store) -> None:
    engine = put(store, ("g", {"a": "1"}, 1.0, 0))
    result = engine.instant('absent(nope{job="x", a="2", a=~".+", b!="y"})', T)
    assert [(s.labels, s.value) for s in result.vector] == [(Labels(job="x"), 1.0)]
    assert engine.instant("absent(g)", T).vector == ()
    assert one(engine.instant('absent_over_time(nope{job="x"}[1m])', T)) == 1.0
    assert engine.instant("absent_over_time(g[1m])", T + 60).vector == ()
    assert engine.instant("absent_over_time(g[1m])", T + 61).vector[0].labels == Labels()


def test_label_replace_is_anchored_and_an_empty_result_removes_the_label(store: Store) -> None:
    engine = put(store, ("g", {"inst": "host-1:9100", "x": "1"}, 1.0, 0))
    replaced = engine.instant('label_replace(g, "host", "$1", "inst", "(.*):.*")', T).vector[0].labels
    assert replaced == Labels(__name__="g", inst="host-1:9100", x="1", host="host-1")
    unanchored = engine.instant('label_replace(g, "host", "$1", "inst", "host")', T).vector[0].labels
    assert "host" not in unanchored
    removed = engine.instant('label_replace(g, "x", "$2", "inst", "(.*)")', T).vector[0].labels
    assert "x" not in removed
    joined = engine.instant('label_join(g, "j", "-", "x", "inst")', T).vector[0].labels
    assert joined["j"] == "1-host-1:9100"
    with pytest.raises(QueryError, match="invalid regular expression in label_replace") as bad:
        engine.instant('label_replace(g, "a", "b", "inst", "(")', T)
    assert bad.value.error_type == "execution"


def test_histogram_quantile_interpolates_within_the_bucket_and_fixes_monotonicity(store: Store) -> None:
    buckets = (("0.1", 10.0), ("0.5", 20.0), ("1", 15.0), ("2", 30.0), ("+Inf", 40.0))
    engine = put(store, *(("h_bucket", {"le": le, "job": "a"}, v, 0) for le, v in buckets))
    assert one(engine.instant("histogram_quantile(0.4, h_bucket)", T)) == 0.1 + (0.5 - 0.1) * (6.0 / 10)
    # le="1" counts 15 < 20: raised to 20, so rank 24 lies in (1, 2] with 10 observations, 4 of them below
    assert one(engine.instant("histogram_quantile(0.6, h_bucket)", T)) == 1 + (2 - 1) * (4.0 / 10)
    assert one(engine.instant("histogram_quantile(0.9, h_bucket)", T)) == 2.0  # in +Inf: the last finite bound
    assert one(engine.instant("histogram_quantile(0.1, h_bucket)", T)) == 0.0 + 0.1 * (4.0 / 10)
    assert math.isnan(one(engine.instant("histogram_quantile(0.5, h_bucket{le!='+Inf'})", T)))
    assert engine.instant("histogram_quantile(0.5, h_bucket)", T).vector[0].labels == Labels(job="a")


def test_math_functions_and_sort(store: Store) -> None:
    engine = put(store, ("g", {"i": "a"}, -2.5, 0), ("g", {"i": "b"}, 0.5, 0), ("g", {"i": "c"}, 7.25, 0))
    assert by_label(engine.instant("abs(g)", T), "i") == {"a": 2.5, "b": 0.5, "c": 7.25}
    assert by_label(engine.instant("round(g)", T), "i") == {"a": -2.0, "b": 1.0, "c": 7.0}
    assert by_label(engine.instant("round(g, 5)", T), "i") == {"a": -0.0, "b": 0.0, "c": 5.0}
    assert by_label(engine.instant("ceil(g)", T), "i") == {"a": -2.0, "b": 1.0, "c": 8.0}
    assert by_label(engine.instant("floor(g)", T), "i") == {"a": -3.0, "b": 0.0, "c": 7.0}
    assert by_label(engine.instant("clamp(g, 0, 1)", T), "i") == {"a": 0.0, "b": 0.5, "c": 1.0}
    assert engine.instant("clamp(g, 1, 0)", T).vector == ()
    assert by_label(engine.instant("clamp_min(g, 0)", T), "i") == {"a": 0.0, "b": 0.5, "c": 7.25}
    assert by_label(engine.instant("clamp_max(g, 0)", T), "i") == {"a": -2.5, "b": 0.0, "c": 0.0}
    assert [s.value for s in engine.instant("sort_desc(g)", T).vector] == [7.25, 0.5, -2.5]
    assert [s.value for s in engine.instant("sort(-g)", T).vector] == [-7.25, -0.5, 2.5]
    assert engine.instant("abs(g)", T).vector[0].labels == Labels(i="a")
    assert engine.instant("sort(g)", T).vector[0].labels == Labels(__name__="g", i="a")


def test_scalar_vector_time_and_timestamp(store: Store) -> None:
    engine = put(store, ("g", {"i": "a"}, 2.0, 0), ("g", {"i": "b"}, 3.0, 0), ("t", {}, 4.0, 1.5))
    assert engine.instant('scalar(g{i="a"})', T + 10).scalar == (T + 10, 2.0)
    assert math.isnan(engine.instant("scalar(g)", T + 10).scalar[1])  # type: ignore[index]
    assert engine.instant("time()", T + 10).scalar == (T + 10, T + 10)
    assert one(engine.instant("vector(time() * 2)", T + 10)) == 2 * (T + 10)
    assert one(engine.instant("timestamp(t)", T + 10)) == T + 1.5
    assert one(engine.instant("timestamp(t * 1)", T + 10)) == T + 10


def test_subqueries_evaluate_at_absolute_multiples_of_their_step(store: Store) -> None:
    engine = put(store, *(("g", {}, float(i), 10 * i) for i in range(30)))
    # at T+130, [2m:1m]: steps at multiples of 60 s within [T+10, T+130]: T+60 and T+120 (T is one)
    assert one(engine.instant("sum_over_time(g[2m:1m])", T + 130)) == 6.0 + 12.0
    assert one(engine.instant("count_over_time(g[2m:1m])", T + 130)) == 2.0
    assert one(engine.instant("max_over_time(g[1m:25s])", T + 100)) == 10.0  # steps 50, 75, 100
    result = engine.instant("g[1m:30s]", T + 100)
    assert result.matrix[0].points == ((T + 60, 6.0), (T + 90, 9.0))


def test_unsupported_functions_are_refused_with_their_name_and_position() -> None:
    from store.query import check

    with pytest.raises(QueryError) as refused:
        check("sum(holt_winters(x[5m], 0.5, 0.5))")
    assert str(refused.value).startswith('unsupported function "holt_winters" at position 4 (supported: abs,')
    assert refused.value.position == 4
    assert refused.value.error_type == "bad_data"
    with pytest.raises(QueryError, match='unsupported function "sqrt" at position 6'):
        check("1 + ( sqrt(x))")
    with pytest.raises(QueryError, match="parse error: unclosed left parenthesis") as syntax:
        check("sum(x")
    assert syntax.value.error_type == "bad_data"
