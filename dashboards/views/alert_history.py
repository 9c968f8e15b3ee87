"""An alert's history on the alerts page: when it was pending and firing over the last 24 hours,
who acknowledged it, what mutes it and what it is about. Read on demand: one range query when the
user asks for one alert's history, never one per row on a refresh.

The rule evaluator writes `ALERTS{<alert labels>, alertstate="pending"|"firing"} 1` at every
evaluation (alerts/evaluation.py). `history_query` selects the alert's series by its name and every
one of its labels, exactly; `own_series` drops series of other alerts the selector also matches
(ones with more labels); `periods_from` turns a range result sampled every `step` seconds into
periods per alertstate, a gap of more than two steps ending a period. Times are Unix seconds.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from alerts.explain import AlertView
from alerts.matchers import quote
from dashboards import ids
from dashboards.i18n import format_time, t
from dashboards.queries import ConsoleData
from dashboards.views.alert_forms import UNCHANGED
from dashboards.views.alerts import ack_text, describe, entity_links, mute_lines
from model import Labels
from store.query.result import QueryError, QueryResult

__all__ = [
    "HISTORY_SPAN",
    "HISTORY_STEP",
    "History",
    "Period",
    "alert_history",
    "history_chosen",
    "history_outputs",
    "history_panel",
    "history_query",
    "length_text",
    "own_series",
    "period_text",
    "periods_from",
]

HISTORY_SPAN = 86_400.0
"""How far back the history goes: 24 hours."""
HISTORY_STEP = 60.0
"""The range query's step."""
_SERIES_ONLY = frozenset({"__name__", "alertstate"})


@dataclass(frozen=True)
class Period:
    """`state` ("pending" or "firing") seen from `start` to `end`, the times of its first and last
    samples."""

    state: str
    start: float
    end: float


def history_query(labels: Labels) -> str:
    """`ALERTS{alertname="...",<every other label>="..."}`: the alert's ALERTS series, label values
    quoted as PromQL strings (backslash, double quote and newline escaped)."""
    pairs = [("alertname", labels.get("alertname", ""))]
    pairs.extend(sorted((name, value) for name, value in labels.items() if name != "alertname"))
    return "ALERTS{" + ",".join(f"{name}={quote(value)}" for name, value in pairs) + "}"


def own_series(result: QueryResult, labels: Labels) -> QueryResult:
    """`result` with only the series of the alert of `labels`: apart from `__name__` and
    `alertstate`, exactly its labels."""
    wanted = dict(labels.items())
    mine = tuple(s for s in result.matrix if {k: v for k, v in s.labels.items() if k not in _SERIES_ONLY} == wanted)
    return replace(result, matrix=mine)


def periods_from(result: QueryResult, step: float) -> list[Period]:
    """The periods of each series of a range result of ALERTS sampled every `step` seconds: a run
    of samples with no gap longer than `2 * step` is one period of the series' `alertstate`. In
    time order (by start, then state). NaN samples count as missing."""
    out: list[Period] = []
    for series in result.matrix:
        state = series.labels.get("alertstate", "")
        times = [ts for ts, value in series.points if not math.isnan(value)]
        if not times:
            continue
        start = previous = times[0]
        for ts in times[1:]:
            if ts - previous > 2 * step:
                out.append(Period(state, start, previous))
                start = ts
            previous = ts
        out.append(Period(state, start, previous))
    return sorted(out, key=lambda p: (p.start, p.state))


