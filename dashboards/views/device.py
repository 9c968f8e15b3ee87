"""The device page's logic: what a device is doing over a picked range, from the console's data.

`device_report(data, name, range_key)` asks the engine (through the `ConsoleData` facade) for the
device's `up` per collector and its history, `target_unreachable`, its interfaces' traffic, errors
and status (`interface_*{target=<name>}`), host metrics (`cpu_`, `memory_`,
`filesystem_utilisation_ratio`) and probe details (`probe_*`), and takes its alerts from
`alerts()`. A query the engine refuses is not turned into "no data": its message is kept in
`DeviceReport.errors` and shown. A name not in the inventory gives a report with `device=None`.

Also here, shared with the link page: `Asker` (range/instant queries over a `TimeRange`, errors
kept), `alert_rows`, `sparkline`, `quote`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go  # no stubs
from dash import html

from alerts.explain import AlertView, MuteReason
from alerts.model import AlertState
from dashboards.i18n import format_number, format_time, t
from dashboards.queries import ConsoleData
from dashboards.views.alerts import mute_text
from dashboards.views.explore import series_figure
from dashboards.views.states import State, worst
from dashboards.views.timerange import TimeRange, over, time_range
from model import Device, Labels, ProbeSpec
from store.query.result import InstantSample, QueryError, RangeSeries

__all__ = [
    "AlertRow",
    "Asker",
    "DeviceReport",
    "InterfaceRow",
    "ProbeRow",
    "alert_rows",
    "alerts_table",
    "badge",
    "device_report",
    "device_state",
    "errors_list",
    "format_bps",
    "history_figure",
    "host_figure",
    "host_trace_name",
    "on_grid",
    "quote",
    "sparkline",
]

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 30
RECENT_ALERTS = 20
_SEVERITY = {"critical": State.CRITICAL, "warning": State.WARNING}


def quote(value: str) -> str:
    """`value` as a PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Asker:
    """Range and instant queries over `tr`; a refused query answers nothing and leaves its
    expression and the engine's message in `errors`."""

    data: ConsoleData
    tr: TimeRange
    errors: list[str] = field(default_factory=list)

    def range(self, expr: str) -> tuple[RangeSeries, ...]:
        try:
            return self.data.range(expr, self.tr.start, self.tr.end, self.tr.step).matrix
        except QueryError as error:
            self.errors.append(f"{expr}: {error}")
            return ()

    def instant(self, expr: str) -> tuple[InstantSample, ...]:
        try:
            return self.data.instant(expr, self.tr.end).vector
        except QueryError as error:
            self.errors.append(f"{expr}: {error}")
            return ()


def on_grid(points: Iterable[tuple[float, float]], grid: Sequence[float]) -> list[float | None]:
    """`points` laid on `grid` (None where the series has no point)."""
    by_time = dict(points)
    return [by_time.get(ts) for ts in grid]


