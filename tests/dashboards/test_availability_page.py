"""The availability page in real Chromium over a real `Reporting` (history and audit log in SQLite in
tmp_path) with a realistic FY2026: the page, `/api/v1/availability` and the reclassifications are
served by one Flask app (the page's actions go through the availability API as `ApiActions` does in
the console), so what the page shows and does is checked against the API, the history and the
audit log. The docs' screenshots (docs/screenshots/availability.<lang>.png) are taken here.

FY2026, as of 15 Jan 2027 09:00 JST:
- 記録管理システム (records, 24x7, SLA 99.9 %): 12 Jun 14:00-14:45 counted; 31 Oct 23:00 - 1 Nov
  01:00 across the month boundary; 10 Nov 02:00-04:00, half under the maintenance window disk-swap;
  5 Dec 10:00-13:00 reclassified as an external cause (NTT line work); the console did not watch
  3 Aug 02:00-06:00;
- 基礎年金番号管理システム (kiso, weekdays 08:30-21:00, SLA 99.5 %): both inter-centre links down
  15 Jul 10:00-10:40 (one of them from 09:50: degraded before); its server down on 21 Sep
  (敬老の日: no service hours) and on 8 Jan 19:30-22:00 (counted until 21:00).
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask
import pytest
from playwright.sync_api import Browser, Page
from prometheus_client import CollectorRegistry

from alerts.routing import Route
from dashboards import HealthReport, create_server
from dashboards.actions import ApiActions
from dashboards.api_alerts import AlertsApi
from dashboards.api_availability import AvailabilityApi
from dashboards.app import create_dash
from dashboards.i18n import MISSING
from model import FakeClock, Labels
from reports.calendars import Language
from reports.formatting import duration, local_time, met_text, number, percent
from reports.history import AlertSpan, LeafSpan
from reports.report import figures_csv
from reports.reporting import Reporting
from tests.alerts.factories import webhook_pipeline
from tests.dashboards.browser import Watched, open_page
from tests.dashboards.fakes import FakeData
from tests.dashboards.test_availability_views import RECORDS, TZ, estate, jst, open_reporting
from tests.helpers import serve_wsgi

NOW = jst(2027, 1, 15, 9)
UNTRANSLATED = MISSING.format("")[0]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KISO = {
    "system": "kiso",
    "target": 99.5,
    "service_hours": {"windows": [{"days": ["weekdays"], "start": "08:30", "end": "21:00"}]},
    "tree": {
        "all": [
            {"device": "srv-kiso-01"},
            {"k_of_n": {"k": 1, "of": [{"link": "east-west-1"}, {"link": "east-west-2"}]}},
        ]
    },
}
FIGURES = (  # the card's figures and the API's JSON fields they show
    ("availability", "availability"), ("target", "target"), ("met", "met"), ("service", "serviceSeconds"),
    ("downtime", "downtimeSeconds"), ("degraded", "degradedSeconds"), ("excluded", "excludedSeconds"),
    ("incidents", "incidents"), ("mttr", "mttrSeconds"), ("mtbf", "mtbfSeconds"), ("longest", "longestOutageSeconds"),
    ("budget", "errorBudgetSeconds"), ("budget_left", "errorBudgetLeftSeconds"), ("burn_rate", "burnRate"),
    ("unwatched", "unwatchedSeconds"),
)  # fmt: skip


def alert(start: float, end: float, name: str, summary: str, summary_ja: str, **labels: str) -> AlertSpan:
    return AlertSpan(
        f"fp-{name}-{start}",
        Labels(labels, alertname=name, severity="critical"),
        Labels(summary=summary, summary_ja=summary_ja),
        start,
        end,
    )


def record_fy2026(reporting: Reporting) -> None:
    """The history of the module docstring."""
    records = [
        (jst(2026, 6, 12, 14), jst(2026, 6, 12, 14, 45)),
        (jst(2026, 10, 31, 23), jst(2026, 11, 1, 1)),
        (jst(2026, 11, 10, 2), jst(2026, 11, 10, 4)),
        (jst(2026, 12, 5, 10), jst(2026, 12, 5, 13)),
    ]
    kiso = [(jst(2026, 9, 21, 11), jst(2026, 9, 21, 12)), (jst(2027, 1, 8, 19, 30), jst(2027, 1, 8, 22))]
    wan = (jst(2026, 7, 15, 10), jst(2026, 7, 15, 10, 40))
    reporting.history.insert(
        [
            *(LeafSpan("device:srv-records-01", "down", s, e) for s, e in records),
            *(LeafSpan("device:srv-kiso-01", "down", s, e) for s, e in kiso),
            LeafSpan("link:east-west-1", "down", jst(2026, 7, 15, 9, 50), wan[1]),
            LeafSpan("link:east-west-2", "down", *wan),
        ],
        [
            *(
                alert(
                    s,
                    e,
                    "DeviceDown",
                    "Device srv-records-01 is down",
                    "機器停止: srv-records-01",
                    target="srv-records-01",
                )
                for s, e in records[:2]
            ),
            alert(*kiso[1], "DeviceDown", "Device srv-kiso-01 is down", "機器停止: srv-kiso-01", target="srv-kiso-01"),
            alert(*wan, "WanLinkDown", "WAN link east-west-2 is down", "回線停止: east-west-2", link="east-west-2"),
        ],
        [(jst(2026, 4, 1), jst(2026, 8, 3, 2)), (jst(2026, 8, 3, 6), NOW)],
    )
    reporting.reclassify(
        "records", records[3][0] + 60, "external", "NTT回線工事（事前通知あり）", "suzuki", jst(2026, 12, 7, 10)
    )


@dataclass
class Console:
    url: str
    reporting: Reporting

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())["data"]


@contextlib.contextmanager
def serve_console(tmp_path: Path, *, reports: bool = True) -> Iterator[Console]:
    """The page and the API over a Reporting in tmp_path with the FY2026 history (or, without
    `reports`, a console that keeps none)."""
    clock = FakeClock(NOW)
    reporting = open_reporting(tmp_path / "data", RECORDS, KISO)
    record_fy2026(reporting)
    try:
        with webhook_pipeline(tmp_path, clock, "http://127.0.0.1:9/unused", Route(receiver="oncall")) as pipeline:
            alerts_api = AlertsApi(pipeline, clock)
            availability_api = AvailabilityApi(reporting, clock)
            server: flask.Flask = create_server(
                metrics=CollectorRegistry(),
                latest=list,
                health=lambda: HealthReport({}),
                alerts=lambda: alerts_api,
                availability=lambda: availability_api,
            )
            data = FakeData(inventory_=estate(), t=NOW, reporting=reporting if reports else None)
            actions = ApiActions(alerts_api, availability_api)
            create_dash(server, lambda: data, default_language="ja", actions=lambda: actions)
            with serve_wsgi(server) as url:
                yield Console(url, reporting)
    finally:
        reporting.close()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with serve_console(tmp_path) as c:
        yield c


def open_availability(browser: Browser, console: Console, query: str = "?period=FY2026", lang: str = "ja") -> Watched:
    watched = open_page(browser, f"{console.url}/language/{lang}?next=/availability{query.replace('?', '%3F')}")
    watched.page.wait_for_selector(".availability-card")
    watched.page.wait_for_selector(".availability-timeline .barlayer")
    return watched


def shown_figures(page: Page, system: str) -> dict[str, str]:
    """The card of `system` as the page shows it: figure key -> text."""
    cells = page.locator(f"#availability-system-{system} .availability-figure")
    out = {}
    for i in range(cells.count()):
        key = next(c for c in cells.nth(i).get_attribute("class").split() if c.startswith("availability-figure-"))
        out[key.removeprefix("availability-figure-")] = cells.nth(i).locator("dd").inner_text()
    return out


def expected_figures(total: dict[str, Any], lang: Language) -> dict[str, str]:
    """The card's figures from the API's JSON, written by reports/formatting.py."""
    out = {}
    for key, field in FIGURES:
        value = total[field]
        if key in ("availability", "target"):
            out[key] = percent(value, lang)
        elif key == "met":
            out[key] = met_text(value, lang)
        elif key == "incidents":
            out[key] = str(value)
        elif key == "burn_rate":
            out[key] = number(value, lang)
        elif key != "unwatched" or value > 0:
            out[key] = duration(value, lang)
    return out


def shown_outages(page: Page, system: str) -> list[list[str]]:
    rows = page.locator(f"#availability-system-{system} tr.availability-outage")
    return [[rows.nth(i).locator("td").nth(c).inner_text() for c in range(5)] for i in range(rows.count())]


def seconds(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def expected_outages(outages: list[dict[str, Any]], lang: Language) -> list[list[str]]:
    return [
        [
            local_time(seconds(o["start"]), TZ, lang),
            local_time(seconds(o["end"]), TZ, lang),
            duration(o["durationSeconds"], lang),
            duration(o["countedSeconds"], lang),
            o["causeJa"] if lang == "ja" else o["cause"],
        ]
        for o in outages
    ]


def availability_text(page: Page, system: str = "records") -> str:
    return page.inner_text(f"#availability-system-{system} .availability-figure-availability dd")


def outage_row(system: str, start: str) -> str:
    return f"#availability-system-{system} tr.availability-outage:has-text('{start}')"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_shows_the_figures_of_the_report_and_the_api_in_both_languages(
    browser: Browser, console: Console, lang: Language
) -> None:
    watched = open_availability(browser, console, lang=lang)
    page = watched.page
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"availability.{lang}.png"), full_page=True)
    body = page.inner_text("body")
    api = console.api(f"/api/v1/availability?period=FY2026&lang={lang}")
    report = console.reporting.report(console.reporting.period("FY2026"), NOW)

    assert page.inner_text(".page-title") == api["period"]["label"] == report.period.label(lang)
    for system, from_api, from_report in zip(("records", "kiso"), api["systems"], report.systems, strict=True):
        shown = shown_figures(page, system)
        assert shown == expected_figures(from_api["total"], lang)
        assert shown["availability"] == percent(from_report.total.availability, lang)
        assert shown_outages(page, system) == expected_outages(from_api["outages"], lang)
    assert "unwatched" in shown_figures(page, "records")  # the console did not watch 3 Aug 02:00-06:00
    assert len(shown_outages(page, "records")) == 4 and len(shown_outages(page, "kiso")) == 3
    assert ("敬老の日" in body, "disk-swap" in body, "NTT回線工事（事前通知あり）" in body) == (True, True, True)
    assert UNTRANSLATED not in body
    page.click(f"{outage_row('kiso', '2026-07-15 10:00')} .availability-reclassify")  # the form, hidden until now
    page.wait_for_selector("#availability-form:not(.hidden)")
    assert UNTRANSLATED not in page.inner_text("#availability-form")
    page.click("#availability-cancel")
    page.wait_for_selector("#availability-form", state="hidden")
    assert watched.errors == []


def test_reclassifying_an_outage_from_the_page_changes_the_availability_and_is_audited(
    browser: Browser, console: Console
) -> None:
    watched = open_availability(browser, console)
    page = watched.page
    before = availability_text(page)
    page.click(f"{outage_row('records', '2026-10-31 23:00')} .availability-reclassify")
    page.wait_for_selector("#availability-form:not(.hidden)")
    page.fill("#availability-actor", "yamada")
    assert page.inner_text("#availability-form-title") == "記録管理システム の停止（2026-10-31 23:00 開始）を再分類"
    page.click("#availability-category label:has-text('計画停止')")
    page.fill("#availability-reason", "基盤更改の計画作業（告知済み）")
    page.click("#availability-submit")
    page.wait_for_function(
        "document.querySelector('#availability-message')?.innerText === "
        + json.dumps("2026-10-31 23:00 開始の停止を「計画停止」に再分類しました")
    )
    after = percent(
        console.reporting.report(console.reporting.period("FY2026"), NOW).systems[0].total.availability, "ja"
    )
    page.wait_for_function(
        "document.querySelector('#availability-system-records .availability-figure-availability dd')?.innerText === "
        + json.dumps(after)
    )
    page.wait_for_selector("#availability-form", state="hidden")
    changes = console.reporting.history.reclassifications("records")
    entries = console.reporting.audit.entries("availability.reclassify")
    row = page.inner_text(outage_row("records", "2026-10-31 23:00"))

    assert before != after
    assert [(c.category, c.reason, c.by, c.at) for c in changes[1:]] == [
        ("planned", "基盤更改の計画作業（告知済み）", "yamada", NOW)
    ]
    assert jst(2026, 10, 31, 23) < changes[1].at_time < jst(2026, 11, 1, 1)
    assert [(e.actor, e.detail["category"], e.detail["reason"]) for e in entries[1:]] == [
        ("yamada", "planned", "基盤更改の計画作業（告知済み）")
    ]
    assert "機器停止: srv-records-01" in row and "計画停止" in row and "yamada（2027-01-15 09:00）" in row
    assert watched.errors == []


def test_reclassifying_without_a_reason_shows_the_error_and_changes_nothing(browser: Browser, console: Console) -> None:
    watched = open_availability(browser, console)
    page = watched.page
    before = availability_text(page)
    page.click(f"{outage_row('records', '2026-06-12 14:00')} .availability-reclassify")
    page.wait_for_selector("#availability-form:not(.hidden)")
    page.fill("#availability-actor", "yamada")
    page.click("#availability-submit")
    page.wait_for_function(
        "document.querySelector('#availability-message')?.innerText === " + json.dumps("理由を入力してください（必須）")
    )

    assert page.is_visible("#availability-form")
    assert availability_text(page) == before
    assert len(console.reporting.history.reclassifications("records")) == 1  # the one recorded before
    assert len(console.reporting.audit.entries("availability.reclassify")) == 1
    assert watched.errors == []


def test_the_csv_download_is_the_reports_figures_csv(browser: Browser, console: Console, tmp_path: Path) -> None:
    watched = open_availability(browser, console, "?period=2026-Q4")
    page = watched.page
    with page.expect_download() as download:
        page.click("#availability-exports button:has-text('指標（CSV）')")
    saved = tmp_path / "figures.csv"
    download.value.save_as(saved)
    report = console.reporting.report(console.reporting.period("2026-Q4"), NOW)

    assert download.value.suggested_filename == "availability-2026-10-quarter-ja.csv"
    assert saved.read_bytes() == figures_csv(report, "ja").encode()
    assert watched.errors == []


def test_the_period_picker_keeps_the_period_in_the_url_and_a_bad_one_shows_the_parsers_message(
    browser: Browser, console: Console
) -> None:
    watched = open_availability(browser, console, "")
    page = watched.page
    assert page.inner_text(".page-title") == "令和8年度（2026年度）"  # the current fiscal year
    page.click(".availability-preset:has-text('先月')")
    page.wait_for_function("document.querySelector('.page-title')?.innerText === '2026年12月'")
    assert page.url.endswith("/availability?period=2026-12")
    assert page.input_value("#availability-period") == "2026-12"
    page.fill("#availability-period", "2026-13")
    page.press("#availability-period", "Enter")
    page.wait_for_selector(".availability-error")

    assert page.inner_text(".page-title") == "稼働率"
    assert page.inner_text(".availability-error") == "期間を読み取れません: '2026-13': 13 is not a month (01 to 12)"
    assert page.url.endswith("/availability?period=2026-13")
    assert page.is_hidden("#availability-exports")
    page.fill("#availability-period", "2026-04..2026-09")
    page.click("#availability-show")
    page.wait_for_function("document.querySelector('.page-title')?.innerText === '2026年4月〜2026年9月'")
    page.wait_for_selector(".availability-card")
    assert watched.errors == []


def test_a_console_without_reports_shows_an_empty_state(browser: Browser, tmp_path: Path) -> None:
    with serve_console(tmp_path, reports=False) as console:
        watched = open_page(browser, f"{console.url}/language/en?next=/availability")
        watched.page.wait_for_selector(".availability-none")
        title, text = watched.page.inner_text(".page-title"), watched.page.inner_text("body")

    assert title == "Availability"
    assert "No availability reports." in text and UNTRANSLATED not in text
    assert watched.errors == []
