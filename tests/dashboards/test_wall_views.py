"""The wall's view functions (dashboards/views/wall.py, topology.py) over a fake data facade: exact
tiles, states and counts for a small estate, the ticker, the console's health, the map's links, and
a refresh that stays small with 5,000 alerts firing."""

from __future__ import annotations

import json

import plotly.io as pio  # type: ignore[import-untyped]

from alerts.acks import Acknowledgement
from alerts.explain import AlertView, Mute, MuteReason
from alerts.model import Alert, AlertState
from dashboards.http import ComponentHealth, HealthReport
from dashboards.views import wall
from dashboards.views.states import State
from dashboards.views.topology import MapState, link_look, positions, topology_figure
from model import Device, Inventory, Labels, Link, LinkEnd, Site, System
from store.query.result import InstantSample, QueryResult
from tests.dashboards.fakes import T0, FakeData


def estate() -> Inventory:
    """Two centres linked by east-west-1, an office behind each (office-01 from the east)."""

    def device(name: str, site: str, system: str, role: str, *parents: str) -> Device:
        return Device(name, site, system, role, "127.0.0.1", parents=parents)

    def link(name: str, a: str, b: str) -> Link:
        return Link(name, LinkEnd(a, "Gi0/1"), LinkEnd(b, "Se0/0/0"), parents=(a,))

    return Inventory(
        sites=(
            Site("dc-east", "東日本センター"),
            Site("dc-west", "西日本センター"),
            Site("office-01", "札幌東社会保険事務所"),
            Site("office-02", "旭川社会保険事務所"),
        ),
        systems=(
            System("records", "記録管理システム"),
            System("kiso", "基礎年金番号管理システム"),
            System("wan", "拠点間回線（WAN）"),
        ),
        devices=(
            device("rtr-east-01", "dc-east", "records", "router"),
            device("srv-records-01", "dc-east", "records", "server", "rtr-east-01"),
            device("rtr-west-01", "dc-west", "kiso", "router", "east-west-1"),
            device("srv-kiso-01", "dc-west", "kiso", "server", "rtr-west-01"),
            device("rtr-office-01", "office-01", "wan", "router", "office-01"),
            device("rtr-office-02", "office-02", "wan", "router", "office-02"),
        ),
        links=(
            link("east-west-1", "rtr-east-01", "rtr-west-01"),
            link("office-01", "rtr-east-01", "rtr-office-01"),
            link("office-02", "rtr-west-01", "rtr-office-02"),
        ),
    )


def alert(
    name: str,
    severity: str,
    fired_at: float | None,
    *,
    mutes: tuple[Mute, ...] = (),
    by: str = "",
    state: AlertState = AlertState.FIRING,
    resolved_at: float | None = None,
    **labels: str,
) -> AlertView:
    a = Alert(
        Labels(labels, alertname=name, severity=severity),
        Labels(summary=f"{name} summary", summary_ja=f"{name} 概要"),
        state,
        active_at=(fired_at or T0) - 60,
        value=1.0,
        fired_at=fired_at,
        resolved_at=resolved_at,
    )
    ack = Acknowledgement(a.fingerprint, by, "", T0 - 10) if by else None
    return AlertView(a, mutes, (), ack, False)


SUPPRESSED = (Mute(MuteReason.SUPPRESSED, "suppressed by WanLinkDown office-01"),)
MAINTENANCE = (Mute(MuteReason.MAINTENANCE, "in maintenance kiso-patch"),)


def vector(label: str, values: dict[str, float]) -> QueryResult:
    return QueryResult("vector", vector=tuple(InstantSample(Labels({label: k}), T0, v) for k, v in values.items()))


