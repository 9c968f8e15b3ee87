"""The alerts page in real Chromium over a real pipeline (silences, acks and maintenance windows in a
MuteDB in tmp_path, notifications to a real webhook receiver, a fake clock): the page and
`/api/v1` are served by the same Flask app, so what the page does is checked through the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import pytest
from playwright.sync_api import Browser, Page
from prometheus_client import CollectorRegistry

from alerts.model import Alert, AlertState
from alerts.routing import Route
from dashboards import HealthReport, create_server
from dashboards.actions import ApiActions
from dashboards.api_alerts import AlertsApi
from dashboards.app import create_dash
from dashboards.i18n import MISSING
from dashboards.queries import LiveData
from model import FakeClock, Inventory, Labels
from store.query.result import QueryError, QueryResult
from tests.alerts.factories import webhook_pipeline
from tests.alerts.hooks import serve_hook
from tests.dashboards.browser import open_page
from tests.helpers import serve_wsgi

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z: 17:00 in Tokyo
ROUTE = Route(receiver="oncall", group_by=("alertname",), group_wait=30.0, group_interval=300.0, repeat_interval=3600.0)
UNTRANSLATED = MISSING.format("")[0]
WINDOW = {
    "name": "core-patching",
    "matchers": ['site="dc-east"'],
    "owner": "netops",
    "reason": "monthly switch firmware",
    "location": "Asia/Tokyo",
    "schedule": {"monthly": {"days": [1], "start": "02:00", "duration": "3h"}},
}


def down(target: str) -> Alert:
    return Alert(
        labels=Labels(alertname="DeviceDown", severity="critical", site="dc-west", target=target),
        annotations=Labels(summary=f"{target} is down", summary_ja=f"機器停止: {target}"),
        state=AlertState.FIRING,
        active_at=T0 - 60,
        value=0.0,
        fired_at=T0,
        last_evaluated=T0,
    )


class NoQueries:
    def instant(self, expr: str, at: float) -> QueryResult:
        raise QueryError("the alerts page makes no query")

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        raise QueryError("the alerts page makes no query")


@dataclass
class Console:
    url: str

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["data"]

    def alerts(self) -> dict[str, dict[str, Any]]:
        """GET /api/v1/alerts by target."""
        return {a["labels"]["target"]: a for a in self.api("GET", "/api/v1/alerts")["alerts"]}


@contextlib.contextmanager
def serve_console(tmp_path: Path) -> Iterator[Console]:
    """Alerts srv-0 and srv-1 fired at T0 and notified at T0 + 30 s; the clock stays at T0 + 31 s.
    The page and the API on one Flask app."""
    clock = FakeClock(T0)
    with serve_hook() as hook, webhook_pipeline(tmp_path, clock, hook.url, ROUTE, [WINDOW]) as pipeline:
        pipeline.receive("g", [down("srv-0"), down("srv-1")])
        for _ in range(31):
            clock.advance(1.0)
            pipeline.tick()
            # Sync Playwright runs an event loop in this thread: send from another one.
            with ThreadPoolExecutor(1) as worker:
                worker.submit(asyncio.run, pipeline.delivery.send_due(clock.now())).result()
        assert hook.delivered() == ['{}:{alertname="DeviceDown"}']
        api = AlertsApi(pipeline, clock)
        server: flask.Flask = create_server(
            metrics=CollectorRegistry(), latest=list, health=lambda: HealthReport({}), alerts=lambda: api
        )
        data = LiveData(Inventory(), NoQueries(), pipeline, lambda: HealthReport({}), clock)
        create_dash(server, lambda: data, default_language="ja", actions=lambda: ApiActions(api))
        with serve_wsgi(server) as url:
            yield Console(url)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with serve_console(tmp_path) as c:
        yield c


def row(page: Page, target: str) -> str:
    return f"tr.alerts-row:has-text('{target}')"


def act(page: Page, target: str, action: str) -> None:
    """Click `action`'s button in `target`'s row and wait for the form."""
    page.click(f"{row(page, target)} .alerts-button-{action}")
    page.wait_for_selector("#alerts-form:not(.hidden)")


def submit(page: Page, expected: str) -> None:
    page.click("#alerts-submit")
    page.wait_for_function(f"document.querySelector('#alerts-message')?.innerText === {json.dumps(expected)}")


def test_the_page_lists_real_alerts_and_windows_in_both_languages_without_errors(
    browser: Browser, console: Console
) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    ja = page.inner_text(".page-alerts")
    page.click("#language-toggle")
    page.wait_for_function("document.querySelector('.page-title')?.innerText === 'Alerts'")
    page.wait_for_selector("tr.alerts-row")
    en = page.inner_text(".page-alerts")

    assert [page.inner_text(f"{row(page, t)} .alerts-state") for t in ("srv-0", "srv-1")] == ["Firing", "Firing"]
    assert "機器停止: srv-0" in ja and "2027年1月15日 17:00" in ja and "2 件中 2 件を表示" in ja
    assert "srv-0 is down" in en and "15 Jan 2027 17:00" in en and "2 of 2 alerts" in en
    assert (
        'core-patching\tsite="dc-east"\tmonthly start=02:00 duration=3h days=1 (Asia/Tokyo)\tnetops\t'
        "monthly switch firmware\tNot active (next change 1 Feb 2027 02:00)\tConfig file"
    ) in en
    assert UNTRANSLATED not in ja + en
    assert watched.errors == []


def test_acknowledging_an_alert_in_the_page_changes_its_state_in_the_api(browser: Browser, console: Console) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    page.fill("#alerts-actor", "yamada")
    act(page, "srv-0", "ack")
    page.fill("#alerts-comment", "交換手配中")
    page.fill("#alerts-duration", "4h")
    submit(page, "確認しました")
    page.wait_for_selector(f"{row(page, 'srv-0')} .alerts-state-acknowledged")

    assert console.alerts()["srv-0"]["acknowledgement"] == {
        "fingerprint": down("srv-0").fingerprint,
        "by": "yamada",
        "comment": "交換手配中",
        "at": "2027-01-15T08:00:31.000Z",
        "expiresAt": "2027-01-15T12:00:31.000Z",
    }
    assert console.alerts()["srv-1"]["acknowledgement"] is None
    page.wait_for_selector("#alerts-form", state="hidden")  # the form closes after the table updates
    assert page.inner_text(f"{row(page, 'srv-0')} td:nth-child(7)") == (
        "yamada が確認（2027年1月15日 17:00）、2027年1月15日 21:00 まで: 交換手配中"
    )

    act(page, "srv-0", "unack")
    submit(page, "確認を取り消しました")
    assert console.alerts()["srv-0"]["acknowledgement"] is None
    assert watched.errors == []


def test_silencing_from_the_page_mutes_the_alert_and_expiring_it_unmutes(browser: Browser, console: Console) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    page.fill("#alerts-actor", "yamada")
    act(page, "srv-1", "silence")
    prefilled = page.input_value("#alerts-matchers")
    assert page.input_value("#alerts-duration") == "2h"
    page.fill("#alerts-comment", "disk swap")
    page.click("#alerts-submit")
    page.wait_for_function("document.querySelector('#alerts-message')?.innerText.startsWith('抑止 #')")
    silence_id = page.inner_text("#alerts-message").removeprefix("抑止 #").removesuffix(" を作成しました")
    page.wait_for_selector(f"{row(page, 'srv-1')} .alerts-state-silenced")
    muted = console.alerts()

    assert prefilled == 'alertname="DeviceDown"\nseverity="critical"\nsite="dc-west"\ntarget="srv-1"'
    assert muted["srv-1"]["mutes"] == [
        {
            "reason": "silenced",
            "detail": f"silenced by #{silence_id} (yamada: disk swap)",
            "ref": silence_id,
            "args": {"id": silence_id, "by": "yamada", "comment": "disk swap"},
        }
    ]
    assert muted["srv-0"]["mutes"] == []
    assert console.api("GET", f"/api/v1/silence/{silence_id}")["endsAt"] == "2027-01-15T10:00:31.000Z"

    act(page, "srv-1", "expire")
    submit(page, f"抑止 #{silence_id} を解除しました")
    assert console.alerts()["srv-1"]["mutes"] == []
    assert watched.errors == []


def test_the_name_of_who_acts_is_required_and_kept_in_local_storage(browser: Browser, console: Console) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    act(page, "srv-0", "ack")
    submit(page, "操作者名を入力してください")
    assert console.alerts()["srv-0"]["acknowledgement"] is None

    page.fill("#alerts-actor", "suzuki")
    page.reload()
    page.wait_for_selector("tr.alerts-row")
    page.wait_for_function("document.querySelector('#alerts-actor')?.value === 'suzuki'")
    assert watched.errors == []


def test_a_maintenance_window_is_added_and_deleted_from_the_page(browser: Browser, console: Console) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    page.fill("#alerts-actor", "sato")
    page.click(".alerts-button-create-maintenance")
    page.wait_for_selector("#alerts-form:not(.hidden)")
    page.fill("#alerts-window-name", "srv-0-disk")
    page.fill("#alerts-matchers", 'target="srv-0"')
    page.fill("#alerts-window-start", "2027-01-15 16:00")
    page.fill("#alerts-window-end", "2027-01-15 19:00")
    page.fill("#alerts-comment", "ディスク交換")
    submit(page, "保守期間 srv-0-disk を追加しました")
    page.wait_for_selector(f"{row(page, 'srv-0')} .alerts-state-maintenance")
    windows = {w["name"]: w for w in console.api("GET", "/api/v1/maintenance")}

    assert windows["srv-0-disk"]["window"] == {
        "name": "srv-0-disk",
        "matchers": ['target="srv-0"'],
        "owner": "sato",
        "reason": "ディスク交換",
        "location": "Asia/Tokyo",
        "schedule": {"once": {"start": "2027-01-15 16:00", "end": "2027-01-15 19:00"}},
    }
    assert (windows["srv-0-disk"]["createdBy"], windows["srv-0-disk"]["active"]) == ("sato", True)
    assert console.alerts()["srv-0"]["mutes"][0]["detail"] == "in maintenance srv-0-disk (sato: ディスク交換)"

    page.click(".alerts-maintenance-table tr:has-text('srv-0-disk') .alerts-button-delete-maintenance")
    submit(page, "保守期間 srv-0-disk を削除しました")
    assert [w["name"] for w in console.api("GET", "/api/v1/maintenance")] == ["core-patching"]
    assert watched.errors == []


def open_editor(page: Page, kind: str) -> None:
    """Open the maintenance editor and choose schedule `kind` (its Japanese label)."""
    page.click(".alerts-button-create-maintenance")
    page.wait_for_selector("#alerts-form:not(.hidden)")
    page.click(f"#alerts-window-kind label:has-text('{kind}')")
    page.wait_for_selector("#alerts-window-recurring:not(.hidden)")


def test_a_weekly_maintenance_window_is_added_from_the_page_with_its_schedule(
    browser: Browser, console: Console
) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    page.fill("#alerts-actor", "sato")
    open_editor(page, "毎週")
    assert page.is_hidden("#alerts-window-once") and page.is_hidden("#alerts-window-days-field")
    assert page.input_value("#alerts-window-location") == "Asia/Tokyo"  # the console's zone
    page.fill("#alerts-window-name", "srv-patch")
    page.fill("#alerts-matchers", 'target=~"srv-.*"')
    page.fill("#alerts-window-at", "02:00")
    page.fill("#alerts-window-duration", "3h")
    page.click("#alerts-window-weekdays label:has-text('木')")
    page.click("#alerts-window-weekdays label:has-text('火')")
    page.fill("#alerts-comment", "定期パッチ")
    submit(page, "保守期間 srv-patch を追加しました")
    page.wait_for_selector(".alerts-maintenance-table tr:has-text('srv-patch')")
    windows = {w["name"]: w for w in console.api("GET", "/api/v1/maintenance")}

    assert windows["srv-patch"]["window"] == {
        "name": "srv-patch",
        "matchers": ['target=~"srv-.*"'],
        "owner": "sato",
        "reason": "定期パッチ",
        "location": "Asia/Tokyo",
        "schedule": {"weekly": {"start": "02:00", "duration": "3h", "weekdays": ["tuesday", "thursday"]}},
    }
    assert (windows["srv-patch"]["active"], windows["srv-patch"]["nextChange"]) == (False, "2027-01-18T17:00:00.000Z")
    assert page.inner_text(".alerts-maintenance-table tr:has-text('srv-patch') td:nth-child(3)") == (
        "weekly start=02:00 duration=3h weekdays=tuesday,thursday (Asia/Tokyo)"
    )
    assert watched.errors == []


def test_a_window_the_api_refuses_shows_the_apis_reason_in_the_pages_sentence(
    browser: Browser, console: Console
) -> None:
    watched = open_page(browser, console.url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    page.fill("#alerts-actor", "sato")
    open_editor(page, "毎月")
    page.fill("#alerts-window-name", "month-end")
    page.fill("#alerts-matchers", 'site="dc-west"')
    page.fill("#alerts-window-at", "22:00")
    page.fill("#alerts-window-duration", "4h")
    page.fill("#alerts-window-days", "-1, 40")
    page.fill("#alerts-comment", "月末バッチ")
    submit(
        page,
        "保守期間を追加できませんでした（入力内容を確認してください）: window: schedule.monthly.days[1]: "
        "40 is not a day of the month (1 to 31, or -1 to -31 counted from the month's end)",
    )

    assert [w["name"] for w in console.api("GET", "/api/v1/maintenance")] == ["core-patching"]
    assert page.get_attribute("#alerts-message", "class") == "alerts-message alerts-message-error"
    assert page.is_visible("#alerts-form")  # kept open to correct the field
    assert watched.errors == []


def test_japanese_labels_stay_on_one_line_and_choices_are_readable_on_the_dark_theme(
    browser: Browser, console: Console
) -> None:
    watched = open_page(browser, console.url + "/alerts", width=1280, height=900)
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    open_editor(page, "毎週")

    def lines(selector: str) -> dict[str, int]:
        """How many lines the text of each visible element takes (the distinct tops of its boxes)."""
        return dict(
            page.eval_on_selector_all(
                selector,
                "els => els.filter(e => e.checkVisibility()).map(e => { const r = document.createRange(); "
                "r.selectNodeContents(e); "
                "return [e.innerText, new Set([...r.getClientRects()].map(c => Math.round(c.top))).size]; })",
            )
        )

    def colours(selector: str) -> set[str]:
        return set(page.eval_on_selector_all(selector, "els => els.map(e => getComputedStyle(e).color)"))

    assert page.inner_text(".alerts-actor-label") == "操作者名"
    assert lines(".alerts-actor-label") == {"操作者名": 1}
    assert lines("#alerts-form .alerts-field-label") == {
        "名前": 1,
        "繰り返し": 1,
        "開始時刻（HH:MM）": 1,
        "長さ（例: 3h）": 1,
        "曜日": 1,
        "タイムゾーン（例: Asia/Tokyo）": 1,
        "対象ラベル条件（1行に1つ）": 1,
        "コメント（理由）": 1,
    }
    assert lines(".alerts-choice .dash-options-list-option-text") == {
        **{"通知グループ別": 1, "一覧": 1, "1回のみ": 1, "毎日": 1, "毎週": 1, "毎月": 1},
        **{day: 1 for day in "月火水木金土日"},
    }
    page.hover("#alerts-window-weekdays label:has-text('水')")
    hovered = colours("#alerts-window-weekdays label:has-text('水')")
    page.evaluate("document.activeElement.blur()")
    page.mouse.move(0, 0)
    text = "rgb(232, 237, 242)"  # --text of console.css, as the rest of the page
    assert colours(".alerts-choice .dash-options-list-option") == {text}
    assert colours(".page-alerts") == {text}
    assert colours("#alerts-form .dash-input-container, #alerts-matchers, .alerts-actor .dash-input-container") == {
        text
    }
    assert set(
        page.eval_on_selector_all(
            ".page-alerts .dash-input-container", "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
    ) == {"rgb(16, 20, 26)"}  # --bg: typed text is light on dark, not light on Dash's white
    assert hovered == {"rgb(143, 193, 255)"}  # the console's link colour, not Dash's purple
    assert watched.errors == []
