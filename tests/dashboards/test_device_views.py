"""The device page's logic over a fake data facade: the time range picker's steps, the device's
state, its interfaces' rows and sparklines, host metrics, probes, alerts and refused queries; and
the auto refresh the device and link pages share (dashboards/views/named.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import dash
import flask
import plotly.graph_objects as go  # no stubs
from dash import Output, Patch, dcc, html

from alerts.explain import AlertView, Mute, MuteReason
from alerts.model import Alert, AlertState
from dashboards import ids
from dashboards.views.device import (
    AlertRow,
    InterfaceRow,
    ProbeRow,
    alert_rows,
    device_report,
    device_state,
    format_bps,
    history_figure,
    host_figure,
    quote,
    sparkline,
)
from dashboards.views.named import (
    REFRESH_EVERY_KEY,
    Asked,
    NamedIds,
    Redraw,
    RefreshView,
    callback_args,
    decide,
    empty_figure,
    every_text,
    graph,
    keep_zoom,
    named_page,
    paused,
    refresh,
    refresh_interval_ms,
    refresh_view,
    refreshed_text,
    section_class,
)
from dashboards.views.states import State
from dashboards.views.timerange import RANGES, TimeRange, over, time_range
from model import Device, Inventory, Labels, PingProbeSpec, SnmpCollectorSpec
from store.query.result import InstantSample, QueryResult, RangeSeries
from tests.dashboards.fakes import T0, FakeData

RTR = Device(
    name="rtr-east-01",
    site="dc-east",
    system="records",
    role="router",
    address="127.0.0.1",
    collectors=(
        SnmpCollectorSpec(kind="snmp", interval=30, timeout=10),
        PingProbeSpec(kind="ping", interval=30, timeout=10, probe_timeout=5),
    ),
)
SEL = '{target="rtr-east-01"}'


def vector(*samples: tuple[dict[str, str], float]) -> QueryResult:
    return QueryResult("vector", vector=tuple(InstantSample(Labels(labels), T0, value) for labels, value in samples))


def matrix(*series: tuple[dict[str, str], list[tuple[float, float]]]) -> QueryResult:
    return QueryResult("matrix", matrix=tuple(RangeSeries(Labels(labels), tuple(points)) for labels, points in series))


def view(
    name: str, severity: str, state: AlertState = AlertState.FIRING, *, at: float = T0, mutes: tuple[Mute, ...] = ()
) -> AlertView:
    labels = Labels(alertname=name, severity=severity, target="rtr-east-01")
    annotations = Labels(summary=f"{name} in English", summary_ja=f"{name} 日本語")
    fired = at if state is AlertState.FIRING else None
    alert = Alert(labels=labels, annotations=annotations, state=state, active_at=at, value=1.0, fired_at=fired)
    return AlertView(alert=alert, mutes=mutes, groups=(), acknowledgement=None, flapping=False)


# -- time ranges ---------------------------------------------------------------------------------


def test_each_range_asks_at_most_300_points_with_a_step_of_its_own() -> None:
    steps = {key: (time_range(key, T0).step, time_range(key, T0).points) for key in ("1h", "6h", "24h", "7d", "30d")}
    assert steps == {"1h": (15, 241), "6h": (120, 181), "24h": (300, 289), "7d": (3600, 169), "30d": (10800, 241)}


def test_a_range_ends_at_now_rounded_down_to_its_step_and_an_unknown_key_is_the_hour() -> None:
    assert time_range("6h", 1_800_000_100.0) == TimeRange("6h", 1_800_000_000.0 - 21600, 1_800_000_000.0, 120.0)
    assert time_range("2y", T0) == time_range("1h", T0)
    assert time_range(None, T0).key == "1h"


def test_long_ranges_read_over_time_windows_that_rollups_answer_and_short_ones_raw_samples() -> None:
    assert over(time_range("6h", T0), "avg", "cpu_utilisation_ratio") == "cpu_utilisation_ratio"
    assert over(time_range("24h", T0), "min", "up") == "min_over_time(up[300s])"
    assert over(time_range("30d", T0), "avg", "x") == "avg_over_time(x[10800s])"


# -- small pieces --------------------------------------------------------------------------------


def test_a_sparkline_keeps_each_buckets_peak_and_leaves_gaps_blank() -> None:
    assert sparkline([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.0, 7.0, None, None, 3.5, 0.0], width=3) == "█ ▅"
    assert sparkline([1.0, 0.0, 1.0], high=1.0) == "█▁█"
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert sparkline([]) == ""
    assert sparkline([None, None]) == ""


def test_bits_per_second_are_written_with_an_si_prefix() -> None:
    assert [format_bps(v, "ja") for v in (None, 950.0, 2_500_000.0, 1e9)] == [
        "–",
        "950 bit/s",
        "2.5 Mbit/s",
        "1.0 Gbit/s",
    ]


def test_names_are_quoted_as_promql_strings() -> None:
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


# -- state ---------------------------------------------------------------------------------------


def test_the_state_of_a_device_follows_its_collectors_reachability_and_alerts() -> None:
    assert device_state([1.0, 1.0], False, []) == State.OK
    assert device_state([1.0, 0.0], False, []) == State.WARNING
    assert device_state([0.0, 0.0], False, []) == State.CRITICAL
    assert device_state([0.0], True, []) == State.UNREACHABLE
    assert device_state([], False, []) == State.UNKNOWN
    assert device_state([1.0], False, [view("CpuHigh", "critical")]) == State.CRITICAL
    assert device_state([1.0], False, [view("CpuHigh", "critical", AlertState.PENDING)]) == State.OK


def test_a_device_in_a_maintenance_window_shows_maintenance_not_down() -> None:
    muted = view("DeviceDown", "critical", mutes=(Mute(MuteReason.MAINTENANCE, "in maintenance night-batch"),))
    assert device_state([0.0], False, [muted]) == State.MAINTENANCE


def test_alert_rows_put_firing_first_then_severity_then_newest_in_the_users_language() -> None:
    views = [
        view("Old", "warning", at=T0 - 600),
        view("Pending", "critical", AlertState.PENDING),
        view("New", "warning", at=T0),
        view(
            "Worst",
            "critical",
            at=T0 - 3600,
            mutes=(
                Mute(
                    MuteReason.SILENCED,
                    "silenced by #3 (yamada: disk swap)",
                    "3",
                    args=(("id", "3"), ("by", "yamada"), ("comment", "disk swap")),
                ),
            ),
        ),
    ]
    rows = alert_rows(views, lambda labels: True, "ja", "Asia/Tokyo")
    assert [(r.name, r.state, r.severity) for r in rows] == [
        ("Worst", "firing", State.CRITICAL),
        ("New", "firing", State.WARNING),
        ("Old", "firing", State.WARNING),
        ("Pending", "pending", State.CRITICAL),
    ]
    assert rows[0] == AlertRow(
        State.CRITICAL,
        "firing",
        "Worst",
        "Worst 日本語",
        "2027年1月15日 16:00",
        ("サイレンス #3 により抑止（yamada: disk swap）",),
    )
    assert alert_rows(views[:1], lambda labels: True, "en", "Asia/Tokyo")[0].summary == "Old in English"


# -- the whole report ----------------------------------------------------------------------------


def data_with_answers() -> FakeData:
    tr = time_range("1h", T0)
    t1, t2 = tr.end - 600, tr.end
    iface = {"target": "rtr-east-01", "ifindex": "2", "ifname": "Gi0/1", "ifalias": "east-west", "link": "east-west-1"}
    lo = {"target": "rtr-east-01", "ifindex": "1", "ifname": "Gi0/0"}
    answers = {
        f"up{SEL}": vector(({"collector": "snmp", "target": "rtr-east-01"}, 1.0), ({"collector": "ping"}, 0.0)),
        f"target_unreachable{SEL}": vector(({"target": "rtr-east-01"}, 0.0)),
        f"min by (target) (up{SEL})": matrix(({"target": "rtr-east-01"}, [(t1, 1.0), (t2, 0.0)])),
        f"interface_oper_up{SEL}": matrix((iface, [(t1, 1.0), (t2, 0.0)]), (lo, [(t2, 1.0)])),
        f"interface_in_bits_per_second{SEL}": matrix((iface, [(t1, 2e6), (t2, 4e6)])),
        f"interface_out_bits_per_second{SEL}": matrix((iface, [(t1, 1e6), (t2, 8e6)])),
        f"sum by (ifname) (interface_errors_per_second{SEL})": matrix(({"ifname": "Gi0/1"}, [(t1, 0.0), (t2, 0.5)])),
        f"cpu_utilisation_ratio{SEL}": matrix(({"target": "rtr-east-01"}, [(t2, 0.25)])),
        f"filesystem_utilisation_ratio{SEL}": matrix(({"mountpoint": "/var"}, [(t2, 0.5)])),
        '{__name__=~"probe_.+",target="rtr-east-01"}': vector(
            ({"__name__": "probe_rtt_seconds", "stat": "avg"}, 0.002), ({"__name__": "probe_success"}, 0.0)
        ),
    }
    return FakeData(inventory_=Inventory(devices=(RTR,)), answers=answers, alerts_=[view("DeviceDown", "critical")])


def test_the_report_of_a_device_lists_its_interfaces_host_metrics_probes_and_alerts() -> None:
    report = device_report(data_with_answers(), "rtr-east-01", "1h", "en")
    assert report.state == State.CRITICAL
    assert report.collectors == (("ping", False), ("snmp", True))
    assert report.history == ((T0 - 600, 1.0), (T0, 0.0))

    # 241 points in 27 buckets of 9: T0 - 600 falls in bucket 22, T0 in bucket 26 (the last)
    def spark(at_22: str, at_26: str) -> str:
        return " " * 22 + at_22 + "   " + at_26

    assert report.interfaces == (
        InterfaceRow("Gi0/0", "", "", True, None, None, None, "", "", "", " " * 26 + "█"),
        InterfaceRow(
            "Gi0/1",
            "east-west",
            "east-west-1",
            False,
            4e6,
            8e6,
            0.5,
            spark("▃", "▅"),
            spark("▂", "█"),
            spark("▁", "█"),
            spark("█", "▁"),
        ),
    )
    assert report.host == (("cpu", ((T0, 0.25),)), ("fs:/var", ((T0, 0.5),)))
    assert report.probes == (ProbeRow("ping", False),)
    assert report.probe_details == (("probe_rtt_seconds (stat=avg)", 0.002), ("probe_success", 0.0))
    assert [r.name for r in report.alerts] == ["DeviceDown"]
    assert report.errors == (
        f"memory_utilisation_ratio{SEL}: no answer for memory_utilisation_ratio{SEL} in this test",
    )


def test_an_unknown_device_is_reported_as_not_in_the_inventory_without_asking_the_engine() -> None:
    data = data_with_answers()
    report = device_report(data, "rtr-nowhere", "6h", "ja")
    assert (report.device, report.interfaces, report.errors, data.calls) == (None, (), (), [])


def test_a_long_range_asks_for_rollup_windows() -> None:
    data = FakeData(inventory_=Inventory(devices=(RTR,)))
    report = device_report(data, "rtr-east-01", "7d", "en")
    assert report.tr.step == 3600
    assert f"min by (target) (min_over_time(up{SEL}[3600s]))" in data.calls
    assert f"avg_over_time(interface_in_bits_per_second{SEL}[3600s])" in data.calls


def test_the_history_figure_is_a_step_line_written_up_and_down() -> None:
    figure = history_figure([(T0 - 15, 1.0), (T0, 0.0)], "ja", "Asia/Tokyo")
    assert [(trace.name, list(trace.y), trace.line.shape) for trace in figure.data] == [("稼働", [1.0, 0.0], "hv")]
    assert list(figure.layout.yaxis.ticktext) == ["停止", "稼働"]


def test_the_host_figure_draws_each_metric_as_a_percentage() -> None:
    figure = host_figure([("cpu", [(T0, 0.25)]), ("fs:/var", [(T0, 0.5)])], "en", "Asia/Tokyo")
    assert [(trace.name, list(trace.y)) for trace in figure.data] == [
        ("CPU utilisation", [0.25]),
        ("Filesystem utilisation /var", [0.5]),
    ]
    assert figure.layout.yaxis.tickformat == ".0%"


# -- auto refresh (the device and link pages) -----------------------------------------------------

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


def test_ranges_up_to_a_day_refresh_every_30_s_and_the_rollup_ranges_every_5_minutes() -> None:
    assert {key: refresh_interval_ms(key) for key in RANGES} == {
        "1h": 30_000,
        "6h": 30_000,
        "24h": 30_000,
        "7d": 300_000,
        "30d": 300_000,
    }
    assert refresh_interval_ms("2y") == 30_000
    assert refresh_interval_ms(None) == 30_000


def test_an_interval_set_on_the_app_applies_to_every_range() -> None:
    assert [refresh_interval_ms(key, 250) for key in ("1h", "30d")] == [250, 250]


def test_odd_clicks_on_the_toggle_pause_the_auto_refresh() -> None:
    assert [paused(clicks) for clicks in (None, 0, 1, 2, 3)] == [False, False, True, False, True]


def test_a_page_is_drawn_afresh_for_a_new_range_redrawn_on_a_tick_or_resume_and_left_while_paused() -> None:
    tick, pause = ids.DEVICE_TICK, ids.DEVICE_PAUSE
    cases = [
        Asked(None, "1h", 0, None),
        Asked(tick, "1h", 0, None),  # a tick that replaced the first answer
        Asked(ids.RANGE, "6h", 0, "1h"),
        Asked(ids.RANGE, "6h", 1, "1h"),  # picked while paused: drawn afresh all the same
        Asked(tick, "6h", 1, "1h"),  # a tick that replaced the range's answer
        Asked(tick, "6h", 0, "6h"),
        Asked(tick, "6h", 1, "6h"),
        Asked(pause, "6h", 1, "6h"),
        Asked(pause, "6h", 2, "6h"),
        Asked(ids.RANGE, "2y", 0, "1h"),  # an unknown range is the hour
    ]
    assert [decide(asked, IDS) for asked in cases] == [
        Redraw.OPENED,
        Redraw.OPENED,
        Redraw.RANGE_PICKED,
        Redraw.RANGE_PICKED,
        Redraw.RANGE_PICKED,
        Redraw.INTERVAL_ELAPSED,
        Redraw.TICK_WHILE_PAUSED,
        Redraw.PAUSED,
        Redraw.RESUMED,
        Redraw.INTERVAL_ELAPSED,
    ]
    assert [r for r in Redraw if not r.draws] == [Redraw.PAUSED, Redraw.TICK_WHILE_PAUSED]
    assert [r for r in Redraw if r.fresh] == [Redraw.OPENED, Redraw.RANGE_PICKED]


def test_the_refresh_controls_say_how_often_or_paused_in_the_users_language() -> None:
    assert refresh_view(False, 30_000, "en") == RefreshView("Auto refresh every 30 s", "Pause", "refresh-toggle")
    assert refresh_view(False, 300_000, "ja") == RefreshView("自動更新 5分ごと", "一時停止", "refresh-toggle")
    assert refresh_view(True, 30_000, "en") == RefreshView("Auto refresh paused", "Resume", "refresh-toggle paused")
    assert refresh_view(True, 300_000, "ja") == RefreshView("自動更新を一時停止中", "再開", "refresh-toggle paused")
    assert [every_text(ms, "en") for ms in (500, 90_000, 120_000)] == [
        "Auto refresh every 0.5 s",
        "Auto refresh every 90 s",
        "Auto refresh every 2 min",
    ]


def test_last_refreshed_is_written_to_the_second_in_the_users_language_and_the_consoles_time_zone() -> None:
    assert refreshed_text(T0 + 5, "en", "Asia/Tokyo") == "Last refreshed 15 Jan 2027 17:00:05"
    assert refreshed_text(T0 + 5, "ja", "Asia/Tokyo") == "最終更新 2027年1月15日 17:00:05"
    assert refreshed_text(T0 + 5, "en", "UTC") == "Last refreshed 15 Jan 2027 08:00:05"


def test_a_graph_keeps_the_users_zoom_while_the_range_stays_the_same() -> None:
    figure = keep_zoom(history_figure([(T0, 1.0)], "en", "Asia/Tokyo"), "6h")
    assert figure.layout.uirevision == "6h"
    drawn = graph(ids.DEVICE_HISTORY_GRAPH, empty_figure("en", "Asia/Tokyo"))
    assert (drawn.id, drawn.config, drawn.figure.layout.template.layout.paper_bgcolor) == (
        ids.DEVICE_HISTORY_GRAPH,
        {"displayModeBar": False},
        "rgb(17,17,17)",
    )


def test_a_section_only_some_things_have_is_hidden_not_removed() -> None:
    assert [section_class(True), section_class(False)] == ["named-section", "named-section hidden"]


def parts(component: object) -> list[object]:
    """`component` and every component under it (not their texts), depth first."""
    found: list[object] = []
    stack = [component]
    while stack:
        item = stack.pop()
        found.append(item)
        kids = getattr(item, "children", None)
        stack.extend(
            k for k in (kids if isinstance(kids, list) else [kids]) if k is not None and not isinstance(k, str)
        )
    return found


def test_a_known_names_page_ticks_by_its_range_and_has_no_loading_overlay_to_blank_it() -> None:
    body = [html.Div(id=ids.DEVICE_STATE)]
    with flask.Flask("named").app_context():
        page = named_page("device", "rtr-east-01", True, "30d", "en", page_ids=IDS, sections=lambda: body)
    found = parts(page)
    tick = next(p for p in found if isinstance(p, dcc.Interval))
    assert (tick.id, tick.interval, tick.n_intervals) == (ids.DEVICE_TICK, 300_000, 0)
    assert not any(isinstance(p, dcc.Loading) for p in found)
    button = next(p for p in found if isinstance(p, html.Button))
    assert (button.id, button.children, button.n_clicks) == (ids.DEVICE_PAUSE, "Pause", 0)
    every = next(p for p in found if getattr(p, "id", None) == ids.DEVICE_EVERY)
    assert every.children == "Auto refresh every 5 min"
    assert next(p for p in found if getattr(p, "id", None) == ids.DEVICE_BODY).children == body


def test_an_unknown_names_page_has_no_refresh_and_no_body() -> None:
    page = named_page("link", "west-east-9", False, None, "en", page_ids=IDS, sections=lambda: [html.Div("x")])
    assert [type(p).__name__ for p in parts(page)] == ["Div", "P", "H1"]  # the page, its message, its title


BODY: dict[str, object] = {"state": "up", "history": "drawn"}
"""What a fake page draws in its slots."""
SLOTS = tuple(BODY)


RUNNING = {
    "interval": 300_000,
    "paused": False,
    "every": "Auto refresh every 5 min",
    "toggle": "Pause",
    "toggle_class": "refresh-toggle",
}
PAUSED_JA = {
    "interval": 300_000,
    "paused": True,
    "every": "自動更新を一時停止中",
    "toggle": "再開",
    "toggle_class": "refresh-toggle paused",
}
LEFT = {"body": {"state": dash.no_update, "history": dash.no_update}, "search": dash.no_update}


def answer(asked: Asked, lang: str = "en", draw: Callable[[], dict[str, object]] = lambda: BODY) -> dict[str, object]:
    with flask.Flask("named").app_context():
        return refresh(IDS, SLOTS, asked, lang, FakeData(t=T0 + 5), draw)


def test_an_opened_page_is_drawn_with_its_range_in_the_url_and_its_refresh_controls() -> None:
    assert (
        answer(Asked(None, "7d", 0, None))
        == {
            "body": BODY,
            "search": "?range=7d",
            "refreshed": "Last refreshed 15 Jan 2027 17:00:05",
            "drawn": "7d",
        }
        | RUNNING
    )


def test_a_tick_redraws_the_body_and_says_when() -> None:
    assert (
        answer(Asked(ids.DEVICE_TICK, "7d", 2, "7d"))
        == {
            "body": BODY,
            "search": dash.no_update,
            "refreshed": "Last refreshed 15 Jan 2027 17:00:05",
            "drawn": dash.no_update,
        }
        | RUNNING
    )


def test_a_paused_page_is_left_as_it_is_and_even_a_late_tick_says_paused() -> None:
    drawn: list[str] = []

    def draw() -> dict[str, object]:
        drawn.append("body")
        return BODY

    stopped = answer(Asked(ids.DEVICE_PAUSE, "7d", 3, "7d"), "ja", draw)
    late_tick = answer(Asked(ids.DEVICE_TICK, "7d", 3, "7d"), "ja", draw)
    assert stopped == late_tick == LEFT | {"refreshed": dash.no_update, "drawn": dash.no_update} | PAUSED_JA
    assert drawn == []


def test_an_interval_set_on_the_app_is_what_a_picked_range_ticks_by_and_a_paused_page_stays_paused() -> None:
    app = flask.Flask("named")
    app.extensions[REFRESH_EVERY_KEY] = 250
    with app.app_context():
        picked = refresh(IDS, SLOTS, Asked(ids.RANGE, "30d", 3, "7d"), "en", FakeData(), lambda: BODY)
    assert (picked["search"], picked["drawn"], picked["interval"], picked["paused"]) == ("?range=30d", "30d", 250, True)


def test_a_new_page_or_range_draws_graphs_afresh_and_a_tick_or_resume_gives_new_traces_only() -> None:
    def draw() -> dict[str, object]:
        return {"state": "up", "history": keep_zoom(history_figure([(T0, 1.0)], "en", "UTC"), "1h")}

    def graph_slot(asked: Asked) -> object:
        body = answer(asked, "en", draw)["body"]
        assert isinstance(body, dict)
        return body["history"]

    trace = {"line": {"shape": "hv"}, "mode": "lines", "name": "Up", "x": [datetime(2027, 1, 15, 8)], "y": [1.0]}
    for asked in (Asked(ids.DEVICE_TICK, "1h", 0, "1h"), Asked(ids.DEVICE_PAUSE, "1h", 2, "1h")):
        patch = graph_slot(asked)
        assert isinstance(patch, Patch)
        assert patch.to_plotly_json()["operations"] == [
            {"operation": "Assign", "location": ["data"], "params": {"value": [trace | {"type": "scatter"}]}}
        ]
    for asked in (Asked(None, "1h", 0, None), Asked(ids.RANGE, "1h", 0, "6h")):
        figure = graph_slot(asked)
        assert isinstance(figure, go.Figure)
        assert figure.layout.uirevision == "1h"


def test_the_callback_declares_the_pages_slots_and_the_refresh_controls() -> None:
    args = callback_args(IDS, {"state": Output(ids.DEVICE_STATE, "children")})
    outputs = {k: (v if isinstance(v, dict) else str(v)) for k, v in args["output"].items()}
    assert outputs == {
        "body": {"state": Output(ids.DEVICE_STATE, "children")},
        "search": "device-url.search",
        "refreshed": "device-refreshed.children",
        "drawn": "device-drawn.data",
        "interval": "device-tick.interval",
        "paused": "device-tick.disabled",
        "every": "device-every.children",
        "toggle": "device-pause.children",
        "toggle_class": "device-pause.className",
    }
    assert {k: str(v) for k, v in args["inputs"].items()} == {
        "key": "range.value",
        "ticks": "device-tick.n_intervals",
        "clicks": "device-pause.n_clicks",
        "drawn": "device-drawn.data",
        "name": "device-name.data",
    }
