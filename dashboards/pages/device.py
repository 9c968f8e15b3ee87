"""The device page, /device/<name>?range=6h: state and its history, interfaces with sparklines,
host metrics, probes and recent alerts over a picked range (dashboards/views/device.py)."""

from __future__ import annotations

import dash
import plotly.graph_objects as go  # no stubs
from dash import Input, Output, State, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.i18n import format_number, t
from dashboards.queries import current
from dashboards.views.device import (
    DeviceReport,
    InterfaceRow,
    alerts_table,
    badge,
    device_report,
    errors_list,
    format_bps,
    history_figure,
    host_figure,
)
from dashboards.views.named import named_page
from dashboards.views.timerange import range_key

dash.register_page(__name__, path_template="/device/<name>", title="Ops Console")


def layout(name: str = "", **query: str) -> html.Div:
    known = any(item.name == name for item in current().inventory().devices)
    return named_page(
        "device",
        name,
        known,
        query.get("range"),
        request_language(),
        url_id=ids.DEVICE_URL,
        name_id=ids.DEVICE_NAME,
        body_id=ids.DEVICE_BODY,
    )


@dash.callback(
    Output(ids.DEVICE_BODY, "children"),
    Output(ids.DEVICE_URL, "search"),
    Input(ids.RANGE, "value"),
    State(ids.DEVICE_NAME, "data"),
)
def _show(key: str | None, name: str) -> tuple[list[html.Div], str]:
    lang, data = request_language(), current()
    return body(device_report(data, name, key, lang), lang, data.timezone), f"?range={range_key(key)}"


def body(report: DeviceReport, lang: str, tz: str) -> list[html.Div]:
    """The page's sections for `report`."""
    device = report.device
    facts = (
        []
        if device is None
        else [t("device.facts", lang, site=device.site, system=device.system, role=device.role, address=device.address)]
    )
    collectors = [
        html.Span(
            t(
                "device.collector",
                lang,
                name=c,
                state=t("device.collector.up" if up else "device.collector.down", lang),
            ),
            className="collector",
        )
        for c, up in report.collectors
    ]
    sections = [
        html.Div(
            [badge(report.state, lang), *collectors, html.P(facts, className="muted")],
            id=ids.DEVICE_STATE,
            className="device-state",
        ),
        html.Div(
            [html.H2(t("device.history", lang)), _graph(history_figure(report.history, lang, tz))],
            id=ids.DEVICE_HISTORY,
        ),
        html.Div(
            [html.H2(t("device.interfaces", lang)), _interfaces(report.interfaces, lang)], id=ids.DEVICE_INTERFACES
        ),
    ]
    if report.host:
        sections.append(
            html.Div([html.H2(t("device.host", lang)), _graph(host_figure(report.host, lang, tz))], id=ids.DEVICE_HOST)
        )
    if report.probes:
        sections.append(html.Div([html.H2(t("device.probes", lang)), _probes(report, lang)], id=ids.DEVICE_PROBES))
    sections.append(html.Div([html.H2(t("device.alerts", lang)), alerts_table(report.alerts, lang, ids.DEVICE_ALERTS)]))
    sections.append(errors_list(report.errors, lang, ids.DEVICE_ERRORS))
    return sections


def _graph(figure: go.Figure) -> dcc.Graph:
    return dcc.Graph(figure=figure, config={"displayModeBar": False}, className="device-graph")


def _interfaces(rows: tuple[InterfaceRow, ...], lang: str) -> html.P | html.Table:
    if not rows:
        return html.P(t("device.interfaces.none", lang), className="muted")
    columns = ("name", "link", "status", "in", "out", "errors", "traffic", "errors_spark", "status_spark")
    head = html.Tr([html.Th(t(f"device.interfaces.{c}", lang)) for c in columns])
    body_rows = []
    for r in rows:
        status = "device.collector.up" if r.up else "device.collector.down"
        body_rows.append(
            html.Tr(
                [
                    html.Td([r.ifname, html.Div(r.alias, className="muted")]),
                    html.Td(dcc.Link(r.link, href=f"/link/{r.link}") if r.link else ""),
                    html.Td("–" if r.up is None else t(status, lang), className="up" if r.up else "down"),
                    html.Td(format_bps(r.in_bps, lang), className="num"),
                    html.Td(format_bps(r.out_bps, lang), className="num"),
                    html.Td(
                        "–" if r.errors_per_second is None else format_number(r.errors_per_second, lang, 2),
                        className="num",
                    ),
                    html.Td([html.Div(f"↓ {r.traffic_in}"), html.Div(f"↑ {r.traffic_out}")], className="spark"),
                    html.Td(r.errors, className="spark"),
                    html.Td(r.status, className="spark"),
                ]
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body_rows)], className="data-table interfaces")


def _probes(report: DeviceReport, lang: str) -> html.Div:
    rows = [
        html.Tr(
            [
                html.Td(p.kind),
                html.Td("–" if p.up is None else t("device.collector.up" if p.up else "device.collector.down", lang)),
            ]
        )
        for p in report.probes
    ]
    details = [html.Li(f"{name}: {format_number(value, lang, 4)}") for name, value in report.probe_details]
    head = html.Tr([html.Th(t("device.probes.kind", lang)), html.Th(t("device.probes.result", lang))])
    return html.Div(
        [html.Table([html.Thead(head), html.Tbody(rows)], className="data-table"), html.Ul(details, className="muted")]
    )
