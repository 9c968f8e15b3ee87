"""The wall's view functions (dashboards/views/wall.py, topology.py) over a fake data facade: exact
tiles, states and counts for a small estate, the ticker, the console's health, the map's links, and
a refresh that stays small with 5,000 alerts firing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import plotly.io as pio  # type: ignore[import-untyped]
from dash import Patch, no_update

import config
from alerts.acks import Acknowledgement
from alerts.explain import AlertView, Mute, MuteReason
from alerts.model import Alert, AlertState
from benchmarks.web_estate import interfaces, scaled_inventory, storm
from dashboards.http import ComponentHealth, HealthReport
from dashboards.views import wall
from dashboards.views.states import State
from dashboards.views.topology import (
    CENTRES,
    LOOKS,
    MIDS,
    OFFICES,
    MapState,
    geometry,
    link_look,
    paint,
    positions,
    topology_figure,
)
from demo.estate import build
from model import Device, Inventory, Labels, Link, LinkEnd, Site, System
from store.query.result import InstantSample, QueryResult
from tests.dashboards.fakes import T0, FakeData

SHIPPED_DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


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
    assert link_look(State.CRITICAL, 0.5) == ("critical", "dot")
    assert link_look(State.UNREACHABLE, None) == ("unreachable", "dash")
    assert link_look(State.MAINTENANCE, None) == ("maintenance", "solid")
    assert link_look(State.OK, 0.95) == ("full", "solid")
    assert link_look(State.OK, 0.7) == ("busy", "solid")
    assert link_look(State.OK, 0.1) == ("ok", "solid")
    assert link_look(None, None) == ("unknown", "dot")
    assert {link_look(s, u) for s in (*State, None) for u in (None, 0.1, 0.7, 0.95)} == set(LOOKS)


def test_hubs_sit_on_the_middle_line_and_offices_fan_out_around_their_hub() -> None:
    place = positions(estate())
    assert place["dc-east"] == (-0.55, 0.0) and place["dc-west"] == (0.55, 0.0)
    assert place["office-01"][0] < -0.55 and place["office-02"][0] > 0.55


def test_the_map_draws_one_trace_per_link_look_then_link_labels_offices_and_centres() -> None:
    geo = geometry(estate())
    state = MapState(
        {"office-01": State.CRITICAL, "east-west-1": State.OK}, {"east-west-1": 0.95}, {"office-01": State.CRITICAL}
    )
    fig = topology_figure(geo, paint(geo, state), "en")
    assert [(tr.line.color, tr.line.dash, len(tr.x)) for tr in fig.data[:MIDS]] == [
        ("#2e9e5b", "solid", 0),
        ("#e0a100", "solid", 0),
        ("#ff7a1a", "solid", 3),  # east-west-1, 95 % used
        ("#e0a100", "solid", 0),
        ("#4a86c5", "solid", 0),
        ("#7b61c9", "dash", 0),
        ("#d64545", "dot", 3),  # office-01, down
        ("#6b7785", "dot", 3),  # office-02, nothing known
    ]
    assert fig.data[6].x == (-0.55, -1.35, None)
    mids = fig.data[MIDS]
    assert list(mids.text) == ["95%", "✖", "?"]
    assert list(mids.hovertemplate) == [
        "Link east-west-1: %{text}<extra></extra>",
        "Link office-01: %{text}<extra></extra>",
        "Link office-02: %{text}<extra></extra>",
    ]
    offices, centres = fig.data[OFFICES], fig.data[CENTRES]
    assert list(offices.text) == ["札幌東社会保険事務所", "旭川社会保険事務所"]
    assert list(offices.marker.symbol) == ["x", "circle"]
    assert list(centres.text) == ["東日本センター", "西日本センター"]
    assert list(centres.marker.symbol) == ["circle", "circle"]


def test_sites_beyond_the_panel_fold_up_sites_per_centre_and_the_least_bad_into_one_tile() -> None:
    inventory = estate()
    tiles = wall.wall_model(fake()).sites
    assert wall.fold_sites(tiles, inventory, 4) == tiles
    assert wall.fold_sites(tiles, inventory, 3) == (
        wall.Tile("office-01", "札幌東社会保険事務所", State.CRITICAL, firing=2, critical=1),
        wall.Tile("office-02", "旭川社会保険事務所", State.UNREACHABLE, firing=0, critical=0),
        wall.Tile("more", "", State.WARNING, firing=2, critical=0, folded=2),  # the centres, less bad
    )
    up = (
        wall.Tile("dc-east", "東日本センター", State.OK),
        wall.Tile("dc-west", "西日本センター", State.CRITICAL, firing=1, critical=1),
        wall.Tile("office-01", "札幌東社会保険事務所", State.OK),
        wall.Tile("office-02", "旭川社会保険事務所", State.OK),
        wall.Tile("office-03", "青森社会保険事務所", State.OK),
    )
    bigger = replace(
        inventory,
        sites=(*inventory.sites, Site("office-03", "青森社会保険事務所")),
        devices=(*inventory.devices, Device("rtr-office-03", "office-03", "wan", "router", "127.0.0.1")),
        links=(*inventory.links, Link("office-03", LinkEnd("rtr-east-01", "Gi0/2"), LinkEnd("rtr-office-03", "Se0"))),
    )
    assert wall.fold_sites(up, bigger, 4) == (
        up[0],
        up[1],
        wall.Tile("dc-east/up", "東日本センター", State.OK, folded=2),  # office-01 and office-03
        wall.Tile("dc-west/up", "西日本センター", State.OK, folded=1),
    )
    assert wall.fold_sites(up, bigger, 3) == (up[0], up[1], wall.Tile("up", "", State.OK, folded=3))


def test_folded_tiles_say_how_many_sites_they_stand_for() -> None:
    rendered = json.loads(
        pio.json.to_json_plotly(wall.tile(wall.Tile("dc-east/up", "東日本センター", State.OK, folded=18), "ja"))
    )
    assert rendered["props"]["children"][0]["props"]["children"] == "東日本センター配下 18拠点"
    assert rendered["props"]["className"] == "wall-tile state-ok wall-tile-folded"
    more = json.loads(pio.json.to_json_plotly(wall.tile(wall.Tile("more", "", State.CRITICAL, folded=3), "en")))
    assert more["props"]["children"][0]["props"]["children"] == "3 more sites"


def test_a_second_refresh_of_an_unchanged_wall_sends_only_its_time() -> None:
    data = fake()
    first = wall.refresh(data, "ja")
    assert all(part is not no_update for part in first)
    again = wall.refresh(data, "ja", first[-1])
    assert again[:5] == (no_update,) * 5
    assert again[5:] == first[5:]
    assert len(pio.json.to_json_plotly(again[5:])) < 400


def test_a_link_going_down_sends_the_map_lines_and_mid_points_as_a_patch() -> None:
    data = fake([])
    first = wall.refresh(data, "ja")
    data.answers[wall.LINK_UP_EXPR] = vector("link", {"east-west-1": 0.0, "office-01": 0.0, "office-02": 0.0})
    second = wall.refresh(data, "ja", first[-1])
    tiles, systems, patch = second[:3]
    assert (tiles, systems) == (no_update, no_update)
    assert isinstance(patch, Patch)
    operations = patch.to_plotly_json()["operations"]
    assert [op["location"] for op in operations] == [
        *(["data", i, axis] for i in range(MIDS) for axis in ("x", "y")),
        ["data", MIDS, "text"],
        ["data", MIDS, "marker", "color"],
        ["data", MIDS, "textfont", "color"],
    ]
    assert operations[2 * 6]["params"]["value"] == [-0.55, 0.55, None, -0.55, -1.35, None, 0.55, 1.35, None]
    assert operations[-3]["params"]["value"] == ["✖", "✖", "✖"]
    assert wall.refresh(data, "en", second[-1])[2].__class__.__name__ == "Figure"  # a new language: whole


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


def test_the_demo_estate_scaled_10x_in_a_storm_fits_the_panel_and_refreshes_under_50_kb() -> None:
    inventory = scaled_inventory(config.load_file(SHIPPED_DEMO).inventory, 10)
    healthy = FakeData(inventory_=inventory, answers={})
    before = wall.refresh(healthy, "ja")
    alerts = storm(inventory, interfaces(inventory, build()), 5000, T0)
    storming = FakeData(inventory_=inventory, alerts_=[AlertView(a, (), (), None, False) for a in alerts])
    after = wall.refresh(storming, "ja", before.sent)  # every part changes at once, in one refresh
    assert len(after.sites) == wall.SITE_TILES and isinstance(after.map, Patch)
    assert after.sites[-1].children[0].children == "他 191拠点"  # the 29 worst keep their tiles
    assert len(pio.json.to_json_plotly(after)) < 50_000
    assert len(pio.json.to_json_plotly(wall.refresh(storming, "ja", after.sent))) < 1_000  # then only the time
