"""Aggregations, binary operators, vector matching and set operators, with Prometheus 2.42's values,
output order and error messages."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from model import Labels, Sample
from store.query import QueryEngine, QueryError, QueryResult
from tests.query.engine_support import T, open_store

CPU = (  # (instance, site, value)
    ("a1", "ams", 1.0),
    ("a2", "ams", 4.0),
    ("f1", "fra", 2.0),
    ("f2", "fra", 8.0),
    ("f3", "fra", 3.0),
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[QueryEngine]:
    store = open_store(tmp_path)
    samples = [Sample("cpu", Labels(instance=i, site=s), v, T) for i, s, v in CPU]
    samples += [Sample("site_info", Labels(site=s, region=r), 1.0, T) for s, r in (("ams", "eu-w"), ("fra", "eu-c"))]
    samples += [Sample("limit", Labels(instance=i), 5.0, T) for i in ("a1", "a2", "f1")]
    store.append(samples)
    assert store.flush()
    yield QueryEngine(store)
    store.close()


def table(result: QueryResult, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.get(k, "") for k in labels): s.value for s in result.vector}


def test_aggregations_by_site(engine: QueryEngine) -> None:
    def q(expr: str) -> dict[tuple[str, ...], float]:
        return table(engine.instant(expr, T), "site")

    assert q("sum by (site) (cpu)") == {("ams",): 5.0, ("fra",): 13.0}
    assert q("avg by (site) (cpu)") == {("ams",): 2.5, ("fra",): 13.0 / 3}
    assert q("min by (site) (cpu)") == {("ams",): 1.0, ("fra",): 2.0}
    assert q("max by (site) (cpu)") == {("ams",): 4.0, ("fra",): 8.0}
    assert q("count by (site) (cpu)") == {("ams",): 2.0, ("fra",): 3.0}
    assert q("group by (site) (cpu)") == {("ams",): 1.0, ("fra",): 1.0}
    # Welford's update in input order (f1=2, f2=8, f3=3), as Prometheus computes it
    fra = (0 + 6 * (8 - 5.0) + -2 * (3 - (5 + -2 / 3))) / 3
    assert q("stdvar by (site) (cpu)") == {("ams",): 2.25, ("fra",): fra}
    assert q("stddev by (site) (cpu)") == {("ams",): 1.5, ("fra",): math.sqrt(fra)}
    assert q("quantile by (site) (0.5, cpu)") == {("ams",): 2.5, ("fra",): 3.0}
    assert q("quantile by (site) (2, cpu)") == {("ams",): math.inf, ("fra",): math.inf}
    assert table(engine.instant("sum without (instance) (cpu)", T), "site", "__name__") == {
        ("ams", ""): 5.0,
        ("fra", ""): 13.0,
    }
    assert engine.instant("sum(cpu)", T).vector[0].labels == Labels()


def test_topk_and_bottomk_keep_the_series_and_order_by_value(engine: QueryEngine) -> None:
    top = engine.instant("topk(3, cpu)", T).vector
    assert [(s.labels["instance"], s.value) for s in top] == [("f2", 8.0), ("a2", 4.0), ("f3", 3.0)]
    assert top[0].labels == Labels(__name__="cpu", instance="f2", site="fra")
    bottom = engine.instant("bottomk by (site) (1, cpu)", T).vector
    assert [(s.labels["instance"], s.value) for s in bottom] == [("a1", 1.0), ("f1", 2.0)]
    assert engine.instant("topk(0, cpu)", T).vector == ()


def test_count_values_counts_by_the_formatted_value(engine: QueryEngine) -> None:
    result = engine.instant('count_values("v", cpu * 0 + 1)', T)
    assert table(result, "v") == {("1",): 5.0}
    per_site = engine.instant('count_values by (site) ("value", floor(cpu / 3))', T)
    assert table(per_site, "site", "value") == {
        ("ams", "0"): 1.0,
        ("ams", "1"): 1.0,
        ("fra", "0"): 1.0,
        ("fra", "1"): 1.0,
        ("fra", "2"): 1.0,
    }


def test_arithmetic_drops_the_name_and_comparisons_filter_or_answer_bool(engine: QueryEngine) -> None:
    doubled = engine.instant('cpu{instance="a1"} * 2', T).vector
    assert [(s.labels, s.value) for s in doubled] == [(Labels(instance="a1", site="ams"), 2.0)]
    assert table(engine.instant("cpu > 3", T), "instance", "__name__") == {("a2", "cpu"): 4.0, ("f2", "cpu"): 8.0}
    assert table(engine.instant("3 < cpu", T), "instance") == {("a2",): 4.0, ("f2",): 8.0}
    assert table(engine.instant('cpu{site="ams"} > bool 3', T), "instance", "__name__") == {
        ("a1", ""): 0.0,
        ("a2", ""): 1.0,
    }
    assert engine.instant("2 ^ 3 % 5 - 1 / 4", T).scalar == (T, 2.0**3 % 5 - 0.25)
    assert engine.instant("1 > bool 2", T).scalar == (T, 0.0)


def test_one_to_one_matching_with_on_and_ignoring(engine: QueryEngine) -> None:
    ratio = engine.instant("cpu / on(instance) limit", T)
    assert table(ratio, "instance", "site") == {("a1", ""): 0.2, ("a2", ""): 0.8, ("f1", ""): 0.4}
    ignoring = engine.instant("cpu - ignoring(site) limit", T)
    assert table(ignoring, "instance", "site") == {("a1", ""): -4.0, ("a2", ""): -1.0, ("f1", ""): -3.0}
    assert table(engine.instant("cpu >= on(instance) limit", T), "instance") == {}
    assert table(engine.instant("cpu < bool on(instance) limit", T), "instance") == {
        ("a1",): 1.0,
        ("a2",): 1.0,
        ("f1",): 1.0,
    }


def test_group_left_copies_labels_from_the_one_side(engine: QueryEngine) -> None:
    joined = engine.instant("cpu * on(site) group_left(region) site_info", T)
    assert table(joined, "instance", "region", "__name__") == {
        ("a1", "eu-w", ""): 1.0,
        ("a2", "eu-w", ""): 4.0,
        ("f1", "eu-c", ""): 2.0,
        ("f2", "eu-c", ""): 8.0,
        ("f3", "eu-c", ""): 3.0,
    }
    right = engine.instant("site_info * on(site) group_right(region) cpu", T)
    assert table(right, "instance", "region") == table(joined, "instance", "region")


def test_matching_errors_carry_prometheus_messages(engine: QueryEngine) -> None:
    with pytest.raises(QueryError) as many:
        engine.instant("site_info * on(site) cpu", T)
    assert str(many.value) == (
        'found duplicate series for the match group {site="ams"} on the right hand-side of the operation: '
        '[{__name__="cpu", instance="a2", site="ams"}, {__name__="cpu", instance="a1", site="ams"}]'
        ";many-to-many matching not allowed: matching labels must be unique on one side"
    )
    assert many.value.error_type == "execution"
    with pytest.raises(QueryError) as one_to_one:
        engine.instant("cpu + on(site) max by (site) (cpu)", T)
    assert str(one_to_one.value) == (
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    )
    with pytest.raises(QueryError) as grouping:
        two = 'label_replace({__name__=~"cpu|limit", instance="a1"}, "site", "ams", "", "")'
        engine.instant(f"{two} * on(site) group_left site_info", T)  # both lose their name: the same result
    assert str(grouping.value) == "multiple matches for labels: grouping labels must ensure unique matches"
    with pytest.raises(QueryError) as same:
        engine.instant('label_replace(cpu, "instance", "same", "", "")', T)
    assert str(same.value) == "vector cannot contain metrics with the same labelset"
    with pytest.raises(QueryError) as dropped:
        engine.instant(f"-{two}", T)
    assert str(dropped.value) == "vector cannot contain metrics with the same labelset"


def test_set_operators_match_on_labels_without_the_name(engine: QueryEngine) -> None:
    assert table(engine.instant("cpu and on(instance) limit", T), "instance") == {
        ("a1",): 1.0,
        ("a2",): 4.0,
        ("f1",): 2.0,
    }
    assert table(engine.instant("cpu unless on(instance) limit", T), "instance") == {("f2",): 8.0, ("f3",): 3.0}
    either = engine.instant('cpu{site="ams"} or on(instance) limit', T)
    assert table(either, "__name__", "instance") == {("cpu", "a1"): 1.0, ("cpu", "a2"): 4.0, ("limit", "f1"): 5.0}
    assert table(engine.instant("limit and cpu", T), "instance") == {}


def test_a_range_query_of_an_aggregation_answers_every_step(engine: QueryEngine) -> None:
    result = engine.range("sum(cpu)", T - 60, T + 300, 60)
    assert [(t - T, v) for t, v in result.matrix[0].points] == [(k * 60.0, 18.0) for k in range(6)]
