"""The link page, /link/<name>?range=6h: the state of both ends, traffic both ways against the
bandwidth, utilisation and the link's alerts over a picked range (dashboards/views/link.py),
redrawn in place by the named pages' auto refresh until paused (dashboards/views/named.py)."""

from __future__ import annotations

import dash
from dash import Output, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.authz import requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views.device import alerts_table, badge, errors_list, format_bps
from dashboards.views.link import LinkReport, link_report, traffic_figure, utilisation_figure
from dashboards.views.named import Asked, NamedIds, callback_args, empty_figure, graph, keep_zoom, named_page, refresh
from security.access import Permission

dash.register_page(__name__, path_template="/link/<name>", title="Ops Console")


IDS = NamedIds(
    url=ids.LINK_URL,
    name=ids.LINK_NAME,
    body=ids.LINK_BODY,
    tick=ids.LINK_TICK,
    pause=ids.LINK_PAUSE,
    refreshed=ids.LINK_REFRESHED,
    every=ids.LINK_EVERY,
    drawn=ids.LINK_DRAWN,
)
SLOTS = {
    "state": Output(ids.LINK_STATE, "children"),
    "traffic": Output(ids.LINK_TRAFFIC_GRAPH, "figure"),
    "now": Output(ids.LINK_UTILISATION_NOW, "children"),
    "utilisation": Output(ids.LINK_UTILISATION_GRAPH, "figure"),
    "alerts": Output(ids.LINK_ALERTS, "children"),
    "errors": Output(ids.LINK_ERRORS, "children"),
}
"""What a redraw sets in the body `sections` lays out (`filled` gives the values)."""


def layout(name: str = "", **query: str) -> html.Div:
    data, lang = current(), request_language()
    known = any(item.name == name for item in data.inventory().links)
    return named_page(
        "link", name, known, query.get("range"), lang, page_ids=IDS, sections=lambda: sections(lang, data.timezone)
    )


@dash.callback(**callback_args(IDS, SLOTS))
@requires(Permission.VIEW)
def _show(key: str | None, ticks: int | None, clicks: int | None, drawn: str | None, name: str) -> dict[str, object]:
    lang, data = request_language(), current()
    return refresh(
        IDS,
        SLOTS,
        Asked(dash.ctx.triggered_id, key, clicks, drawn),
        lang,
        data,
        lambda: filled(link_report(data, name, key, lang), lang, data.timezone),
    )


def sections(lang: str, tz: str) -> list[html.Div]:
    """The page's body before its first redraw: the sections SLOTS fill, graphs empty."""
    return [
        html.Div(id=ids.LINK_STATE, className="device-state"),
        html.Div(
            [html.H2(t("link.traffic", lang)), graph(ids.LINK_TRAFFIC_GRAPH, empty_figure(lang, tz))],
            id=ids.LINK_TRAFFIC,
        ),
        html.Div(
            [
                html.H2(t("link.utilisation", lang)),
                html.Div(id=ids.LINK_UTILISATION_NOW),
                graph(ids.LINK_UTILISATION_GRAPH, empty_figure(lang, tz)),
            ],
            id=ids.LINK_UTILISATION,
        ),
        html.Div(id=ids.LINK_ALERTS),
        html.Div(id=ids.LINK_ERRORS, className="query-errors"),
    ]


def filled(report: LinkReport, lang: str, tz: str) -> dict[str, object]:
    """The SLOTS of `report`; graphs keep the user's zoom while the range is the same."""
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
    revision = report.tr.key
    return {
        "state": [
            badge(report.state, lang),
            html.P(facts, className="muted"),
            html.Table([html.Thead(head), html.Tbody(rows)], className="data-table"),
        ],
        "traffic": keep_zoom(traffic_figure(report, lang, tz), revision),
        "now": [
            html.Span(t("link.utilisation.now", lang, source=src, target=dst, value=_percent(v)), className="link-now")
            for src, dst, v in ((a, b, now_a), (b, a, now_b))
        ],
        "utilisation": keep_zoom(utilisation_figure(report, lang, tz), revision),
        "alerts": [html.H2(t("link.alerts", lang)), alerts_table(report.alerts, lang)],
        "errors": errors_list(report.errors, lang),
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