def sparkline(
    values: Sequence[float | None], *, width: int = SPARK_WIDTH, low: float = 0.0, high: float | None = None
) -> str:
    """`values` as at most `width` block characters (the highest value of each bucket, so spikes
    show), scaled from `low` to `high` (default: their highest); a gap is a space; no data at all is "".
    """
    if all(v is None for v in values):
        return ""
    size = math.ceil(len(values) / width)
    buckets = [
        [v for v in values[i : i + size] if v is not None and not math.isnan(v)] for i in range(0, len(values), size)
    ]
    peaks = [max(b) if b else None for b in buckets]
    top = high if high is not None else max((p for p in peaks if p is not None), default=low)
    span = top - low
    chars = []
    for peak in peaks:
        if peak is None:
            chars.append(" ")
        else:
            level = 0 if span <= 0 else round((min(max(peak, low), top) - low) / span * (len(BLOCKS) - 1))
            chars.append(BLOCKS[level])
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as the device and link pages list it."""

    severity: State
    state: str
    """"firing", "pending" or "resolved"."""
    name: str
    summary: str
    since: str
    muted: tuple[str, ...]


def alert_rows(views: Iterable[AlertView], match: Callable[[Labels], bool], lang: str, tz: str) -> tuple[AlertRow, ...]:
    """The alerts whose labels `match`: firing first, then pending, then resolved; worst severity
    first; newest first; at most RECENT_ALERTS. The summary in `lang` (`summary_ja` in Japanese)."""
    picked = [v for v in views if match(v.alert.labels)]

    def order(view: AlertView) -> tuple[int, int, float]:
        alert = view.alert
        phase = 2 if alert.resolved else (0 if alert.state is AlertState.FIRING else 1)
        return phase, _severity(alert.labels).rank, -alert.active_at

    rows = []
    for view in sorted(picked, key=order)[:RECENT_ALERTS]:
        alert = view.alert
        state = "resolved" if alert.resolved else alert.state.value
        summary = (alert.annotations.get("summary_ja") if lang == "ja" else None) or alert.annotations.get(
            "summary", ""
        )
        since = alert.resolved_at if alert.resolved_at is not None else (alert.fired_at or alert.active_at)
        muted = tuple(mute_text(m, lang, tz) for m in view.mutes)
        rows.append(AlertRow(_severity(alert.labels), state, alert.name, summary, format_time(since, lang, tz), muted))
    return tuple(rows)


def _severity(labels: Labels) -> State:
    return _SEVERITY.get(labels.get("severity", ""), State.UNKNOWN)


def device_state(up: Sequence[float], unreachable: bool, alerts: Iterable[AlertView]) -> State:
    """Maintenance when a firing alert of the device is muted by a maintenance window; else the
    worst of: unreachable (`target_unreachable` 1), critical when every collector is down, warning
    when some are, the severity of its firing alerts; unknown with no `up` at all (no data)."""
    firing = [v for v in alerts if v.alert.state is AlertState.FIRING and not v.alert.resolved]
    if any(m.reason is MuteReason.MAINTENANCE for v in firing for m in v.mutes):
        return State.MAINTENANCE
    if unreachable:
        base = State.UNREACHABLE
    elif not up:
        base = State.UNKNOWN
    elif all(v == 0 for v in up):
        base = State.CRITICAL
    elif any(v == 0 for v in up):
        base = State.WARNING
    else:
        base = State.OK
    return worst([base, *(_severity(v.alert.labels) for v in firing if _severity(v.alert.labels) is not State.UNKNOWN)])


@dataclass(frozen=True, slots=True)
class InterfaceRow:
    """One interface over the range: last values and sparklines (traffic in/out, errors, status)."""

    ifname: str
    alias: str
    link: str
    up: bool | None
    in_bps: float | None
    out_bps: float | None
    errors_per_second: float | None
    traffic_in: str
    traffic_out: str
    errors: str
    status: str


@dataclass(frozen=True, slots=True)
class ProbeRow:
    """A probe configured on the device (`kind`: ping, tcp, http) and its `up` now."""

    kind: str
    up: bool | None


@dataclass(frozen=True, slots=True)
class DeviceReport:
    name: str
    device: Device | None
    tr: TimeRange
    state: State = State.UNKNOWN
    collectors: tuple[tuple[str, bool], ...] = ()
    """(collector, up now), by collector name."""
    history: tuple[tuple[float, float], ...] = ()
    """The lowest `up` of its collectors over the range."""
    interfaces: tuple[InterfaceRow, ...] = ()
    host: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()
    """(series key, points): "cpu", "memory", "fs:<mountpoint>"."""
    probes: tuple[ProbeRow, ...] = ()
    probe_details: tuple[tuple[str, float], ...] = ()
    """(metric with its distinguishing label, value now)."""
    alerts: tuple[AlertRow, ...] = ()
    errors: tuple[str, ...] = ()


def device_report(data: ConsoleData, name: str, key: object, lang: str) -> DeviceReport:
    """Everything the device page shows of `name` over the range `key`."""
    tr = time_range(key, data.now())
    device = next((d for d in data.inventory().devices if d.name == name), None)
    if device is None:
        return DeviceReport(name, None, tr)
    ask = Asker(data, tr)
    sel = f"{{target={quote(name)}}}"
    up = {s.labels.get("collector", ""): s.value for s in ask.instant(f"up{sel}")}
    unreachable = any(s.value == 1 for s in ask.instant(f"target_unreachable{sel}"))
    views = [v for v in data.alerts() if v.alert.labels.get("target") == name]
    history = ask.range(f"min by (target) ({over(tr, 'min', f'up{sel}')})")
    probes = tuple(
        ProbeRow(spec.kind, None if spec.kind not in up else up[spec.kind] == 1)
        for spec in device.collectors
        if isinstance(spec, ProbeSpec)
    )
    details = (
        tuple((_detail_name(s.labels), s.value) for s in ask.instant(f'{{__name__=~"probe_.+",target={quote(name)}}}'))
        if probes
        else ()
    )
    return DeviceReport(
        name,
        device,
        tr,
        state=device_state(list(up.values()), unreachable, views),
        collectors=tuple(sorted((c, v == 1) for c, v in up.items())),
        history=history[0].points if history else (),
        interfaces=_interfaces(ask, sel),
        host=_host(ask, sel),
        probes=probes,
        probe_details=details,
        alerts=alert_rows(views, lambda _: True, lang, data.timezone),
        errors=tuple(ask.errors),
    )


def _detail_name(labels: Labels) -> str:
    name = labels.get("__name__", "")
    extra = [f"{k}={labels[k]}" for k in ("stat", "phase") if k in labels]
    return f"{name} ({', '.join(extra)})" if extra else name


def _interfaces(ask: Asker, sel: str) -> tuple[InterfaceRow, ...]:
    tr = ask.tr
    grid = tr.grid()
    oper = ask.range(over(tr, "min", f"interface_oper_up{sel}"))
    ins = ask.range(over(tr, "avg", f"interface_in_bits_per_second{sel}"))
    outs = ask.range(over(tr, "avg", f"interface_out_bits_per_second{sel}"))
    errors = _by_ifname(ask.range(f"sum by (ifname) ({over(tr, 'avg', f'interface_errors_per_second{sel}')})"))
    labels: dict[str, Labels] = {}
    for s in (*oper, *ins, *outs):
        labels.setdefault(s.labels.get("ifname", ""), s.labels)
    traffic_in, traffic_out, status = _by_ifname(ins), _by_ifname(outs), _by_ifname(oper)

    def order(ifname: str) -> tuple[int, str]:
        index = labels[ifname].get("ifindex", "")
        return (int(index) if index.isdigit() else 1 << 30), ifname

    rows = []
    for ifname in sorted(labels, key=order):
        lab = labels[ifname]
        v_in, v_out, errs, stat = (on_grid(m.get(ifname, ()), grid) for m in (traffic_in, traffic_out, errors, status))
        top = max((v for v in (*v_in, *v_out) if v is not None), default=0.0)
        last_up = _last(stat)
        rows.append(
            InterfaceRow(
                ifname=ifname,
                alias=lab.get("ifalias", ""),
                link=lab.get("link", ""),
                up=None if last_up is None else last_up == 1,
                in_bps=_last(v_in),
                out_bps=_last(v_out),
                errors_per_second=_last(errs),
                traffic_in=sparkline(v_in, high=top),
                traffic_out=sparkline(v_out, high=top),
                errors=sparkline(errs),
                status=sparkline(stat, high=1.0),
            )
        )
    return tuple(rows)


def _by_ifname(series: Iterable[RangeSeries]) -> dict[str, tuple[tuple[float, float], ...]]:
    return {s.labels.get("ifname", ""): s.points for s in series}


def _last(values: Sequence[float | None]) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _host(ask: Asker, sel: str) -> tuple[tuple[str, tuple[tuple[float, float], ...]], ...]:
    tr = ask.tr
    out: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    for key, metric in (("cpu", "cpu_utilisation_ratio"), ("memory", "memory_utilisation_ratio")):
        out.extend((key, s.points) for s in ask.range(over(tr, "avg", f"{metric}{sel}"))[:1])
    for s in ask.range(over(tr, "avg", f"filesystem_utilisation_ratio{sel}")):
        out.append((f"fs:{s.labels.get('mountpoint', '')}", s.points))
    return tuple(out)


def host_trace_name(key: str, lang: str) -> str:
    """The legend of a host series key ("cpu", "memory", "fs:/var")."""
    if key.startswith("fs:"):
        return t("device.host.filesystem", lang, mount=key[3:])
    return t(f"device.host.{key}", lang)


def history_figure(points: Sequence[tuple[float, float]], lang: str, tz: str) -> go.Figure:
    """The device's `up` over the range as a step line, 1 written 稼働/up and 0 停止/down."""
    figure = series_figure([(t("device.history.up", lang), points)], lang, tz, shape="hv")
    figure.update_layout(
        height=160,
        yaxis={
            "range": [-0.1, 1.1],
            "tickmode": "array",
            "tickvals": [0, 1],
            "ticktext": [t("device.collector.down", lang), t("device.collector.up", lang)],
            "rangemode": "normal",
        },
    )
    return figure


