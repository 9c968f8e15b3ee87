"""The device page's logic over a fake data facade: the time range picker's steps, the device's
state, its interfaces' rows and sparklines, host metrics, probes, alerts and refused queries."""

from __future__ import annotations

from alerts.explain import AlertView, Mute, MuteReason
from alerts.model import Alert, AlertState
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
from dashboards.views.states import State
from dashboards.views.timerange import TimeRange, over, time_range
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