def fake(alerts: list[AlertView] | None = None) -> FakeData:
    return FakeData(
        inventory_=estate(),
        alerts_=alerts
        if alerts is not None
        else [
            alert("WanLinkDown", "critical", T0 - 300, by="sato", link="office-01", scope="link"),
            alert(
                "DeviceDown",
                "critical",
                T0 - 200,
                mutes=SUPPRESSED,
                target="rtr-office-01",
                site="office-01",
                system="wan",
                scope="device",
            ),
            alert(
                "DeviceDown",
                "critical",
                T0 - 100,
                mutes=MAINTENANCE,
                target="srv-kiso-01",
                site="dc-west",
                system="kiso",
                scope="device",
            ),
            alert("CpuHigh", "warning", T0 - 50, target="srv-records-01", site="dc-east", system="records"),
            alert("CollectorBlind", "critical", T0 - 30, scope="console"),
            alert(
                "DeviceDown",
                "critical",
                None,
                state=AlertState.PENDING,
                target="rtr-east-01",
                site="dc-east",
                system="records",
            ),
            alert(
                "DeviceDown",
                "critical",
                T0 - 900,
                resolved_at=T0 - 60,
                target="rtr-west-01",
                site="dc-west",
                system="kiso",
            ),
        ],
        answers={
            wall.UNREACHABLE_EXPR: vector("target", {"rtr-office-02": 1.0}),
            wall.LINK_UP_EXPR: vector("link", {"east-west-1": 1.0, "office-01": 0.0, "office-02": 0.0}),
            wall.LINK_USE_EXPR: vector("link", {"east-west-1": 0.95, "office-02": 0.0}),
        },
    )


def test_site_tiles_show_the_worst_state_and_counts_of_firing_alerts() -> None:
    model = wall.wall_model(fake())
    assert model.sites == (
        wall.Tile("dc-east", "東日本センター", State.WARNING, firing=1, critical=0),
        wall.Tile("dc-west", "西日本センター", State.MAINTENANCE, firing=1, critical=0),
        wall.Tile("office-01", "札幌東社会保険事務所", State.CRITICAL, firing=2, critical=1),
        wall.Tile("office-02", "旭川社会保険事務所", State.UNREACHABLE, firing=0, critical=0),
    )


def test_system_tiles_take_link_alerts_from_the_far_end_and_unreachable_devices_from_the_store() -> None:
    model = wall.wall_model(fake())
    assert model.systems == (
        wall.Tile("records", "記録管理システム", State.WARNING, firing=1, critical=0),
        wall.Tile("kiso", "基礎年金番号管理システム", State.MAINTENANCE, firing=1, critical=0),
        wall.Tile("wan", "拠点間回線（WAN）", State.CRITICAL, firing=2, critical=1),
    )


def test_nodes_behind_a_cut_are_unreachable_and_alerts_decide_before_queries() -> None:
    model = wall.wall_model(fake())
    assert dict(model.map.nodes) == {
        "office-01": State.CRITICAL,
        "rtr-office-01": State.UNREACHABLE,
        "srv-kiso-01": State.MAINTENANCE,
        "srv-records-01": State.WARNING,
        "rtr-office-02": State.UNREACHABLE,
        "east-west-1": State.OK,
        "office-02": State.CRITICAL,
    }
    assert dict(model.map.link_use) == {"east-west-1": 0.95, "office-02": 0.0}


def test_the_ticker_shows_unmuted_critical_alerts_newest_first_with_acknowledgement() -> None:
    views = [
        alert("DeviceDown", "critical", T0 - 60 * i, target=f"srv-{i:02d}", site="dc-east", by="sato" if i == 1 else "")
        for i in range(1, 11)
    ]
    model = wall.wall_model(fake(views))
    assert [(i.node, i.fired_at, i.acknowledged_by) for i in model.ticker] == [
        ("srv-01", T0 - 60, "sato"),
        *((f"srv-{i:02d}", T0 - 60 * i, None) for i in range(2, 9)),
    ]
    assert model.critical_total == 10
    text = json.loads(pio.json.to_json_plotly(wall.ticker_children(model, "ja")[0]))
    spans = [span["props"]["children"] for span in text["props"]["children"]]
    assert spans == ["1分前", "DeviceDown 概要", "確認済み（sato）"]
    assert wall.ticker_children(model, "en")[-1].children == "2 more"


def test_age_is_written_in_the_largest_whole_unit() -> None:
    assert [wall.age_text(s, "ja") for s in (5, 61, 7200, 90000)] == ["5秒前", "1分前", "2時間前", "1日前"]
    assert [wall.age_text(s, "en") for s in (5, 61, 7200, 90000)] == ["5 s ago", "1 min ago", "2 h ago", "1 d ago"]


