"""The explore page, /explore?q=<PromQL>&range=6h: a query box, its graph over the range and its
table at the range's end; the query and range are kept in the URL so it can be shared. The
engine's message is shown for a query it refuses (dashboards/views/explore.py)."""

from __future__ import annotations

import dash
import plotly.graph_objects as go  # no stubs
from dash import Input, Output, State, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.authz import requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views.explore import explore, render, search
from dashboards.views.timerange import range_key, range_options
from security.access import Permission

dash.register_page(__name__, path="/explore", title="Ops Console")


def layout(q: str = "", **query: str) -> html.Div:
    lang = request_language()
    return html.Div(
        [
            html.H1(t("explore.title", lang), className="page-title"),
            dcc.Location(id=ids.EXPLORE_URL, refresh=False),
            html.Div(
                [
                    dcc.Input(
                        id=ids.EXPLORE_QUERY,
                        type="text",
                        value=q,
                        debounce=False,
                        placeholder=t("explore.placeholder", lang),
                        className="explore-query",
                        spellCheck=False,
                    ),
                    html.Button(t("explore.run", lang), id=ids.EXPLORE_RUN, n_clicks=0, className="explore-run"),
                ],
                className="explore-box",
            ),
            dcc.RadioItems(
                id=ids.EXPLORE_RANGE,
                options=range_options(lang),
                value=range_key(query.get("range")),
                className="range-picker",
                inline=True,
            ),
            html.Pre(id=ids.EXPLORE_ERROR, className="explore-error"),
            dcc.Graph(id=ids.EXPLORE_GRAPH, config={"displaylogo": False}),
            html.Div(id=ids.EXPLORE_TABLE),
        ],
        className="page page-explore",
    )


@dash.callback(
    Output(ids.EXPLORE_GRAPH, "figure"),
    Output(ids.EXPLORE_TABLE, "children"),
    Output(ids.EXPLORE_ERROR, "children"),
    Output(ids.EXPLORE_URL, "search"),
    Input(ids.EXPLORE_RUN, "n_clicks"),
    Input(ids.EXPLORE_QUERY, "n_submit"),
    Input(ids.EXPLORE_RANGE, "value"),
    State(ids.EXPLORE_QUERY, "value"),
)
@requires(Permission.VIEW)
def _run(clicks: int, submits: int | None, key: str | None, query: str | None) -> tuple[go.Figure, html.Div, str, str]:
    lang, data = request_language(), current()
    return (*render(explore(data, query or "", key, lang), lang, data.timezone), search(query or "", key))
