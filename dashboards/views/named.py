"""The layout the pages of one named thing share (`/device/<name>`, `/link/<name>`): its title, a
"not in the inventory" message for an unknown name, else the range picker, the auto refresh
controls and the page's body; and the auto refresh itself, once for both pages.

Auto refresh, as Grafana's: a `dcc.Interval` redraws the body every `refresh_interval_ms(range)`
(30 s for ranges up to 24 h; 5 min for 7 d and 30 d, which read 5-minute rollups that change no
faster) with the picked range kept. A redraw never blanks the page: no `dcc.Loading`, no new page
layout (the page's `dcc.Location` has refresh=False, so `?range=` does not re-route), and the body's
components stay: a page lays out its sections once (`named_page(sections=...)`) and a redraw sets
their "slots" (a section's children, a graph's figure, a class), because Dash mounts afresh
everything under a `children` it is given, which would drop each graph and the user's zoom. Graphs
keep the user's view while the range is the same: a redraw gives them new traces only
(`traces_only`; Dash keeps the zoom in the graph's figure) and `keep_zoom` (plotly's `uirevision`)
keeps traces hidden from the legend; a new page or range draws them afresh. "Last refreshed"
is the console's time (`ConsoleData.now()`) in the page's language and time zone. A pause button
stops the interval (odd clicks: paused) so a graph being read does not move; resuming redraws at
once. Picking a range redraws even while paused, and stays paused.

Each page has ONE callback, declared by `callback_args(page_ids, slots)` and answered by
`refresh(...)`, which decides with the pure `decide` (a `Redraw` reason, from what the callback
was `Asked`) and calls the page's `draw` only for a redraw. Dash keeps only the answer of a
callback's latest request, so a tick may stand in for a pause, a new range or the first draw:
every answer says whether the page is paused, and whether to draw afresh follows from the range
last drawn (kept in the page), not from what fired. The catalog keys are the device catalog's
`device.refresh.*` (shared, as `device.range.*` are).

The interval can be set for a whole console app, for tests: `server.extensions[REFRESH_EVERY_KEY]
= 400` (milliseconds, on the Flask app given to `create_dash`) makes both pages refresh every 0.4 s
whatever the range. Nothing else sets it: a URL cannot make the console refresh faster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import dash
import flask
import plotly.graph_objects as go  # no stubs
from dash import Input, Output, Patch, State, dcc, html
from dash.development.base_component import Component

from dashboards import ids
from dashboards.i18n import format_time, t
from dashboards.queries import ConsoleData
from dashboards.views.explore import series_figure
from dashboards.views.timerange import RANGES, range_key, range_options

__all__ = [
    "FAST_REFRESH_MS",
    "FAST_UP_TO",
    "REFRESH_EVERY_KEY",
    "SLOW_REFRESH_MS",
    "Asked",
    "NamedIds",
    "Redraw",
    "RefreshView",
    "callback_args",
    "configured_every",
    "decide",
    "empty_figure",
    "every_text",
    "graph",
    "keep_zoom",
    "named_page",
    "paused",
    "refresh",
    "refresh_interval_ms",
    "refresh_view",
    "refreshed_text",
    "section_class",
    "traces_only",
]

FAST_REFRESH_MS = 30_000
SLOW_REFRESH_MS = 300_000
FAST_UP_TO = 86400.0
"""Ranges spanning up to this (seconds) refresh every FAST_REFRESH_MS, longer ones every SLOW_REFRESH_MS."""
REFRESH_EVERY_KEY = "ops_console.named_refresh_ms"
"""`flask.Flask.extensions` key: an interval (ms) for every range, set by tests; absent: by range."""


@dataclass(frozen=True, slots=True)
class NamedIds:
    """The ids (dashboards/ids.py) of one named page's own components."""

    url: str
    name: str
    body: str
    tick: str
    pause: str
    refreshed: str
    every: str
    drawn: str
    """dcc.Store: the range key the body was last drawn afresh for (None: not yet)."""


@dataclass(frozen=True, slots=True)
class Asked:
    """What a named page's callback was called with."""

    trigger: object
    """The id that fired it (`dash.ctx.triggered_id`; None on the page's first call)."""
    key: object
    """The picked range."""
    clicks: int | None
    """The pause toggle's clicks."""
    drawn: object
    """The range the body was last drawn afresh for (`NamedIds.drawn`)."""


