"""The link page's logic: both ends of a link, its traffic both ways against its bandwidth, its
utilisation and its alerts, over a picked range.

Reads `interface_oper_up`, `interface_{in,out}_bits_per_second` and `interface_utilisation_ratio`
with `link=<name>` (the SNMP collector labels the interfaces of configured link ends), and
`target_unreachable` of each end's device. Direction A → B is end a's `out` (or, when a has no
data, end b's `in`); B → A is a's `in` (else b's `out`). A name not in the inventory gives a report
with `link=None`; a query the engine refuses is kept in `LinkReport.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go  # no stubs

from alerts.explain import AlertView, MuteReason
from alerts.model import AlertState
from dashboards.i18n import t
from dashboards.queries import ConsoleData
from dashboards.views.device import AlertRow, Asker, alert_rows, quote
from dashboards.views.explore import local_time, series_figure
from dashboards.views.states import State, worst
from dashboards.views.timerange import TimeRange, over, time_range
from model import Labels, Link
from store.query.result import RangeSeries

__all__ = ["EndRow", "LinkReport", "end_state", "link_report", "link_state", "traffic_figure", "utilisation_figure"]

Points = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class EndRow:
    """One end of a link now: its device, interface, operational status and reachability."""

    end: str
    """"a" or "b"."""
    device: str
    interface: str
    up: bool | None
    unreachable: bool
    state: State


@dataclass(frozen=True, slots=True)
class LinkReport:
    name: str
    link: Link | None
    tr: TimeRange
    state: State = State.UNKNOWN
    ends: tuple[EndRow, ...] = ()
    a_to_b: Points = ()
    """Bits per second from end a to end b."""
    b_to_a: Points = ()
    utilisation_a_to_b: Points = ()
    """Ratio of the bandwidth (0..1)."""
    utilisation_b_to_a: Points = ()
    alerts: tuple[AlertRow, ...] = ()
    errors: tuple[str, ...] = ()


def end_state(up: bool | None, unreachable: bool) -> State:
    """Unreachable first (its device cannot be reached), then critical for an interface down, ok
    for up, unknown without data."""
    if unreachable:
        return State.UNREACHABLE
    if up is None:
        return State.UNKNOWN
    return State.OK if up else State.CRITICAL


def link_state(ends: Sequence[EndRow], alerts: Iterable[AlertView]) -> State:
    """Maintenance when a firing alert of the link is muted by a maintenance window; else the worst
    of its ends and of its firing alerts' severities (unknown when neither end has data)."""
    firing = [v for v in alerts if v.alert.state is AlertState.FIRING and not v.alert.resolved]
    if any(m.reason is MuteReason.MAINTENANCE for v in firing for m in v.mutes):
        return State.MAINTENANCE
    severities = {"critical": State.CRITICAL, "warning": State.WARNING}
    states: list[State] = [e.state for e in ends if e.state is not State.UNKNOWN]
    states += [severities[s] for v in firing if (s := v.alert.labels.get("severity", "")) in severities]
    return worst(states) if states else State.UNKNOWN


def link_report(data: ConsoleData, name: str, key: object, lang: str) -> LinkReport:
    """Everything the link page shows of `name` over the range `key`."""
    tr = time_range(key, data.now())
    link = next((item for item in data.inventory().links if item.name == name), None)
    if link is None:
        return LinkReport(name, None, tr)
    ask = Asker(data, tr)
    sel = f"{{link={quote(name)}}}"
    oper = {s.labels.get("target", ""): s.value for s in ask.instant(f"interface_oper_up{sel}")}
    ends = []
    for label, end in (("a", link.a), ("b", link.b)):
        unreachable = any(s.value == 1 for s in ask.instant(f"target_unreachable{{target={quote(end.device)}}}"))
        up = None if end.device not in oper else oper[end.device] == 1
        ends.append(EndRow(label, end.device, end.interface, up, unreachable, end_state(up, unreachable)))
    ins = _by_target(ask.range(over(tr, "avg", f"interface_in_bits_per_second{sel}")))
    outs = _by_target(ask.range(over(tr, "avg", f"interface_out_bits_per_second{sel}")))
    util = ask.range(over(tr, "avg", f"interface_utilisation_ratio{sel}"))
    util_in = _by_target(s for s in util if s.labels.get("direction") == "in")
    util_out = _by_target(s for s in util if s.labels.get("direction") == "out")
    a, b = link.a.device, link.b.device
    views = [v for v in data.alerts() if _concerns(v.alert.labels, link)]
    return LinkReport(
        name,
        link,
        tr,
        state=link_state(ends, views),
        ends=tuple(ends),
        a_to_b=outs.get(a) or ins.get(b, ()),
        b_to_a=ins.get(a) or outs.get(b, ()),
        utilisation_a_to_b=util_out.get(a) or util_in.get(b, ()),
        utilisation_b_to_a=util_in.get(a) or util_out.get(b, ()),
        alerts=alert_rows(views, lambda _: True, lang, data.timezone),
        errors=tuple(ask.errors),
    )


def _by_target(series: Iterable[RangeSeries]) -> dict[str, Points]:
    return {s.labels.get("target", ""): s.points for s in series}


def _concerns(labels: Labels, link: Link) -> bool:
    """An alert of the link: labelled with it, with its redundancy group, or on an end's interface."""
    if labels.get("link") == link.name:
        return True
    if link.group is not None and labels.get("link_group") == link.group:
        return True
    return any(labels.get("target") == e.device and labels.get("ifname") == e.interface for e in (link.a, link.b))


def traffic_figure(report: LinkReport, lang: str, tz: str) -> go.Figure:
    """Bits per second both ways, with the link's bandwidth as a dashed line when configured."""
    a, b = (report.link.a.device, report.link.b.device) if report.link else ("", "")
    figure = series_figure(
        [
            (t("link.direction", lang, source=a, target=b), report.a_to_b),
            (t("link.direction", lang, source=b, target=a), report.b_to_a),
        ],
        lang,
        tz,
        y_title=t("link.bps", lang),
    )
    bandwidth = report.link.bandwidth_bps if report.link else None
    if bandwidth:
        figure.add_trace(
            go.Scatter(
                x=[local_time(report.tr.start, tz), local_time(report.tr.end, tz)],
                y=[bandwidth, bandwidth],
                name=t("link.bandwidth", lang),
                mode="lines",
                line={"dash": "dash"},
            )
        )
    figure.update_layout(showlegend=True)
    return figure


def utilisation_figure(report: LinkReport, lang: str, tz: str) -> go.Figure:
    """Utilisation of the bandwidth both ways, as percentages."""
    a, b = (report.link.a.device, report.link.b.device) if report.link else ("", "")
    figure = series_figure(
        [
            (t("link.direction", lang, source=a, target=b), report.utilisation_a_to_b),
            (t("link.direction", lang, source=b, target=a), report.utilisation_b_to_a),
        ],
        lang,
        tz,
        percent=True,
    )
    figure.update_layout(showlegend=True)
    return figure
