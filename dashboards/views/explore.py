"""The explore page's logic: a PromQL query run over a picked range (graph) and at its end (table).

`explore(data, query, range_key, lang)` asks the console's engine; a `QueryError` becomes the
engine's own message in `Explored.error` (nothing else is caught). `search(query, range_key)` is
the page's shareable URL query (`?q=...&range=6h`). `series_figure(...)` draws a matrix and is
shared by the device and link pages.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import plotly.graph_objects as go  # no stubs
from dash import html

from dashboards.i18n import format_number, format_time, t
from dashboards.queries import ConsoleData
from dashboards.views.timerange import TimeRange, range_key, time_range
from model import Labels
from store.query.result import QueryError, QueryResult, RangeSeries, format_value

__all__ = [
    "MAX_ROWS",
    "MAX_SERIES",
    "Explored",
    "explore",
    "local_time",
    "render",
    "search",
    "series_figure",
    "series_name",
    "table_rows",
]

MAX_SERIES = 50
"""Series drawn in the graph at most (the table lists up to MAX_ROWS)."""
MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class Explored:
    """What a query gave: the range result (graph) and the instant result's rows (series, value),
    or the engine's error message."""

    query: str
    tr: TimeRange
    matrix: tuple[RangeSeries, ...] = ()
    rows: tuple[tuple[str, str], ...] = ()
    error: str = ""


def series_name(labels: Labels) -> str:
    """A series written as PromQL writes it: `up{collector="snmp", target="rtr-east-01"}`."""
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.pairs if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


def table_rows(result: QueryResult) -> tuple[tuple[str, str], ...]:
    """(series, value) rows of an instant result, as the engine orders them."""
    if result.result_type == "vector":
        return tuple((series_name(s.labels), format_value(s.value)) for s in result.vector)
    if result.result_type == "matrix":
        return tuple((series_name(s.labels), format_value(s.points[-1][1]) if s.points else "") for s in result.matrix)
    if result.result_type == "scalar" and result.scalar is not None:
        return (("scalar", format_value(result.scalar[1])),)
    if result.result_type == "string" and result.string is not None:
        return (("string", result.string[1]),)
    return ()


def explore(data: ConsoleData, query: str, key: object, lang: str) -> Explored:
    """Run `query` over the range `key` ending now; an empty query runs nothing."""
    del lang  # the engine's messages are its own (English), as Prometheus writes them
    tr = time_range(key, data.now())
    query = query.strip()
    if not query:
        return Explored(query, tr)
    try:
        matrix = data.range(query, tr.start, tr.end, tr.step).matrix
        rows = table_rows(data.instant(query, tr.end))
    except QueryError as error:
        return Explored(query, tr, error=str(error))
    return Explored(query, tr, matrix, rows)


def search(query: str, key: object) -> str:
    """The URL query that reopens the page on `query` and range `key`."""
    return "?" + urlencode({"q": query.strip(), "range": range_key(key)})


_TICKS = {"ja": "%H:%M<br>%-m月%-d日", "en": "%H:%M<br>%-d %b"}
"""Time axis ticks per language (d3 time format)."""


def local_time(ts: float, tz: str) -> datetime.datetime:
    """A Unix time as the wall-clock time of `tz` (naive: plotly draws it as it is)."""
    return datetime.datetime.fromtimestamp(ts, tz=ZoneInfo(tz)).replace(tzinfo=None)


def series_figure(
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    lang: str,
    tz: str,
    *,
    percent: bool = False,
    y_title: str = "",
    shape: str = "linear",
) -> go.Figure:
    """Lines of (name, points), times on the wall clock of `tz` with ticks written as `lang` writes
    them; `percent` writes a ratio axis as percentages."""
    figure = go.Figure()
    for name, points in series:
        figure.add_trace(
            go.Scatter(
                x=[local_time(ts, tz) for ts, _ in points],
                y=[v for _, v in points],
                name=name,
                mode="lines",
                line={"shape": shape},
            )
        )
    figure.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        height=260,
        showlegend=len(series) > 1,
        legend={"orientation": "h", "y": -0.25},
        yaxis={"title": {"text": y_title}, "tickformat": ".0%" if percent else "~s", "rangemode": "tozero"},
        xaxis={"nticks": 8, "tickformat": _TICKS.get(lang, _TICKS["en"])},
    )
    return figure


def render(explored: Explored, lang: str, tz: str) -> tuple[go.Figure, html.Div, str]:
    """The graph, the table and the error line of `explored`."""
    drawn = explored.matrix[:MAX_SERIES]
    figure = series_figure([(series_name(s.labels), s.points) for s in drawn], lang, tz)
    notes: list[html.P] = []
    if len(explored.matrix) > MAX_SERIES:
        notes.append(html.P(t("explore.truncated", lang, shown=MAX_SERIES, total=len(explored.matrix))))
    if explored.query and not explored.error:
        notes.append(
            html.P(
                t(
                    "explore.summary",
                    lang,
                    series=format_number(len(explored.rows), lang),
                    at=format_time(explored.tr.end, lang, tz),
                ),
                className="explore-summary",
            )
        )
    header = html.Tr([html.Th(t("explore.series", lang)), html.Th(t("explore.value", lang))])
    body = [
        html.Tr([html.Td(name, className="explore-series"), html.Td(value)]) for name, value in explored.rows[:MAX_ROWS]
    ]
    table = html.Div([*notes, html.Table([html.Thead(header), html.Tbody(body)], className="explore-table")])
    return figure, table, explored.error
