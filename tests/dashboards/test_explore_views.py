"""The explore page's logic: a query over the picked range and at its end, the engine's error
message for a refused query, the shareable URL, and the graph and table it draws."""

from __future__ import annotations

from dashboards.views.explore import Explored, explore, render, search, series_name, table_rows
from dashboards.views.timerange import time_range
from model import Labels
from store.query.result import InstantSample, QueryResult, RangeSeries
from tests.dashboards.fakes import T0, FakeData

UP = Labels({"__name__": "up", "target": "rtr-east-01", "collector": "snmp"})


def test_a_series_is_written_as_promql_writes_it() -> None:
    assert series_name(UP) == 'up{collector="snmp", target="rtr-east-01"}'
    assert series_name(Labels(target="a")) == '{target="a"}'
    assert series_name(Labels({"__name__": "up"})) == "up"


def test_table_rows_of_each_result_type() -> None:
    assert table_rows(QueryResult("vector", vector=(InstantSample(UP, T0, 1.0),))) == (
        ('up{collector="snmp", target="rtr-east-01"}', "1"),
    )
    assert table_rows(QueryResult("scalar", scalar=(T0, 0.5))) == (("scalar", "0.5"),)
    assert table_rows(QueryResult("matrix", matrix=(RangeSeries(UP, ((T0, 2.0), (T0 + 1, 3.0))),))) == (
        ('up{collector="snmp", target="rtr-east-01"}', "3"),
    )


def test_a_query_gives_its_range_series_and_its_rows_at_the_end_of_the_range() -> None:
    answer = QueryResult("matrix", matrix=(RangeSeries(UP, ((T0 - 120, 1.0), (T0, 0.0))),))
    data = FakeData(answers={"up": answer})
    explored = explore(data, "  up ", "6h", "en")
    assert explored == Explored(
        "up", time_range("6h", T0), answer.matrix, (('up{collector="snmp", target="rtr-east-01"}', "0"),)
    )
    assert data.calls == ["up", "up"]


def test_a_refused_query_shows_the_engines_message() -> None:
    explored = explore(FakeData(), "rate(up[5m]", "1h", "en")
    assert explored.error == "no answer for rate(up[5m] in this test"
    figure, _, error = render(explored, "en", "Asia/Tokyo")
    assert (list(figure.data), error) == ([], "no answer for rate(up[5m] in this test")


def test_an_empty_query_asks_nothing() -> None:
    data = FakeData()
    assert explore(data, "   ", "1h", "ja") == Explored("", time_range("1h", T0))
    assert data.calls == []


def test_the_url_keeps_the_query_and_the_range() -> None:
    assert search('up{target="rtr-east-01"}', "6h") == "?q=up%7Btarget%3D%22rtr-east-01%22%7D&range=6h"
    assert search("up", "forever") == "?q=up&range=1h"


def test_the_graph_draws_each_series_and_the_table_lists_them() -> None:
    answer = QueryResult("matrix", matrix=(RangeSeries(UP, ((T0 - 120, 1.0), (T0, 0.0))),))
    figure, table, error = render(explore(FakeData(answers={"up": answer}), "up", "6h", "ja"), "ja", "Asia/Tokyo")
    assert [(trace.name, list(trace.y)) for trace in figure.data] == [
        ('up{collector="snmp", target="rtr-east-01"}', [1.0, 0.0])
    ]
    assert error == ""
    summary, rendered = table.children
    assert summary.children == "2027年1月15日 17:00 時点: 1 系列"
    cells = [[cell.children for cell in row.children] for row in rendered.children[1].children]
    assert cells == [['up{collector="snmp", target="rtr-east-01"}', "0"]]
