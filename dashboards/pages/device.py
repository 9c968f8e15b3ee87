"""The device page, /device/<name>?range=6h: state and its history, interfaces with sparklines,
host metrics, probes and recent alerts over a picked range (dashboards/views/device.py), redrawn
in place by the named pages' auto refresh until paused (dashboards/views/named.py)."""

from __future__ import annotations

import dash
from dash import Output, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.authz import requires
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
from dashboards.views.named import (
    Asked,
    NamedIds,
    callback_args,
    empty_figure,
    graph,
    keep_zoom,
    named_page,
    refresh,
    section_class,
)
from security.access import Permission

dash.register_page(__name__, path_template="/device/<name>", title="Ops Console")


IDS = NamedIds(
    url=ids.DEVICE_URL,
    name=ids.DEVICE_NAME,
    body=ids.DEVICE_BODY,
    tick=ids.DEVICE_TICK,
    pause=ids.DEVICE_PAUSE,
    refreshed=ids.DEVICE_REFRESHED,
    every=ids.DEVICE_EVERY,
    drawn=ids.DEVICE_DRAWN,
)
SLOTS = {
    "state": Output(ids.DEVICE_STATE, "children"),
    "history": Output(ids.DEVICE_HISTORY_GRAPH, "figure"),
    "interfaces": Output(ids.DEVICE_INTERFACES, "children"),
    "host_shown": Output(ids.DEVICE_HOST, "className"),
    "host": Output(ids.DEVICE_HOST_GRAPH, "figure"),
    "probes": Output(ids.DEVICE_PROBES, "children"),
    "alerts": Output(ids.DEVICE_ALERTS, "children"),
    "errors": Output(ids.DEVICE_ERRORS, "children"),
}
"""What a redraw sets in the body `sections` lays out (`filled` gives the values)."""


def layout(name: str = "", **query: str) -> html.Div:
    data, lang = current(), request_language()
    known = any(item.name == name for item in data.inventory().devices)
    return named_page(
        "device", name, known, query.get("range"), lang, page_ids=IDS, sections=lambda: sections(lang, data.timezone)
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
        lambda: filled(device_report(data, name, key, lang), lang, data.timezone),
    )


def sections(lang: str, tz: str) -> list[html.Div]:
    """The page's body before its first redraw: the sections SLOTS fill, graphs empty."""
    return [
        html.Div(id=ids.DEVICE_STATE, className="device-state"),
        html.Div(
            [html.H2(t("device.history", lang)), graph(ids.DEVICE_HISTORY_GRAPH, history_figure((), lang, tz))],
            id=ids.DEVICE_HISTORY,
        ),
        html.Div(id=ids.DEVICE_INTERFACES),
        html.Div(
            [html.H2(t("device.host", lang)), graph(ids.DEVICE_HOST_GRAPH, empty_figure(lang, tz))],
            id=ids.DEVICE_HOST,
            className=section_class(False),
        ),
        html.Div(id=ids.DEVICE_PROBES),
        html.Div(id=ids.DEVICE_ALERTS),
        html.Div(id=ids.DEVICE_ERRORS, className="query-errors"),
    ]


def filled(report: DeviceReport, lang: str, tz: str) -> dict[str, object]:
    """The SLOTS of `report`: the host section only for a device with host metrics, probes only
    for one with probes; graphs keep the user's zoom while the range is the same."""
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
    revision = report.tr.key
    return {
        "state": [badge(report.state, lang), *collectors, html.P(facts, className="muted")],
        "history": keep_zoom(history_figure(report.history, lang, tz), revision),
        "interfaces": [html.H2(t("device.interfaces", lang)), _interfaces(report.interfaces, lang)],
        "host_shown": section_class(bool(report.host)),
        "host": keep_zoom(host_figure(report.host, lang, tz), revision),
        "probes": [html.H2(t("device.probes", lang)), _probes(report, lang)] if report.probes else [],
        "alerts": [html.H2(t("device.alerts", lang)), alerts_table(report.alerts, lang)],
        "errors": errors_list(report.errors, lang),
    }


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