def host_figure(host: Sequence[tuple[str, Sequence[tuple[float, float]]]], lang: str, tz: str) -> go.Figure:
    """CPU, memory and filesystem utilisation over the range, as percentages."""
    return series_figure([(host_trace_name(key, lang), points) for key, points in host], lang, tz, percent=True)


_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def format_bps(value: float | None, lang: str) -> str:
    """Bits per second with an SI prefix (`12.5 Mbit/s`); no value is a dash."""
    if value is None or math.isnan(value):
        return "–"
    scale, prefix = next(((s, p) for s, p in _PREFIXES if abs(value) >= s), (1.0, ""))
    return f"{format_number(value / scale, lang, 1 if prefix else 0)} {prefix}bit/s"


def badge(state: State, lang: str) -> html.Span:
    """A state written out and coloured (colour is never the only sign)."""
    return html.Span(t(state.key, lang), className=f"state-badge {state.css}")


def alerts_table(rows: Sequence[AlertRow], lang: str) -> html.P | html.Table:
    """The alerts of a device or link, or a line saying there are none."""
    if not rows:
        return html.P(t("device.alerts.none", lang), className="muted")
    head = html.Tr([html.Th(t(f"device.alerts.{c}", lang)) for c in ("severity", "state", "name", "summary", "since")])
    body = [
        html.Tr(
            [
                html.Td(badge(r.severity, lang)),
                html.Td(t(f"device.alert.{r.state}", lang)),
                html.Td(r.name),
                html.Td([r.summary, *(html.Div(m, className="muted") for m in r.muted)]),
                html.Td(r.since),
            ]
        )
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="data-table")


def errors_list(errors: Sequence[str], lang: str) -> list[html.H2 | html.Ul]:
    """The queries the engine refused, with its messages (nothing when none)."""
    if not errors:
        return []
    return [html.H2(t("device.errors", lang)), html.Ul([html.Li(e) for e in errors])]
