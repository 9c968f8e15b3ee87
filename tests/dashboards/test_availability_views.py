"""dashboards/views/availability.py over a real history: the record management system (24x7, SLA
99.9 %) in 2026-Q4 with three outages whose figures are worked out by hand, through a real
`Reporting` (SQLite in tmp_path) behind `FakeData`:

- A: 31 Oct 23:00 - 1 Nov 01:00 JST (2 h, across the month boundary: 1 h in each month), counted;
- B: 10 Nov 02:00 - 04:00, 01:00 - 03:00 under the maintenance window disk-swap: 1 h counted;
- C: 5 Dec 10:00 - 13:00, reclassified as an external cause: nothing counted.

October: 1 - 3600 / (31 x 86400) = 99.866 %; November: 1 - 7200 / (30 x 86400) = 99.722 %;
December: 100 %. The quarter: 1 - 10800 / (92 x 86400) = 99.864 %, missed; incidents A and B,
MTTR 2 h, MTBF (7948800 - 10800) / 2 s = 1102 h 30 min; error budget 0.1 % of 92 days = 7948.8 s
(2 h 12 min), 2851.2 s overspent (-48 min), burn rate 10800 / 7948.8 = 1.36.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dash import html

from alerts.maintenance import MaintenanceWindow
from dashboards import ids
from dashboards.actions import ActionError
from dashboards.views import availability as v
from model import Device, Inventory, Labels, Link, LinkEnd, Site, System
from reports.config import AvailabilityConfig
from reports.history import AlertSpan, LeafSpan
from reports.report import figures_csv, outages_csv
from reports.reporting import Reporting
from tests.dashboards.fakes import FakeData

JST = ZoneInfo("Asia/Tokyo")
TZ = "Asia/Tokyo"


def jst(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> float:
    return datetime(y, m, d, h, mi, tzinfo=JST).timestamp()


NOW = jst(2027, 1, 15, 9)
A = (jst(2026, 10, 31, 23), jst(2026, 11, 1, 1))
B = (jst(2026, 11, 10, 2), jst(2026, 11, 10, 4))
C = (jst(2026, 12, 5, 10), jst(2026, 12, 5, 13))


def estate() -> Inventory:
    def device(name: str, site: str, system: str, *parents: str) -> Device:
        return Device(name, site, system, "server", "127.0.0.1", parents=parents)

    return Inventory(
        sites=(Site("dc-east", "東日本センター"), Site("dc-west", "西日本センター")),
        systems=(System("records", "記録管理システム"), System("kiso", "基礎年金番号管理システム")),
        devices=(
            device("rtr-east-01", "dc-east", "network"),
            device("rtr-west-01", "dc-west", "network", "east-west-1", "east-west-2"),
            device("srv-records-01", "dc-east", "records", "rtr-east-01"),
            device("srv-kiso-01", "dc-west", "kiso", "rtr-west-01"),
        ),
        links=(
            Link("east-west-1", LinkEnd("rtr-east-01", "Gi0/1"), LinkEnd("rtr-west-01", "Gi0/1")),
            Link("east-west-2", LinkEnd("rtr-east-01", "Gi0/2"), LinkEnd("rtr-west-01", "Gi0/2")),
        ),
    )


DISK_SWAP = MaintenanceWindow.model_validate(
    {
        "name": "disk-swap",
        "matchers": ['target="srv-records-01"'],
        "owner": "ops-east",
        "reason": "ディスク交換",
        "location": TZ,
        "schedule": {"once": {"start": "2026-11-10T01:00:00", "end": "2026-11-10T03:00:00"}},
    }
)
RECORDS = {"system": "records", "target": 99.9, "tree": {"device": "srv-records-01"}}


def cause(start: float, end: float, target: str) -> AlertSpan:
    return AlertSpan(
        f"fp-{target}-{start}",
        Labels(alertname="DeviceDown", severity="critical", target=target),
        Labels(summary=f"Device {target} is down", summary_ja=f"機器停止: {target}"),
        start,
        end,
    )


def open_reporting(path: Path, *systems: dict[str, Any], windows: list[MaintenanceWindow] | None = None) -> Reporting:
    config = AvailabilityConfig.model_validate({"timezone": TZ, "systems": list(systems)})
    found = [DISK_SWAP] if windows is None else windows
    return Reporting.open(path, config, estate(), lambda: found)


def q4_reporting(path: Path) -> Reporting:
    """The record management system's 2026-Q4 above (outages A, B and C, C reclassified) in SQLite
    in `path`; the caller closes it."""
    r = open_reporting(path, RECORDS)
    r.history.insert(
        [LeafSpan("device:srv-records-01", "down", s, e) for s, e in (A, B, C)],
        [cause(*A, "srv-records-01")],
        [(jst(2026, 4, 1), NOW)],
    )
    r.reclassify("records", C[0] + 3600, "external", "NTT回線工事", "suzuki", jst(2026, 12, 6, 9, 30))
    return r


@pytest.fixture
def reporting(tmp_path: Path) -> Iterator[Reporting]:
    r = q4_reporting(tmp_path)
    yield r
    r.close()


@pytest.fixture
def data(reporting: Reporting) -> FakeData:
    return FakeData(inventory_=estate(), t=NOW, reporting=reporting)


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


def find(component: Any, css: str) -> list[Any]:
    """Every component under `component` (itself included) whose class list holds `css`."""
    found = [component] if css in (getattr(component, "className", None) or "").split() else []
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        return found + [c for child in children for c in find(child, css)]
    return found + (find(children, css) if children is not None and not isinstance(children, str) else [])


# -- the period -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, ("2027-01", "2026-12", "2027-Q1", "FY2026", "FY2025")),
        (jst(2026, 4, 1), ("2026-04", "2026-03", "2026-Q2", "FY2026", "FY2025")),
        (jst(2026, 3, 31, 23, 59), ("2026-03", "2026-02", "2026-Q1", "FY2025", "FY2024")),
    ],
)
def test_the_presets_follow_the_calendar_and_the_fiscal_year_in_tokyo(now: float, expected: tuple[str, ...]) -> None:
    assert v.preset_periods(now, TZ) == dict(zip(v.PRESETS, expected, strict=True))
    assert v.default_period(now, TZ) == expected[3]


def test_the_period_is_read_from_the_url_and_written_to_it() -> None:
    assert v.period_of_search("?period=2026-04..2027-03") == "2026-04..2027-03"
    assert v.period_of_search("?period=%20FY2026%20&lang=ja") == "FY2026"
    assert [v.period_of_search(s) for s in (None, "", "?period=", "?lang=ja")] == [None, None, None, None]
    assert v.period_search("2026-04..2027-03") == "?period=2026-04..2027-03"
    assert v.period_search("2026-Q3") == "?period=2026-Q3"


def test_a_preset_button_picks_its_period_and_otherwise_the_typed_text() -> None:
    preset = {"type": ids.AVAILABILITY_PRESET, "preset": "last-month"}
    assert v.picked_period(preset, "FY2020", NOW, TZ) == "2026-12"
    assert v.picked_period(ids.AVAILABILITY_SHOW, " 2026-Q3 ", NOW, TZ) == "2026-Q3"
    assert v.picked_period(ids.AVAILABILITY_PERIOD, "  ", NOW, TZ) is None


def test_the_title_is_the_period_label_or_the_page_name_for_a_bad_period() -> None:
    assert v.page_title("FY2026", "ja") == "令和8年度（2026年度）"
    assert v.page_title("FY2026", "en") == "FY2026 (April 2026 – March 2027)"
    assert v.page_title("2026-13", "ja") == "稼働率"


# -- figures and rows -----------------------------------------------------------------------------


def test_the_card_writes_every_figure_of_the_period_as_the_pdf_does(data: FakeData) -> None:
    total = data.availability("2026-Q4").systems[0].total

    assert v.figure_rows(total, "ja") == [
        ("availability", "99.864%"),
        ("target", "99.900%"),
        ("met", "未達"),
        ("service", "2208時間00分"),
        ("downtime", "3時間00分"),
        ("degraded", "0"),
        ("excluded", "4時間00分"),
        ("incidents", "2"),
        ("mttr", "2時間00分"),
        ("mtbf", "1102時間30分"),
        ("longest", "2時間00分"),
        ("budget", "2時間12分"),
        ("budget_left", "-48分"),
        ("burn_rate", "1.36"),
    ]
    assert dict(v.figure_rows(total, "en"))["met"] == "missed"
    assert dict(v.figure_rows(total, "en"))["budget_left"] == "-48 min"


def test_time_the_console_did_not_watch_is_shown_only_when_there_is_some(tmp_path: Path) -> None:
    r = open_reporting(tmp_path, RECORDS)
    try:
        r.history.insert([], [], [(jst(2026, 11, 1), jst(2026, 11, 10)), (jst(2026, 11, 11), NOW)])
        month = r.report(r.period("2026-11"), NOW).systems[0].total
        december = r.report(r.period("2026-12"), NOW).systems[0].total
    finally:
        r.close()

    assert v.figure_rows(month, "en")[-1] == ("unwatched", "24 h 00 min")
    assert [key for key, _ in v.figure_rows(december, "en")][-1] == "burn_rate"


def test_the_outage_rows_keep_the_original_cause_beside_the_reclassification(data: FakeData) -> None:
    rows = v.outage_rows(data.availability("2026-Q4").systems[0].report.outages, "ja", TZ)

    down = "機器停止: srv-records-01"
    assert [(r.cells, r.reclassified, r.state) for r in rows] == [
        (("2026-10-31 23:00", "2026-11-01 01:00", "2時間00分", "2時間00分", down, ""), (), "counted"),
        (("2026-11-10 02:00", "2026-11-10 04:00", "2時間00分", "1時間00分", down, "disk-swap"), (), "counted"),
        (
            ("2026-12-05 10:00", "2026-12-05 13:00", "3時間00分", "0", down, ""),
            ("外部要因", "NTT回線工事", "suzuki（2026-12-06 09:30）"),
            "reclassified",
        ),
    ]
    assert [(r.start, r.at) for r in rows] == [(A[0], A[0] + 3600), (B[0], B[0] + 3600), (C[0], C[0] + 5400)]


def test_the_outage_cause_is_written_in_english_in_the_english_page(data: FakeData) -> None:
    rows = v.outage_rows(data.availability("2026-Q4").systems[0].report.outages, "en", TZ)

    assert [r.cells[4] for r in rows] == [
        "Device srv-records-01 is down",
        "Device srv-records-01 down",
        "Device srv-records-01 down",
    ]
    assert rows[2].reclassified == ("external cause", "NTT回線工事", "by suzuki, 2026-12-06 09:30")


def test_the_holidays_and_the_maintenance_that_excluded_downtime_are_listed(data: FakeData) -> None:
    report = data.availability("2026-Q4")

    assert v.holiday_rows(report, "ja") == [
        ("2026-10-12 (月)", "スポーツの日"),
        ("2026-11-03 (火)", "文化の日"),
        ("2026-11-23 (月)", "勤労感謝の日"),
    ]
    assert v.holiday_rows(report, "en")[0] == ("2026-10-12 (Mon)", "スポーツの日")
    assert v.maintenance_rows(report, "ja", TZ) == [
        ("disk-swap", "ディスク交換", "2026-11-10 01:00", "2026-11-10 03:00")
    ]


# -- the body -------------------------------------------------------------------------------------


def test_the_body_shows_a_section_per_system_and_its_outages_with_reclassify_buttons(data: FakeData) -> None:
    title, body, found = v.shown(data, "2026-Q4", "ja", can_act=True)
    page = html.Div(body)
    card = find(page, "availability-card")[0]
    buttons = find(page, "availability-reclassify")

    assert (title, found) == ("2026年 第4四半期（10月〜12月）", True)
    assert texts(find(card, "availability-figure-availability")[0]) == ["稼働率", "99.864%"]
    assert texts(find(card, "availability-badge")[0]) == ["未達"]
    assert [b.id for b in buttons] == [
        {"type": ids.AVAILABILITY_RECLASSIFY, "system": "records", "at": at, "start": start}
        for start, at in ((A[0], A[0] + 3600), (B[0], B[0] + 3600), (C[0], C[0] + 5400))
    ]
    assert texts(find(page, "availability-exclusions")[0])[:3] == ["停止時間を除外した保守", "名称", "理由"]
    assert texts(find(page, "availability-holidays")[0])[-2:] == ["2026-11-23 (月)", "勤労感謝の日"]


def test_without_actions_the_outages_have_no_reclassify_button(data: FakeData) -> None:
    _, body, _ = v.shown(data, "2026-Q4", "en", can_act=False)

    assert find(html.Div(body), "availability-reclassify") == []


def test_without_a_period_the_current_fiscal_year_is_shown(data: FakeData) -> None:
    title, _, _ = v.shown(data, None, "en", can_act=False)

    assert title == "FY2026 (April 2026 – March 2027)"


def test_a_bad_period_shows_the_parsers_message_and_nothing_to_download(data: FakeData) -> None:
    title, body, found = v.shown(data, "2026-13", "en", can_act=True)

    assert (title, found) == ("Availability", False)
    assert texts(html.Div(body)) == ["The period cannot be read: '2026-13': 13 is not a month (01 to 12)"]


def test_a_console_without_reports_or_slas_shows_an_empty_state(tmp_path: Path) -> None:
    title, body, found = v.shown(FakeData(t=NOW), None, "ja", can_act=True)
    empty = open_reporting(tmp_path)
    try:
        _, no_sla, no_sla_found = v.shown(FakeData(t=NOW, reporting=empty), None, "ja", can_act=True)
    finally:
        empty.close()

    assert (title, found, no_sla_found) == ("稼働率", False, False)
    empty_state = "稼働率の報告はありません。設定ファイルの availability: に業務システムの SLA を設定すると、"
    assert texts(html.Div(body)) == texts(html.Div(no_sla)) == [empty_state + "ここに表示されます。"]


def test_the_downloads_are_the_reports_exports_in_the_page_language(data: FakeData) -> None:
    report = data.availability("2026-Q4")
    csv = v.export_download(data, "2026-Q4", "csv", "ja")
    outages = v.export_download(data, "2026-Q4", "outages-csv", "en")

    assert csv is not None and outages is not None
    assert (csv["filename"], csv["type"], csv["base64"]) == (
        "availability-2026-10-quarter-ja.csv",
        "text/csv; charset=utf-8",
        True,
    )
    assert base64.b64decode(csv["content"]) == figures_csv(report, "ja").encode()
    assert base64.b64decode(outages["content"]) == outages_csv(report, "en").encode()
    assert [v.export_download(data, "2026-13", "csv", "ja"), v.export_download(data, "2026-Q4", "xls", "ja")] == [
        None,
        None,
    ]


# -- reclassification -----------------------------------------------------------------------------


@dataclass
class Recorded:
    """Actions that record reclassifications, or refuse them with `refusal`."""

    refusal: str | None = None
    calls: list[tuple[str, float, str, str, str]] = field(default_factory=list)

    def reclassify(self, system: str, at: float, *, category: str, reason: str, by: str) -> None:
        if self.refusal is not None:
            raise ActionError(self.refusal)
        self.calls.append((system, at, category, reason, by))


PENDING = {"system": "records", "at": C[0] + 5400, "start": C[0]}


def test_a_clicked_reclassify_button_chooses_its_outage_and_cancel_clears_it() -> None:
    button = {"type": ids.AVAILABILITY_RECLASSIFY, **PENDING}

    assert v.chosen_outage([(button, 1)]) == PENDING
    assert v.chosen_outage([(button, 0), (button, None)]) is v.UNCHANGED  # drawn again, not clicked
    assert v.chosen_outage([(button, 1), (ids.AVAILABILITY_CANCEL, 1)]) is None
    assert v.pending_outage(PENDING) == ("records", C[0] + 5400, C[0])
    assert [v.pending_outage(x) for x in (None, {"system": "records"}, {"system": 1, "at": 1, "start": 1})] == [
        None,
        None,
        None,
    ]


def test_the_form_names_the_system_and_the_outage_start() -> None:
    names = {"records": "記録管理システム"}

    assert v.form_view(PENDING, names, "ja", TZ) == (
        "availability-form",
        "記録管理システム の停止（2026-12-05 10:00 開始）を再分類",
    )
    assert v.form_view(None, names, "ja", TZ) == ("availability-form hidden", "")


def test_reclassifying_needs_a_reason_and_a_name_and_then_calls_the_action() -> None:
    actions = Recorded()

    assert v.perform(actions, PENDING, "planned", "  ", "suzuki", "ja", TZ) == v.Outcome(
        False, "理由を入力してください（必須）"
    )
    assert v.perform(actions, PENDING, "planned", "計画作業", "", "en", TZ) == v.Outcome(False, "Type your name first")
    assert actions.calls == []
    outcome = v.perform(actions, PENDING, "planned", " 計画作業 ", " suzuki ", "ja", TZ)
    assert outcome == v.Outcome(True, "2026-12-05 10:00 開始の停止を「計画停止」に再分類しました")
    assert outcome.css == "availability-message availability-message-ok"
    assert actions.calls == [("records", C[0] + 5400, "planned", "計画作業", "suzuki")]


def test_a_refused_reclassification_shows_the_consoles_reason() -> None:
    outcome = v.perform(Recorded(refusal="category must be one of planned, external"), PENDING, "x", "r", "s", "en", TZ)

    assert outcome == v.Outcome(False, "The outage was not reclassified: category must be one of planned, external")
    assert outcome.css == "availability-message availability-message-error"
    assert v.perform(None, PENDING, "planned", "r", "s", "en", TZ).message == (
        "This console cannot reclassify outages (alerting or the availability reports are not running)"
    )
    assert v.perform(Recorded(), None, "planned", "r", "s", "en", TZ).message == "No outage is chosen to reclassify"


def test_the_categories_are_written_as_the_report_writes_them() -> None:
    assert v.category_options("ja") == [
        {"label": "計画停止", "value": "planned"},
        {"label": "外部要因", "value": "external"},
    ]