class Redraw(Enum):
    """Why a named page's callback ran, and so whether and how it redraws the body."""

    OPENED = "opened"
    """Nothing drawn yet: drawn afresh."""
    RANGE_PICKED = "range-picked"
    """Drawn for another range: drawn afresh, even while paused (the body shows the range picked)."""
    INTERVAL_ELAPSED = "interval-elapsed"
    RESUMED = "resumed"
    PAUSED = "paused"
    """Not redrawn: the engineer paused the auto refresh."""
    TICK_WHILE_PAUSED = "tick-while-paused"
    """Not redrawn: a tick that left before the pause's answer came (Dash answered it instead)."""

    @property
    def draws(self) -> bool:
        return self not in (Redraw.PAUSED, Redraw.TICK_WHILE_PAUSED)

    @property
    def fresh(self) -> bool:
        """Whether graphs are drawn afresh (a new page or range), not just given new traces in the
        view the user left them (zoomed, a trace hidden)."""
        return self in (Redraw.OPENED, Redraw.RANGE_PICKED)


@dataclass(frozen=True, slots=True)
class RefreshView:
    """What the auto refresh controls say: the interval or "paused", and the toggle's label and class."""

    every: str
    toggle: str
    toggle_class: str


def refresh_interval_ms(key: object, every: int | None = None) -> int:
    """Milliseconds between redraws of the range `key` (an unknown key: the default range's);
    `every`, when given (REFRESH_EVERY_KEY), for every range."""
    if every is not None:
        return every
    return FAST_REFRESH_MS if RANGES[range_key(key)] <= FAST_UP_TO else SLOW_REFRESH_MS


def paused(clicks: int | None) -> bool:
    """Whether the auto refresh is paused after `clicks` on the toggle (None: never clicked)."""
    return clicks is not None and clicks % 2 == 1


def decide(asked: Asked, page_ids: NamedIds) -> Redraw:
    """Why the page's callback ran. Afresh is decided by what was drawn, not by what fired: Dash
    keeps only the answer of a callback's latest request, so a tick sent while the answer to a
    new page or range is on its way replaces that answer and must draw afresh itself."""
    if asked.drawn is None:
        return Redraw.OPENED
    if asked.drawn != range_key(asked.key):
        return Redraw.RANGE_PICKED
    if paused(asked.clicks):
        return Redraw.TICK_WHILE_PAUSED if asked.trigger == page_ids.tick else Redraw.PAUSED
    return Redraw.RESUMED if asked.trigger == page_ids.pause else Redraw.INTERVAL_ELAPSED


