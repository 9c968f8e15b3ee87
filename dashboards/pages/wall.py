"""The wall (`/wall`; `?kiosk=1` for wall screens): tiles per site and business system, the
topology map, the newest critical alerts, a JST clock and the console's own health.

One server callback refreshes everything every `REFRESH_SECONDS` from server-side aggregates
(dashboards/views/wall.py). Two clientside callbacks (dashboards/assets/wall.js) run the clock and
turn "last refresh" red when no refresh has arrived for `STALE_AFTER_SECONDS`.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import wall

dash.register_page(__name__, path="/wall", title="Ops Console")

REFRESH_SECONDS = 10
STALE_AFTER_SECONDS = 3 * REFRESH_SECONDS
_LEGEND = (
    ("ok", "wall.legend.up"),
    ("busy", "wall.legend.busy"),
    ("full", "wall.legend.full"),
    ("critical", "wall.legend.down"),
    ("unreachable", "wall.legend.unreachable"),
    ("maintenance", "wall.legend.maintenance"),
)


def layout(**query: str) -> html.Div:
    lang = request_language()
    try:
        tz = current().timezone
    except LookupError:  # the console is starting: the refresh will fail and the wall shows stale
        tz = "Asia/Tokyo"
    kiosk = " wall-kiosk" if query.get("kiosk") == "1" else ""
    head = html.Div(
        className="wall-head",
        children=[
            html.H1(t("wall.title", lang), className="page-title"),
            html.Div(id=ids.WALL_HEALTH, className="wall-health"),
            html.Div(
                id=ids.WALL_FRESHNESS,
                className="wall-freshness",
                children=[
                    html.Span(t("wall.refreshed", lang), className="wall-fresh-label"),
                    html.Span(id=ids.WALL_REFRESHED_AT, className="wall-fresh-at"),
                    html.Span(t("wall.stale", lang), className="wall-stale-text"),
                ],
            ),
            html.Div(
                [html.Span(id=ids.WALL_CLOCK), html.Span(t("clock.zone", lang), className="wall-zone")],
                className="wall-clock",
            ),
        ],
    )
    legend = html.Div(
        [
            html.Span([html.Span(className=f"wall-swatch swatch-{look}"), t(key, lang)], className="wall-legend-item")
            for look, key in _LEGEND
        ],
        className="wall-legend",
    )
    return html.Div(
        className="page page-wall" + kiosk,
        children=[
            dcc.Interval(id=ids.WALL_TICK, interval=REFRESH_SECONDS * 1000),
            dcc.Interval(id=ids.WALL_SECOND, interval=1000),
            dcc.Store(id=ids.WALL_ZONE, data={"tz": tz, "stale_ms": STALE_AFTER_SECONDS * 1000}),
            dcc.Store(id=ids.WALL_REFRESHED),
            dcc.Store(id=ids.WALL_SEEN),
            head,
            html.Section(
                [html.H2(t("wall.systems", lang)), html.Div(id=ids.WALL_SYSTEMS, className="wall-tiles")],
                className="wall-panel wall-systems",
            ),
            html.Section(
                [html.H2(t("wall.sites", lang)), html.Div(id=ids.WALL_TILES, className="wall-tiles")],
                className="wall-panel wall-sites",
            ),
            html.Section(
                [
                    html.H2(t("wall.map", lang)),
                    dcc.Graph(
                        id=ids.WALL_MAP,
                        className="wall-map-graph",
                        responsive=True,
                        config={"displayModeBar": False, "scrollZoom": False},
                    ),
                    legend,
                ],
                className="wall-panel wall-map",
            ),
            html.Section(
                [html.H2(t("wall.ticker", lang)), html.Div(id=ids.WALL_TICKER, className="wall-ticker")],
                className="wall-panel wall-ticker-panel",
            ),
        ],
    )


@dash.callback(
    Output(ids.WALL_TILES, "children"),
    Output(ids.WALL_SYSTEMS, "children"),
    Output(ids.WALL_MAP, "figure"),
    Output(ids.WALL_TICKER, "children"),
    Output(ids.WALL_HEALTH, "children"),
    Output(ids.WALL_REFRESHED_AT, "children"),
    Output(ids.WALL_REFRESHED, "data"),
    Input(ids.WALL_TICK, "n_intervals"),
)
def _refresh(_: int | None) -> tuple[object, ...]:
    return wall.refresh(current(), request_language())


dash.clientside_callback(
    ClientsideFunction(namespace="wall", function_name="seen"),
    Output(ids.WALL_SEEN, "data"),
    Input(ids.WALL_REFRESHED, "data"),
)

dash.clientside_callback(
    ClientsideFunction(namespace="wall", function_name="tick"),
    Output(ids.WALL_CLOCK, "children"),
    Output(ids.WALL_FRESHNESS, "className"),
    Input(ids.WALL_SECOND, "n_intervals"),
    State(ids.WALL_SEEN, "data"),
    State(ids.WALL_ZONE, "data"),
)
