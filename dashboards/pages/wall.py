"""The wall (`/wall`; `?kiosk=1` for wall screens): tiles per site and business system, the
topology map, the newest critical alerts, a JST clock and the console's own health.

The page comes whole (its layout is the first refresh). Then one server callback refreshes it every
`REFRESH_SECONDS` (or `?refresh=N`) from server-side aggregates (dashboards/views/wall.py), sending
only what changed since the page's last refresh (the page keeps digests of what it has in
`ids.WALL_SENT`). Two clientside callbacks (dashboards/assets/wall.js) run the clock and turn
"last refresh" red when `STALE_AFTER_REFRESHES` refreshes in a row have not arrived.
"""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.authz import requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import wall
from security.access import Permission

dash.register_page(__name__, path="/wall", title="Ops Console", permission="wall")

REFRESH_SECONDS = 10
"""How often the wall refreshes; `?refresh=N` sets N seconds (at least `MIN_REFRESH_SECONDS`)."""
MIN_REFRESH_SECONDS = 2
STALE_AFTER_REFRESHES = 3
"""The wall turns stale when this many refreshes in a row have not arrived."""
_LEGEND = (
    ("ok", "wall.legend.up"),
    ("busy", "wall.legend.busy"),
    ("full", "wall.legend.full"),
    ("critical", "wall.legend.down"),
    ("unreachable", "wall.legend.unreachable"),
    ("maintenance", "wall.legend.maintenance"),
)


def refresh_seconds(value: str | None) -> int:
    """The refresh interval `?refresh=` asks for (whole seconds), else `REFRESH_SECONDS`."""
    try:
        return max(MIN_REFRESH_SECONDS, int(value)) if value else REFRESH_SECONDS
    except ValueError:
        return REFRESH_SECONDS


def layout(**query: str) -> html.Div:
    lang = request_language()
    try:
        data = current()
    except LookupError:  # the console is starting: the refreshes fail and the wall shows stale
        tz, first = "Asia/Tokyo", {}
    else:  # the page comes whole; its refreshes send changes
        tz, first = data.timezone, wall.refresh(data, lang)._asdict()
    kiosk = " wall-kiosk" if query.get("kiosk") == "1" else ""
    every = refresh_seconds(query.get("refresh"))
    head = html.Div(
        className="wall-head",
        children=[
            html.H1(t("wall.title", lang), className="page-title"),
            html.Div(id=ids.WALL_HEALTH, className="wall-health", children=first.get("health")),
            html.Div(
                id=ids.WALL_FRESHNESS,
                className="wall-freshness",
                children=[
                    html.Span(t("wall.refreshed", lang), className="wall-fresh-label"),
                    html.Span(
                        id=ids.WALL_REFRESHED_AT,
                        className="wall-fresh-at",
                        children=first.get("refreshed_text"),
                    ),
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
            dcc.Interval(id=ids.WALL_TICK, interval=every * 1000),
            dcc.Interval(id=ids.WALL_SECOND, interval=1000),
            dcc.Store(id=ids.WALL_ZONE, data={"tz": tz, "stale_ms": STALE_AFTER_REFRESHES * every * 1000}),
            dcc.Store(id=ids.WALL_REFRESHED, data=first.get("refreshed_at")),
            dcc.Store(id=ids.WALL_SEEN),
            dcc.Store(id=ids.WALL_SENT, data=first.get("sent")),
            head,
            html.Section(
                [
                    html.H2(t("wall.systems", lang)),
                    html.Div(id=ids.WALL_SYSTEMS, className="wall-tiles", children=first.get("systems")),
                ],
                className="wall-panel wall-systems",
            ),
            html.Section(
                [
                    html.H2(t("wall.sites", lang)),
                    html.Div(id=ids.WALL_TILES, className="wall-tiles", children=first.get("sites")),
                ],
                className="wall-panel wall-sites",
            ),
            html.Section(
                [
                    html.H2(t("wall.map", lang)),
                    dcc.Graph(
                        id=ids.WALL_MAP,
                        figure=first.get("map"),
                        className="wall-map-graph",
                        responsive=True,
                        config={"displayModeBar": False, "scrollZoom": False},
                    ),
                    legend,
                ],
                className="wall-panel wall-map",
            ),
            html.Section(
                [
                    html.H2(t("wall.ticker", lang)),
                    html.Div(id=ids.WALL_TICKER, className="wall-ticker", children=first.get("ticker")),
                ],
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
    Output(ids.WALL_SENT, "data"),
    Input(ids.WALL_TICK, "n_intervals"),
    State(ids.WALL_SENT, "data"),
)
@requires(Permission.WALL)
def _refresh(_: int | None, sent: dict[str, str] | None) -> wall.Refresh:
    return wall.refresh(current(), request_language(), sent)


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