# -- the panel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What the history panel shows for alert `fingerprint` over [start, end]: its view (None: the
    console holds no such alert any more), its periods, or the engine's message when the query was
    refused (`error`, with the expression)."""

    fingerprint: str
    view: AlertView | None
    periods: tuple[Period, ...]
    start: float
    end: float
    error: str = ""


def alert_history(data: ConsoleData, fingerprint: str) -> History:
    """The history of alert `fingerprint` over the last `HISTORY_SPAN` seconds: one range query."""
    end = data.now()
    start = end - HISTORY_SPAN
    view = next((v for v in data.alerts() if v.alert.fingerprint == fingerprint), None)
    if view is None:
        return History(fingerprint, None, (), start, end)
    expr = history_query(view.alert.labels)
    try:
        result = data.range(expr, start, end, HISTORY_STEP)
    except QueryError as exc:
        return History(fingerprint, view, (), start, end, f"{expr}: {exc}")
    periods = periods_from(own_series(result, view.alert.labels), HISTORY_STEP)
    return History(fingerprint, view, tuple(periods), start, end)


def history_chosen(triggered: Iterable[tuple[object, object]]) -> str | object | None:
    """The alert whose history to show after one call's triggers ((component id, value) each):
    None after the panel's close button, the fingerprint of a history button really clicked (a
    button appearing in a refreshed table triggers too, with no click), else UNCHANGED."""
    triggered = list(triggered)
    if any(component == ids.ALERTS_HISTORY_CLOSE for component, _ in triggered):
        return None
    for component, value in triggered:
        if isinstance(component, Mapping) and component.get("type") == ids.ALERTS_HISTORY_OPEN and value:
            ref = component.get("ref")
            if isinstance(ref, str):
                return ref
    return UNCHANGED


def history_outputs(data: ConsoleData, fingerprint: object, lang: str) -> tuple[str, list[Any]]:
    """The panel's class and content for the store's value: hidden and empty for no alert."""
    if not isinstance(fingerprint, str) or not fingerprint:
        return "alerts-history hidden", []
    return "alerts-history", history_panel(alert_history(data, fingerprint), lang, data.timezone)


def history_panel(history: History, lang: str, tz: str) -> list[Any]:
    """The panel's content in `lang`, times in `tz`: title, links, periods, acknowledgement, mutes."""
    view = history.view
    if view is None:
        return [html.Div(t("alerts.history.gone", lang), className="alerts-empty")]
    links = [dcc.Link(name, href=href, className="alerts-entity") for name, href in entity_links(view)]
    if history.error:
        periods: Any = html.Div(t("alerts.history.error", lang, reason=history.error), className="alerts-message-error")
    elif not history.periods:
        periods = html.Div(t("alerts.history.none", lang), className="alerts-empty")
    else:
        periods = html.Ul(
            [
                html.Li(period_text(p, history, lang, tz), className=f"alerts-history-period alerts-history-{p.state}")
                for p in history.periods
            ],
            className="alerts-history-periods",
        )
    mutes = [html.Li([html.B(reason), " ", detail]) for reason, detail in mute_lines(view, lang, tz)]
    return [
        html.H2(t("alerts.history.title", lang, what=describe(view))),
        html.Div(links, className="alerts-history-links"),
        html.H3(t("alerts.history.periods", lang)),
        periods,
        html.H3(t("alerts.history.ack", lang)),
        html.Div(ack_text(view, lang, tz) or t("alerts.history.no_ack", lang)),
        html.H3(t("alerts.history.mutes", lang)),
        html.Ul(mutes) if mutes else html.Div(t("alerts.history.no_mutes", lang)),
    ]


def period_text(period: Period, history: History, lang: str, tz: str) -> str:
    """`発生 2027年1月15日 10:03〜10:41（38分）` / `Firing 15 Jan 2027 10:03–10:41 (38 min)`; a
    period still going on at the end of the history says so instead of its end."""
    key = f"alerts.history.state.{period.state}"
    state = t(key, lang) if period.state in ("pending", "firing") else period.state
    view = history.view
    ongoing = (
        view is not None
        and not view.alert.resolved
        and view.alert.state.value == period.state
        and period.end > history.end - 2 * HISTORY_STEP
    )
    values = {
        "state": state,
        "start": format_time(period.start, lang, tz),
        "end": _end_time(period, lang, tz),
        "length": length_text(period.end - period.start, lang),
    }
    return t("alerts.history.ongoing" if ongoing else "alerts.history.period", lang, **values)


def _end_time(period: Period, lang: str, tz: str) -> str:
    """The end's time of day (HH:MM) on the start's day, else its date too."""
    zone = ZoneInfo(tz)
    start = datetime.datetime.fromtimestamp(period.start, zone)
    end = datetime.datetime.fromtimestamp(period.end, zone)
    return end.strftime("%H:%M") if end.date() == start.date() else format_time(period.end, lang, tz)


def length_text(seconds: float, lang: str) -> str:
    """A period's length in whole minutes (`38分`, `2時間5分`; under a minute says so)."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return t("alerts.history.under_minute", lang)
    if minutes < 60:
        return t("alerts.history.minutes", lang, minutes=minutes)
    return t("alerts.history.hours", lang, hours=minutes // 60, minutes=minutes % 60)
