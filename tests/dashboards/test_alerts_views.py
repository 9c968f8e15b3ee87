"""dashboards/views/alerts.py: shown states, filters (the text searched as the page writes it, in its
language), grouping as routed, mute/ack texts, row buttons, and the alerts and maintenance tables,
on real `AlertView`s. The action form is tested in test_alert_forms.py, the history panel in
test_alert_history.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from dash import html

from alerts.acks import Acknowledgement
from alerts.explain import AlertView, GroupPhase, GroupView, Mute, MuteReason, RouteMute
from alerts.model import Alert, AlertState
from dashboards import ids
from dashboards.actions import MaintenanceItem
from dashboards.views import alerts as v
from model import Inventory, Labels
from model.inventory import Device, Link, LinkEnd, Site, System

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z: 17:00 in Tokyo
GROUP_DOWN = GroupView(
    '{}:{alertname="DeviceDown"}',
    "oncall",
    "notified at 2027-01-15T08:00:30Z; repeat due at 2027-01-15T09:00:30Z, next check at 2027-01-15T08:05:30Z",
    T0 + 30,
    T0 + 330,
    phase=GroupPhase.NOTIFIED,
    repeat_due=T0 + 3630,
)
GROUP_WAN = GroupView(
    '{}:{alertname="WanLinkDown"}',
    "netops",
    "within group_wait until 2027-01-15T08:00:30Z",
    None,
    T0 + 30,
    phase=GroupPhase.GROUP_WAIT,
)
INVENTORY = Inventory(
    sites=(Site("dc-east", "東データセンター"), Site("office-1", "第1事務所")),
    systems=(System("records", "記録管理システム"),),
    devices=(
        Device("rtr-east", "dc-east", "network", "router", "127.0.0.1"),
        Device("rtr-office", "office-1", "network", "router", "127.0.0.2"),
    ),
    links=(Link("east-office-1", LinkEnd("rtr-east", "Gi0/1"), LinkEnd("rtr-office", "Gi0/0")),),
)


def alert(
    name: str = "DeviceDown",
    *,
    state: AlertState = AlertState.FIRING,
    resolved: bool = False,
    **labels: str,
) -> Alert:
    return Alert(
        labels=Labels(alertname=name, **labels),
        annotations=Labels(summary=f"{name} summary", summary_ja=f"{name} 概要"),
        state=state,
        active_at=T0 - 60,
        value=0.0,
        fired_at=None if state is AlertState.PENDING else T0,
        resolved_at=T0 + 600 if resolved else None,
    )


def view(
    a: Alert,
    *mutes: Mute,
    groups: tuple[GroupView, ...] = (GROUP_DOWN,),
    ack: Acknowledgement | None = None,
    flapping: bool = False,
) -> AlertView:
    return AlertView(alert=a, mutes=mutes, groups=groups, acknowledgement=ack, flapping=flapping)


SILENCED = Mute(
    MuteReason.SILENCED,
    "silenced by #s1 (yamada: disk swap)",
    "s1",
    (("id", "s1"), ("by", "yamada"), ("comment", "disk swap")),
)
ACKED = Mute(
    MuteReason.ACKNOWLEDGED, "acknowledged by tanaka: on it", "tanaka", (("by", "tanaka"), ("comment", "on it"))
)
SRV = view(alert(severity="critical", site="dc-east", system="records", target="srv-0"))
PENDING = view(alert(state=AlertState.PENDING, severity="warning", site="dc-east", target="srv-1"), groups=())
WAN = view(alert("WanLinkDown", severity="critical", link="east-office-1"), groups=(GROUP_WAN,))
QUIET = view(alert(severity="critical", site="office-1", system="records", target="srv-2"), SILENCED, ACKED)


# -- states and order -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alert_view", "shown"),
    [
        (SRV, v.Shown.FIRING),
        (PENDING, v.Shown.PENDING),
        (view(alert(resolved=True), SILENCED), v.Shown.RESOLVED),
        (QUIET, v.Shown.SILENCED),
        (view(alert(), ACKED), v.Shown.ACKNOWLEDGED),
        (view(alert(), Mute(MuteReason.INHIBITED, 'inhibited by {scope="console"}')), v.Shown.SUPPRESSED),
        (view(alert(), Mute(MuteReason.SUPPRESSED, "suppressed by DeviceDown rtr-east", "fp")), v.Shown.SUPPRESSED),
        (view(alert(), Mute(MuteReason.MAINTENANCE, "in maintenance w (o: r)", "w")), v.Shown.MAINTENANCE),
        (view(alert(), Mute(MuteReason.FLAPPING, "flapping since ..."), flapping=True), v.Shown.FIRING),
    ],
)
def test_an_alert_shows_its_first_mute_else_pending_or_firing(alert_view: AlertView, shown: v.Shown) -> None:
    assert v.shown_state(alert_view) is shown


def test_alerts_sort_critical_first_then_by_shown_state_and_name() -> None:
    assert v.sort_views([PENDING, QUIET, WAN, SRV]) == [SRV, WAN, QUIET, PENDING]


# -- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        (v.Filters(), [SRV, PENDING, WAN, QUIET]),
        (v.Filters(site="dc-east"), [SRV, PENDING, WAN]),
        (v.Filters(site="office-1"), [WAN, QUIET]),
        (v.Filters(system="records"), [SRV, QUIET]),
        (v.Filters(severity="warning"), [PENDING]),
        (v.Filters(state="silenced"), [QUIET]),
        (v.Filters(state="firing", severity="critical", site="dc-east"), [SRV, WAN]),
        (v.Filters(text="  DISK swap "), [QUIET]),
        (v.Filters(text="east-office"), [WAN]),
        (v.Filters(text="srv-1"), [PENDING]),
        (v.Filters(site="", system=None, text=""), [SRV, PENDING, WAN, QUIET]),
    ],
)
def test_filters_keep_the_alerts_matching_every_set_filter(filters: v.Filters, kept: list[AlertView]) -> None:
    assert v.filter_views([SRV, PENDING, WAN, QUIET], filters, INVENTORY, "en", "Asia/Tokyo") == kept


def test_the_text_filter_finds_a_mute_reason_and_an_acknowledgement_as_the_page_writes_them() -> None:
    cut = Mute(MuteReason.SUPPRESSED, "suppressed by WanLinkDown", "fp", (("source", "WanLinkDown"),))
    behind = view(alert(severity="critical", site="office-1", target="srv-3"), cut)
    acked = view(SRV.alert, ack=Acknowledgement(SRV.alert.fingerprint, "tanaka", "", T0 + 31, T0 + 3600))
    views = [SRV, QUIET, behind, acked]

    def found(text: str, lang: str) -> list[AlertView]:
        return v.filter_views(views, v.Filters(text=text), INVENTORY, lang, "Asia/Tokyo")

    assert found("上位障害", "ja") == [behind]
    assert found("サイレンス", "ja") == [QUIET]
    assert found("抑止（サイレンス）", "ja") == [QUIET]
    assert found("が確認（", "ja") == [acked]
    assert found("18:00 まで", "ja") == [acked]
    assert found("上位障害", "en") == []
    assert found("until 15 Jan 2027 18:00", "en") == [acked]
    assert found("suppressed by wanlinkdown", "ja") == [behind]  # the API's English words are found too


def test_a_link_alert_concerns_the_sites_of_both_link_ends() -> None:
    assert v.alert_sites(WAN, INVENTORY) == frozenset({"dc-east", "office-1"})
    assert v.alert_sites(WAN, Inventory()) == frozenset()
    assert v.alert_sites(SRV, INVENTORY) == frozenset({"dc-east"})


def test_filter_options_list_the_inventory_then_values_only_alerts_carry() -> None:
    stray = view(alert(severity="info", site="dc-west", system="pension", target="x"))
    options = v.filter_options([SRV, stray], INVENTORY, "ja")

    assert options["site"] == [
        {"label": "東データセンター", "value": "dc-east"},
        {"label": "第1事務所", "value": "office-1"},
        {"label": "dc-west", "value": "dc-west"},
    ]
    assert options["system"] == [
        {"label": "記録管理システム", "value": "records"},
        {"label": "pension", "value": "pension"},
    ]
    assert options["severity"] == [
        {"label": "重大", "value": "critical"},
        {"label": "info", "value": "info"},
        {"label": "警告", "value": "warning"},
    ]
    assert [o["label"] for o in options["state"]] == [
        "発生中",
        "保留中",
        "確認済み",
        "抑止中",
        "保守中",
        "抑制",
        "復旧",
    ]


# -- grouping and texts ---------------------------------------------------------------------------


def test_grouping_follows_the_routes_in_order_of_first_alert_with_unrouted_alerts_apart() -> None:
    both = view(alert(target="srv-9"), groups=(GROUP_DOWN, GROUP_WAN))

    assert v.by_group([SRV, PENDING, WAN, both]) == [
        v.Group(GROUP_DOWN.group_key, "oncall", GROUP_DOWN, (SRV, both)),
        v.Group("", "", None, (PENDING,)),
        v.Group(GROUP_WAN.group_key, "netops", GROUP_WAN, (WAN, both)),
    ]


def test_mute_lines_name_the_reason_and_what_mutes_it_in_the_language() -> None:
    assert v.mute_lines(QUIET, "ja", "Asia/Tokyo") == [
        ("抑止（サイレンス）", "サイレンス #s1 により抑止（yamada: disk swap）"),
        ("確認済み", "tanaka が確認済み: on it"),
    ]
    assert v.mute_lines(QUIET, "en", "Asia/Tokyo") == [
        ("Silenced", "Silenced by #s1 (yamada: disk swap)"),
        ("Acknowledged", "Acknowledged by tanaka: on it"),
    ]
    assert v.mute_lines(SRV, "ja", "Asia/Tokyo") == []


WAN_CUT = 'WanLinkDown{link="east-west-1"}, WanLinkDown{link="east-west-2"}'
MUTES = {
    "silenced": SILENCED,
    "suppressed": Mute(MuteReason.SUPPRESSED, f"suppressed by {WAN_CUT}", "fp", (("source", WAN_CUT),)),
    "inhibited": Mute(
        MuteReason.INHIBITED, 'inhibited by SiteDown{site="dc-west"}', "", (("source", 'SiteDown{site="dc-west"}'),)
    ),
    "maintenance": Mute(
        MuteReason.MAINTENANCE,
        "in maintenance friday-batch (ops-west: 月次バッチ)",
        "friday-batch",
        (("name", "friday-batch"), ("owner", "ops-west"), ("reason", "月次バッチ")),
    ),
    "acknowledged": ACKED,
    "acknowledged until": Mute(
        MuteReason.ACKNOWLEDGED,
        "acknowledged by tanaka until 2027-01-15T10:00:31Z: 交換中",
        "tanaka",
        (("by", "tanaka"), ("until", "2027-01-15T10:00:31Z"), ("comment", "交換中")),
    ),
    "acknowledged without comment": Mute(
        MuteReason.ACKNOWLEDGED, "acknowledged by tanaka: ", "tanaka", (("by", "tanaka"), ("comment", ""))
    ),
    "flapping": Mute(
        MuteReason.FLAPPING,
        "flapping since 2027-01-15T08:04:00Z: notified once as flapping",
        "",
        (("since", "2027-01-15T08:04:00Z"),),
    ),
}


@pytest.mark.parametrize(
    ("kind", "ja", "en"),
    [
        ("silenced", "サイレンス #s1 により抑止（yamada: disk swap）", "Silenced by #s1 (yamada: disk swap)"),
        ("suppressed", f"上位障害 {WAN_CUT} により抑制", f"Suppressed by {WAN_CUT}"),
        (
            "inhibited",
            'SiteDown{site="dc-west"} の発生により抑制',
            'Inhibited by SiteDown{site="dc-west"}',
        ),
        (
            "maintenance",
            "保守中: friday-batch（ops-west: 月次バッチ）",
            "In maintenance friday-batch (ops-west: 月次バッチ)",
        ),
        ("acknowledged", "tanaka が確認済み: on it", "Acknowledged by tanaka: on it"),
        (
            "acknowledged until",
            "tanaka が確認済み（2027年1月15日 19:00 まで）: 交換中",
            "Acknowledged by tanaka until 15 Jan 2027 19:00: 交換中",
        ),
        ("acknowledged without comment", "tanaka が確認済み", "Acknowledged by tanaka"),
        (
            "flapping",
            "2027年1月15日 17:04 からフラッピング中（フラッピングとして1回だけ通知済み）",
            "Flapping since 15 Jan 2027 17:04: notified once as flapping",
        ),
    ],
)
def test_each_mute_says_what_mutes_it_in_japanese_and_english_in_the_consoles_zone(kind: str, ja: str, en: str) -> None:
    assert (v.mute_text(MUTES[kind], "ja", "Asia/Tokyo"), v.mute_text(MUTES[kind], "en", "Asia/Tokyo")) == (ja, en)


def test_a_mute_time_follows_the_zone_and_a_mute_without_args_shows_no_field() -> None:
    assert v.mute_text(MUTES["flapping"], "en", "UTC") == "Flapping since 15 Jan 2027 08:04: notified once as flapping"
    assert v.mute_text(Mute(MuteReason.INHIBITED, "inhibited by x"), "en", "UTC") == "Inhibited by "


@pytest.mark.parametrize(
    ("group", "ja", "en"),
    [
        (
            GROUP_WAN,
            "集約待ち（2027年1月15日 17:00:30 に通知判定）",
            "Within group_wait until 15 Jan 2027 17:00:30",
        ),
        (
            GroupView("k", "oncall", "not notified yet; ...", None, T0 + 330, phase=GroupPhase.WAITING),
            "未通知（次回判定 2027年1月15日 17:05:30）",
            "Not notified yet; next check at 15 Jan 2027 17:05:30",
        ),
        (
            GROUP_DOWN,
            "2027年1月15日 17:00:30 に通知済み（再通知予定 2027年1月15日 18:00:30、次回判定 2027年1月15日 17:05:30）",
            "Notified at 15 Jan 2027 17:00:30; repeat due at 15 Jan 2027 18:00:30, next check at 15 Jan 2027 17:05:30",
        ),
    ],
)
def test_a_groups_status_says_its_phase_and_times_in_japanese_and_english(group: GroupView, ja: str, en: str) -> None:
    assert (v.group_status(group, "ja", "Asia/Tokyo"), v.group_status(group, "en", "Asia/Tokyo")) == (ja, en)


def test_a_muted_route_says_which_time_intervals_in_japanese_and_english() -> None:
    muted = GroupView("k", "oncall", "", None, T0, "", phase=GroupPhase.WAITING, route_mute=RouteMute.MUTED)
    muted = replace(muted, route_mute_intervals=("night",))
    inactive = replace(muted, route_mute=RouteMute.INACTIVE, route_mute_intervals=("weekdays", "office-hours"))

    assert [v.route_mute_text(g, "ja") for g in (muted, inactive, GROUP_DOWN)] == [
        "通知停止時間帯 night のため通知しません",
        "通知時間帯（weekdays, office-hours）外のため通知しません",
        "",
    ]
    assert [v.route_mute_text(g, "en") for g in (muted, inactive)] == [
        "Route muted by time interval night",
        "Route outside its active time intervals weekdays, office-hours",
    ]


def test_the_acknowledgement_says_who_when_until_when_and_why() -> None:
    fp = SRV.alert.fingerprint
    until = view(SRV.alert, ack=Acknowledgement(fp, "tanaka", "交換中", T0 + 31, T0 + 4 * 3600 + 31))
    open_ended = view(SRV.alert, ack=Acknowledgement(fp, "tanaka", "", T0))

    assert (
        v.ack_text(until, "ja", "Asia/Tokyo")
        == "tanaka が確認（2027年1月15日 17:00）、2027年1月15日 21:00 まで: 交換中"
    )
    assert (
        v.ack_text(until, "en", "UTC") == "Acknowledged by tanaka at 15 Jan 2027 08:00, until 15 Jan 2027 12:00: 交換中"
    )
    assert v.ack_text(open_ended, "en", "Asia/Tokyo") == "Acknowledged by tanaka at 15 Jan 2027 17:00"
    assert v.ack_text(SRV, "ja", "Asia/Tokyo") == ""


def test_an_alert_links_to_its_device_and_link_pages() -> None:
    both = view(alert(target="rtr/1", link="east office"))

    assert v.entity_links(SRV) == [("srv-0", "/device/srv-0")]
    assert v.entity_links(WAN) == [("east-office-1", "/link/east-office-1")]
    assert v.entity_links(both) == [("rtr/1", "/device/rtr%2F1"), ("east office", "/link/east%20office")]


def test_every_row_has_a_history_button_for_its_alert() -> None:
    props = v.history_button(PENDING, "en").to_plotly_json()["props"]

    assert props == {
        "children": "History",
        "id": {"type": ids.ALERTS_HISTORY_OPEN, "ref": PENDING.alert.fingerprint},
        "className": "alerts-button alerts-button-history",
        "n_clicks": 0,
    }


def test_row_actions_offer_what_applies_to_the_alerts_state() -> None:
    fp = QUIET.alert.fingerprint
    acked = view(QUIET.alert, SILENCED, ack=Acknowledgement(fp, "tanaka", "", T0))

    assert v.row_actions(SRV) == [("ack", SRV.alert.fingerprint), ("silence", SRV.alert.fingerprint)]
    assert v.row_actions(PENDING) == [("silence", PENDING.alert.fingerprint)]
    assert v.row_actions(acked) == [("unack", fp), ("silence", fp), ("expire", "s1")]
    assert v.row_actions(view(alert(resolved=True), SILENCED)) == [("expire", "s1")]


# -- components -----------------------------------------------------------------------------------


def texts(component: Any) -> list[str]:
    """Every string in a component tree, depth first."""
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    if isinstance(children, list | tuple):
        return [text for child in children for text in texts(child)]
    return texts(children)


def test_the_page_parts_count_the_alerts_shown_and_say_when_alerting_is_down() -> None:
    table, count, windows = v.alerts_page(
        [SRV, QUIET, PENDING], INVENTORY, v.Filters(site="dc-east"), None, "ja", "Asia/Tokyo", grouped=True
    )

    assert count == "3 件中 2 件を表示"
    assert texts(windows) == ["アラート処理が動作していないため操作できません"]
    assert [t for t in texts(table) if t in (GROUP_DOWN.group_key, "通知グループ未割当（保留中など）")] == [
        GROUP_DOWN.group_key,
        "通知グループ未割当（保留中など）",
    ]


def test_a_row_shows_state_severity_summary_in_the_language_links_and_reasons() -> None:
    table = v.alerts_table([QUIET], "ja", "Asia/Tokyo", grouped=False)
    assert texts(table) == [
        *["状態", "重要度", "アラート", "対象", "発生時刻", "通知されない理由", "確認", "操作"],
        *["抑止中", "重大", "DeviceDown", "DeviceDown 概要", "srv-2", "2027年1月15日 17:00"],
        *[
            "抑止（サイレンス）",
            " ",
            "サイレンス #s1 により抑止（yamada: disk swap）",
            "確認済み",
            " ",
            "tanaka が確認済み: on it",
        ],
        *["", "履歴", "確認", "抑止", "抑止解除"],
    ]
    assert isinstance(table, html.Div)


def test_a_row_says_why_the_alert_is_quiet_in_english_too() -> None:
    table = v.alerts_table([QUIET], "en", "UTC", grouped=False)

    assert texts(table)[14:20] == [
        *["Silenced", " ", "Silenced by #s1 (yamada: disk swap)"],
        *["Acknowledged", " ", "Acknowledged by tanaka: on it"],
    ]


def test_a_group_heading_says_receiver_status_and_a_muted_route_in_the_language() -> None:
    muted = replace(GROUP_DOWN, route_mute=RouteMute.MUTED, route_mute_intervals=("night",))
    quiet = view(SRV.alert, groups=(muted,))

    heading = texts(v.alerts_table([quiet], "ja", "Asia/Tokyo", grouped=True).children[0])
    assert heading == [
        GROUP_DOWN.group_key,
        "通知先: oncall",
        "2027年1月15日 17:00:30 に通知済み（再通知予定 2027年1月15日 18:00:30、次回判定 2027年1月15日 17:05:30）",
        "通知停止時間帯 night のため通知しません",
    ]
    heading = texts(v.alerts_table([SRV], "en", "UTC", grouped=True).children[0])
    assert heading == [
        GROUP_DOWN.group_key,
        "Receiver: oncall",
        "Notified at 15 Jan 2027 08:00:30; repeat due at 15 Jan 2027 09:00:30, next check at 15 Jan 2027 08:05:30",
    ]


def test_only_windows_created_in_the_console_can_be_deleted_from_the_list() -> None:
    items = [
        MaintenanceItem(
            "core",
            "config",
            "netops",
            "fw",
            ('site="dc-east"',),
            "daily start=02:00 duration=1h",
            "UTC",
            False,
            T0 + 3600,
            "",
        ),
        MaintenanceItem(
            "disk", "api", "sato", "disk", ('target="srv-0"',), "once start=x end=y", "Asia/Tokyo", True, None, "sato"
        ),
    ]

    listed = texts(v.maintenance_table(items, "en", "UTC"))

    assert listed[8:] == [
        *["core", 'site="dc-east"', "daily start=02:00 duration=1h (UTC)", "netops", "fw"],
        *["Not active (next change 15 Jan 2027 09:00)", "Config file"],
        *[
            "disk",
            'target="srv-0"',
            "once start=x end=y (Asia/Tokyo)",
            "sato",
            "disk",
            "Active",
            "Console / API",
            "Delete",
        ],
    ]
    assert texts(v.maintenance_table([], "ja", "UTC")) == ["保守期間はありません"]


def test_the_table_shows_at_most_its_limit_of_rows_and_says_how_many_more_in_which_groups() -> None:
    both = view(alert(target="srv-9"), groups=(GROUP_DOWN, GROUP_WAN))
    views = [SRV, PENDING, WAN, both]  # by group: DeviceDown (SRV, both), unrouted (PENDING), WAN (WAN, both)

    def rows(table: Any) -> int:
        return sum(len(child.children[1].children) for child in table.children if isinstance(child, html.Table))

    grouped = v.alerts_table(views, "ja", "Asia/Tokyo", grouped=True, limit=3)
    assert rows(grouped) == 3
    assert texts(grouped.children[-1]) == ["ほか 2 件（1 グループ）は表示していません。絞り込み条件で探してください。"]
    flat = v.alerts_table(views, "en", "UTC", grouped=False, limit=3)
    assert rows(flat) == 3
    assert texts(flat.children[-1]) == ["1 more alerts not shown: narrow them down with the filters."]
    assert rows(v.alerts_table(views, "en", "UTC", grouped=False)) == 4  # ROW_LIMIT: 200
