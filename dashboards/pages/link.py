"""The link page, /link/<name>?range=6h: the state of both ends, traffic both ways against the
bandwidth, utilisation and the link's alerts over a picked range (dashboards/views/link.py)."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views.device import alerts_table, badge, errors_list, format_bps
from dashboards.views.link import LinkReport, link_report, traffic_figure, utilisation_figure
from dashboards.views.named import named_page
from dashboards.views.timerange import range_key

dash.register_page(__name__, path_template="/link/<name>", title="Ops Console")


def layout(name: str = "", **query: str) -> html.Div:
    known = any(item.name == name for item in current().inventory().links)
    return named_page(
        "link",
        name,
        known,
        query.get("range"),
        request_language(),
        url_id=ids.LINK_URL,
        name_id=ids.LINK_NAME,
        body_id=ids.LINK_BODY,
    )


@dash.callback(
    Output(ids.LINK_BODY, "children"),
    Output(ids.LINK_URL, "search"),
    Input(ids.RANGE, "value"),
    State(ids.LINK_NAME, "data"),
)
def _show(key: str | None, name: str) -> tuple[list[html.Div], str]:
    lang, data = request_language(), current()
    return body(link_report(data, name, key, lang), lang, data.timezone), f"?range={range_key(key)}"


def body(report: LinkReport, lang: str, tz: str) -> list[html.Div]:
    """The page's sections for `report`."""
    link = report.link
    bandwidth = (
        format_bps(link.bandwidth_bps, lang) if link and link.bandwidth_bps else t("link.bandwidth.unknown", lang)
    )
    facts = t("link.facts", lang, bandwidth=bandwidth, group=(link.group if link and link.group else "–"))
    head = html.Tr([html.Th(t(f"link.ends.{c}", lang)) for c in ("end", "device", "interface", "status", "state")])
    rows = [
        html.Tr(
            [
                html.Td(e.end.upper()),
                html.Td(dcc.Link(e.device, href=f"/device/{e.device}")),
                html.Td(e.interface),
                html.Td("–" if e.up is None else t("link.up" if e.up else "link.down", lang)),
                html.Td(badge(e.state, lang)),
            ]
        )
        for e in report.ends
    ]
    now_a = report.utilisation_a_to_b[-1][1] if report.utilisation_a_to_b else None
    now_b = report.utilisation_b_to_a[-1][1] if report.utilisation_b_to_a else None
    a, b = (link.a.device, link.b.device) if link else ("", "")
    utilisation_now = [
        html.Span(t("link.utilisation.now", lang, source=src, target=dst, value=_percent(v)), className="link-now")
        for src, dst, v in ((a, b, now_a), (b, a, now_b))
    ]
    return [
        html.Div(
            [
                badge(report.state, lang),
                html.P(facts, className="muted"),
                html.Table([html.Thead(head), html.Tbody(rows)], className="data-table"),
            ],
            id=ids.LINK_STATE,
            className="device-state",
        ),
        html.Div([html.H2(t("link.traffic", lang)), _graph(traffic_figure(report, lang, tz))], id=ids.LINK_TRAFFIC),
        html.Div(
            [html.H2(t("link.utilisation", lang)), *utilisation_now, _graph(utilisation_figure(report, lang, tz))],
            id=ids.LINK_UTILISATION,
        ),
        html.Div([html.H2(t("link.alerts", lang)), alerts_table(report.alerts, lang, ids.LINK_ALERTS)]),
        errors_list(report.errors, lang, ids.LINK_ERRORS),
    ]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _graph(figure: object) -> dcc.Graph:
    return dcc.Graph(figure=figure, config={"displayModeBar": False}, className="device-graph")