def every_text(ms: int, lang: str) -> str:
    """ "Auto refresh every 30 s" / "every 5 min" in `lang` (whole minutes as minutes)."""
    if ms >= 60_000 and ms % 60_000 == 0:
        return t("device.refresh.every.minutes", lang, n=ms // 60_000)
    return t("device.refresh.every.seconds", lang, n=f"{ms / 1000:g}")


def refresh_view(stopped: bool, every_ms: int, lang: str) -> RefreshView:
    """The controls' text while running every `every_ms`, or `stopped` (paused)."""
    if stopped:
        return RefreshView(t("device.refresh.paused", lang), t("device.refresh.resume", lang), "refresh-toggle paused")
    return RefreshView(every_text(every_ms, lang), t("device.refresh.pause", lang), "refresh-toggle")


def refreshed_text(now: float, lang: str, tz: str) -> str:
    """ "Last refreshed <date> HH:MM:SS" for the Unix time `now`, in `lang` and time zone `tz`."""
    return t("device.refresh.at", lang, at=format_time(now, lang, tz, seconds=True))


def section_class(shown: bool) -> str:
    """The class of a body section that only some things have (hidden, not removed: its graph stays)."""
    return "named-section" if shown else "named-section hidden"


def graph(graph_id: str, figure: go.Figure) -> dcc.Graph:
    """A graph of a page's body, drawn first as `figure` (an empty one: dark, not a white flash),
    then given each redraw's figure by the page's callback."""
    return dcc.Graph(id=graph_id, figure=figure, config={"displayModeBar": False}, className="device-graph")


def empty_figure(lang: str, tz: str) -> go.Figure:
    """An empty graph, drawn as the page's graphs are, for the body before its first redraw."""
    return series_figure([], lang, tz)


def keep_zoom(figure: go.Figure, revision: str) -> go.Figure:
    """`figure`, keeping what the user changed in plotly's view (traces hidden from the legend; the
    zoom too where Dash does not keep it itself, see `traces_only`) across redraws while `revision`
    (the range key) is the same (plotly's `uirevision`)."""
    figure.update_layout(uirevision=revision)
    return figure


def traces_only(figure: go.Figure) -> Patch:
    """`figure`'s traces as an update of a graph's figure that leaves its layout as it is: Dash
    (4.2 up) copies the user's zoom into the figure it holds, so a whole new figure would undo it,
    `uirevision` or not; new traces keep it (and the x axis follows the data where not zoomed)."""
    patch = Patch()
    patch["data"] = figure.to_plotly_json()["data"]
    return patch


def configured_every() -> int | None:
    """The interval set on this console app for every range (REFRESH_EVERY_KEY), else None."""
    every = flask.current_app.extensions.get(REFRESH_EVERY_KEY)
    return every if isinstance(every, int) and every > 0 else None


def named_page(
    page: str,
    name: str,
    known: bool,
    range_value: str | None,
    lang: str,
    *,
    page_ids: NamedIds,
    sections: Callable[[], Sequence[Component]],
) -> html.Div:
    """The page `page` ("device", "link") of `name`, its body `sections()` (the components the
    page's slots fill); catalog keys `<page>.title` and `<page>.unknown`."""
    title = html.H1(t(f"{page}.title", lang, name=name), className="page-title")
    if not known:
        return html.Div(
            [title, html.P(t(f"{page}.unknown", lang, name=name), className="not-found")], className=f"page page-{page}"
        )
    key = range_key(range_value)
    every = refresh_interval_ms(key, configured_every())
    view = refresh_view(False, every, lang)
    controls = html.Div(
        [
            html.Span(id=page_ids.refreshed, className="refresh-at"),
            html.Span(view.every, id=page_ids.every, className="refresh-every"),
            html.Button(view.toggle, id=page_ids.pause, n_clicks=0, className=view.toggle_class, type="button"),
        ],
        className="named-refresh",
    )
    return html.Div(
        [
            title,
            dcc.Location(id=page_ids.url, refresh=False),
            dcc.Store(id=page_ids.name, data=name),
            dcc.Store(id=page_ids.drawn),
            dcc.Interval(id=page_ids.tick, interval=every, n_intervals=0),
            html.Div(
                [
                    dcc.RadioItems(
                        id=ids.RANGE, options=range_options(lang), value=key, className="range-picker", inline=True
                    ),
                    controls,
                ],
                className="named-toolbar",
            ),
            html.Div(list(sections()), id=page_ids.body, className="named-body"),
        ],
        className=f"page page-{page}",
    )


def callback_args(page_ids: NamedIds, slots: Mapping[str, Output]) -> dict[str, Any]:
    """`dash.callback`'s keyword arguments for a named page: outputs `{"body": slots, "search",
    "refreshed", "drawn", "interval", "paused", "every", "toggle", "toggle_class"}` as `refresh`
    answers, inputs (keyword arguments of the callback) `key` (range), `ticks`, `clicks` (toggle),
    `drawn`, `name`. (Any: Dash takes dicts of outputs and inputs, its hints say lists.)"""
    return {
        "output": {
            "body": dict(slots),
            "search": Output(page_ids.url, "search"),
            "refreshed": Output(page_ids.refreshed, "children"),
            "drawn": Output(page_ids.drawn, "data"),
            "interval": Output(page_ids.tick, "interval"),
            "paused": Output(page_ids.tick, "disabled"),
            "every": Output(page_ids.every, "children"),
            "toggle": Output(page_ids.pause, "children"),
            "toggle_class": Output(page_ids.pause, "className"),
        },
        "inputs": {
            "key": Input(ids.RANGE, "value"),
            "ticks": Input(page_ids.tick, "n_intervals"),
            "clicks": Input(page_ids.pause, "n_clicks"),
            "drawn": State(page_ids.drawn, "data"),
            "name": State(page_ids.name, "data"),
        },
    }


def refresh(
    page_ids: NamedIds,
    slots: Iterable[str],
    asked: Asked,
    lang: str,
    data: ConsoleData,
    draw: Callable[[], dict[str, object]],
) -> dict[str, object]:
    """The answer of a named page's callback (`callback_args`), as `decide` says: on a redraw the
    `slots` `draw()` fills (a figure's traces only unless drawn afresh) and "last refreshed"; the
    URL query and the range drawn when afresh; else those left as they are. The interval and the
    pause toggle always, from the toggle's clicks: Dash keeps only the answer of a callback's
    latest request (a tick sent while a pause is on its way replaces it), so every answer must say
    whether the page is paused."""
    why = decide(asked, page_ids)
    stopped = paused(asked.clicks)
    every = refresh_interval_ms(asked.key, configured_every())
    view = refresh_view(stopped, every, lang)
    answer: dict[str, object] = {
        "body": dict.fromkeys(slots, dash.no_update),
        "search": dash.no_update,
        "refreshed": dash.no_update,
        "drawn": dash.no_update,
        "interval": every,
        "paused": stopped,
        "every": view.every,
        "toggle": view.toggle,
        "toggle_class": view.toggle_class,
    }
    if not why.draws:
        return answer
    now = data.now()
    body = draw()
    if why.fresh:
        key = range_key(asked.key)
        answer |= {"search": f"?range={key}", "drawn": key}
    else:
        body = {slot: traces_only(v) if isinstance(v, go.Figure) else v for slot, v in body.items()}
    return answer | {"body": body, "refreshed": refreshed_text(now, lang, data.timezone)}