def test_health_is_critical_while_collector_blind_fires_or_a_component_fails() -> None:
    assert wall.wall_model(fake()).health == wall.Health(State.CRITICAL, (("store", True, ""),), ("CollectorBlind",))
    data = fake([alert("SchedulerSkippingRuns", "warning", T0, scope="console")])
    assert wall.wall_model(data).health.state is State.WARNING
    data.health_ = HealthReport({"scheduler": ComponentHealth(ok=False, detail="last heartbeat 90.0s ago")})
    assert wall.wall_model(data).health == wall.Health(
        State.CRITICAL, (("scheduler", False, "last heartbeat 90.0s ago"),), ("SchedulerSkippingRuns",)
    )


def test_a_failed_query_shows_in_the_health_instead_of_a_green_wall() -> None:
    data = fake([])
    del data.answers[wall.LINK_USE_EXPR]
    health = wall.wall_model(data).health
    assert health.state is State.CRITICAL
    expr = wall.LINK_USE_EXPR
    assert health.components[-1] == ("query", False, f"{expr}: no answer for {expr} in this test")


def test_link_looks_follow_state_then_utilisation() -> None:
    assert link_look(State.CRITICAL, 0.5) == ("critical", "dot", "state.critical")
    assert link_look(State.UNREACHABLE, None) == ("unreachable", "dash", "state.unreachable")
    assert link_look(State.MAINTENANCE, None) == ("maintenance", "solid", "state.maintenance")
    assert link_look(State.OK, 0.95) == ("full", "solid", "wall.map.full")
    assert link_look(State.OK, 0.7) == ("busy", "solid", "wall.map.busy")
    assert link_look(State.OK, 0.1) == ("ok", "solid", "wall.map.up")
    assert link_look(None, None) == ("unknown", "dot", "state.unknown")


def test_hubs_sit_on_the_middle_line_and_offices_fan_out_around_their_hub() -> None:
    place = positions(estate())
    assert place["dc-east"] == (-0.55, 0.0) and place["dc-west"] == (0.55, 0.0)
    assert place["office-01"][0] < -0.55 and place["office-02"][0] > 0.55


def test_the_map_draws_one_trace_per_link_look_then_link_labels_offices_and_centres() -> None:
    fig = topology_figure(
        estate(),
        MapState({"office-01": State.CRITICAL, "east-west-1": State.OK}, {"east-west-1": 0.95}),
        {"office-01": State.CRITICAL},
        "en",
    )
    lines = [(tr.line.color, tr.line.dash, len(tr.x)) for tr in fig.data[:-3]]
    assert lines == [("#d64545", "dot", 3), ("#ff7a1a", "solid", 3), ("#6b7785", "dot", 3)]
    assert list(fig.data[-3].hovertext) == [
        "Link east-west-1: Up (utilisation 90% or more) (utilisation 95%)",
        "Link office-01: Critical (utilisation —)",
        "Link office-02: Unknown (utilisation —)",
    ]
    offices, centres = fig.data[-2:]
    assert list(offices.text) == ["札幌東社会保険事務所", "旭川社会保険事務所"]
    assert list(offices.marker.symbol) == ["x", "circle"]
    assert list(centres.text) == ["東日本センター", "西日本センター"]
    assert list(centres.marker.symbol) == ["circle", "circle"]


def test_a_refresh_with_5000_alerts_firing_stays_under_50_kilobytes() -> None:
    views = [
        alert(
            "DeviceDown" if i % 2 else "CpuHigh",
            "critical" if i % 2 else "warning",
            T0 - i,
            mutes=SUPPRESSED if i % 3 == 0 else (),
            target=f"srv-{i:04d}",
            site=("dc-east", "dc-west")[i % 2],
            system=("records", "kiso")[i % 2],
        )
        for i in range(5000)
    ]
    outputs = wall.refresh(fake(views), "ja")
    size = len(pio.json.to_json_plotly(outputs))  # what Dash sends: its JSON encoder is plotly's
    assert size < 50_000
    model = wall.wall_model(fake(views))
    assert model.sites[0] == wall.Tile("dc-east", "東日本センター", State.UNREACHABLE, firing=2500, critical=0)
    assert model.sites[1] == wall.Tile("dc-west", "西日本センター", State.CRITICAL, firing=2500, critical=1667)
    assert len(model.ticker) == 8
