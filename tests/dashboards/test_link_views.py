"""The link page's logic over a fake data facade: the state of both ends, traffic both ways
against the bandwidth, utilisation, the link's alerts, and an unknown link."""

from __future__ import annotations

from alerts.explain import AlertView
from alerts.model import Alert, AlertState
from dashboards.views.explore import local_time
from dashboards.views.link import EndRow, end_state, link_report, traffic_figure, utilisation_figure
from dashboards.views.states import State
from dashboards.views.timerange import time_range
from model import Inventory, Labels, Link, LinkEnd
from store.query.result import InstantSample, QueryResult, RangeSeries
from tests.dashboards.fakes import T0, FakeData

LINK = Link(
    name="east-west-1",
    a=LinkEnd(device="rtr-east-01", interface="Gi0/1"),
    b=LinkEnd(device="rtr-west-01", interface="Gi0/1"),
    bandwidth_bps=1_000_000_000,
    group="east-west",
)
SEL = '{link="east-west-1"}'


def vector(*samples: tuple[dict[str, str], float]) -> QueryResult:
    return QueryResult("vector", vector=tuple(InstantSample(Labels(labels), T0, value) for labels, value in samples))


def matrix(*series: tuple[dict[str, str], list[tuple[float, float]]]) -> QueryResult:
    return QueryResult("matrix", matrix=tuple(RangeSeries(Labels(labels), tuple(points)) for labels, points in series))


def view(**labels: str) -> AlertView:
    alert = Alert(Labels(labels), Labels(summary="s"), AlertState.FIRING, T0, 1.0, fired_at=T0)
    return AlertView(alert=alert, mutes=(), groups=(), acknowledgement=None, flapping=False)


def fake(**answers: QueryResult) -> FakeData:
    base = {
        f"interface_oper_up{SEL}": vector(({"target": "rtr-east-01"}, 1.0), ({"target": "rtr-west-01"}, 0.0)),
        'target_unreachable{target="rtr-east-01"}': vector(({"target": "rtr-east-01"}, 0.0)),
        'target_unreachable{target="rtr-west-01"}': vector(),
        f"interface_in_bits_per_second{SEL}": matrix(({"target": "rtr-east-01"}, [(T0, 2e8)])),
        f"interface_out_bits_per_second{SEL}": matrix(({"target": "rtr-east-01"}, [(T0, 5e8)])),
        f"interface_utilisation_ratio{SEL}": matrix(
            ({"target": "rtr-east-01", "direction": "in"}, [(T0, 0.2)]),
            ({"target": "rtr-east-01", "direction": "out"}, [(T0, 0.5)]),
        ),
    }
    base.update(answers)
    alerts = [
        view(alertname="WanLinkDown", severity="critical", link="east-west-1"),
        view(alertname="LinkRedundancyLost", severity="warning", link_group="east-west"),
        view(alertname="InterfaceErrors", severity="warning", target="rtr-west-01", ifname="Gi0/1"),
        view(alertname="InterfaceErrors", severity="warning", target="rtr-west-01", ifname="Gi0/2"),
        view(alertname="WanLinkDown", severity="critical", link="office-01"),
    ]
    return FakeData(inventory_=Inventory(links=(LINK,)), answers=base, alerts_=alerts)


def test_an_end_is_unreachable_before_down_and_unknown_without_data() -> None:
    assert [
        end_state(up, unreachable) for up, unreachable in ((True, False), (False, False), (None, False), (False, True))
    ] == [
        State.OK,
        State.CRITICAL,
        State.UNKNOWN,
        State.UNREACHABLE,
    ]


def test_the_report_of_a_link_shows_both_ends_traffic_both_ways_and_its_alerts() -> None:
    report = link_report(fake(), "east-west-1", "1h", "en")
    assert report.ends == (
        EndRow("a", "rtr-east-01", "Gi0/1", True, False, State.OK),
        EndRow("b", "rtr-west-01", "Gi0/1", False, False, State.CRITICAL),
    )
    assert report.state == State.CRITICAL
    assert (report.a_to_b, report.b_to_a) == (((T0, 5e8),), ((T0, 2e8),))
    assert (report.utilisation_a_to_b, report.utilisation_b_to_a) == (((T0, 0.5),), ((T0, 0.2),))
    assert [(r.name, r.severity) for r in report.alerts] == [
        ("WanLinkDown", State.CRITICAL),
        ("LinkRedundancyLost", State.WARNING),
        ("InterfaceErrors", State.WARNING),
    ]
    assert report.errors == ()


def test_traffic_comes_from_the_far_end_when_the_near_end_has_no_data() -> None:
    data = fake(
        **{
            f"interface_in_bits_per_second{SEL}": matrix(({"target": "rtr-west-01"}, [(T0, 3e8)])),
            f"interface_out_bits_per_second{SEL}": matrix(({"target": "rtr-west-01"}, [(T0, 1e8)])),
        }
    )
    report = link_report(data, "east-west-1", "1h", "en")
    assert (report.a_to_b, report.b_to_a) == (((T0, 3e8),), ((T0, 1e8),))


def test_the_traffic_figure_has_both_directions_and_the_bandwidth_line() -> None:
    report = link_report(fake(), "east-west-1", "6h", "ja")
    figure = traffic_figure(report, "ja", "Asia/Tokyo")
    tr = time_range("6h", T0)
    assert [(trace.name, list(trace.y)) for trace in figure.data] == [
        ("rtr-east-01 → rtr-west-01", [5e8]),
        ("rtr-west-01 → rtr-east-01", [2e8]),
        ("帯域", [1e9, 1e9]),
    ]
    assert list(figure.data[2].x) == [local_time(tr.start, "Asia/Tokyo"), local_time(tr.end, "Asia/Tokyo")]
    utilisation = utilisation_figure(report, "ja", "Asia/Tokyo")
    assert [list(trace.y) for trace in utilisation.data] == [[0.5], [0.2]]
    assert utilisation.layout.yaxis.tickformat == ".0%"


def test_a_refused_query_is_shown_with_the_engines_message() -> None:
    data = fake()
    del data.answers[f"interface_utilisation_ratio{SEL}"]
    report = link_report(data, "east-west-1", "1h", "en")
    assert report.errors == (
        f"interface_utilisation_ratio{SEL}: no answer for interface_utilisation_ratio{SEL} in this test",
    )


def test_an_unknown_link_is_reported_as_not_in_the_inventory_without_asking_the_engine() -> None:
    data = fake()
    report = link_report(data, "west-east-9", "1h", "en")
    assert (report.link, report.ends, data.calls) == (None, (), [])
