"""The audit log page in real Chromium over `FakeData` holding the entries of a real audit log
(SQLite in tmp_path), whose export API (dashboards/api_audit.py) the same Flask app serves, so the
page's download links are fetched as the browser fetches them.

The log, 15 Jan 2027 JST: 09:00 yamada logs in; 09:01 views rtr-east-01; 09:02 suzuki fails to log
in from 10.0.0.9; 09:03 logs in; 09:05 acknowledges fp-1234; 09:10 root adds tanaka from the shell;
09:20 the lobby's kiosk is refused /alerts.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import flask
import pytest
from playwright.sync_api import Browser, Page

from dashboards.api_audit import audit_blueprint
from dashboards.app import create_dash
from dashboards.i18n import MISSING
from security.audit import AuditLog, ChainBreak
from tests.dashboards.browser import Watched, open_page
from tests.dashboards.fakes import FakeData
from tests.dashboards.test_http import fetch
from tests.helpers import serve_wsgi

UNTRANSLATED = MISSING.format("")[0]
JST = ZoneInfo("Asia/Tokyo")


def jst(h: int, mi: int) -> float:
    return datetime(2027, 1, 15, h, mi, tzinfo=JST).timestamp()


YAMADA = {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f"}
SUZUKI = {"ip": "10.0.0.9", "session": "ffeeddccbbaa"}
ENTRIES: list[tuple[float, str, str, str, dict[str, Any]]] = [
    (jst(9, 0), "yamada", "login", "yamada", {**YAMADA, "outcome": "ok"}),
    (jst(9, 1), "yamada", "view.device", "rtr-east-01", YAMADA),
    (jst(9, 2), "suzuki", "login.failed", "suzuki", {"ip": "10.0.0.9", "outcome": "failed"}),
    (jst(9, 3), "suzuki", "login", "suzuki", {**SUZUKI, "outcome": "ok"}),
    (jst(9, 5), "suzuki", "alert.ack", "fp-1234", {"comment": "NTT回線工事 対応中", "session": "ffeeddccbbaa"}),
    (jst(9, 10), "shell:root", "user.add", "tanaka", {"role": "viewer"}),
    (jst(9, 20), "kiosk:lobby", "authz.denied", "/alerts", {"ip": "10.0.1.1", "outcome": "denied"}),
]
EXPORTED_AT = jst(9, 30)
CHAIN_OK = {
    "ja": "ハッシュチェーンは正常です。変更・削除された記録はありません。",
    "en": "The hash chain is intact: no entry was changed or removed.",
}


@dataclass
class Console:
    url: str
    data: FakeData
    log: AuditLog


@contextlib.contextmanager
def serve_console(tmp_path: Path, *, broken: ChainBreak | None = None) -> Iterator[Console]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    try:
        for entry in ENTRIES:
            log.record(*entry)
        server = flask.Flask("test-audit-page")
        server.register_blueprint(
            audit_blueprint(lambda: log, record_export=lambda _action, _detail: None, now=lambda: EXPORTED_AT)
        )
        data = FakeData(t=jst(9, 30), audit_log=log.entries(), audit_break=broken)
        create_dash(server, lambda: data, default_language="ja")
        with serve_wsgi(server) as url:
            yield Console(url, data, log)
    finally:
        log.close()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with serve_console(tmp_path) as c:
        yield c


def open_audit(browser: Browser, console: Console, query: str = "", lang: str = "ja") -> Watched:
    watched = open_page(browser, f"{console.url}/language/{lang}?next={quote('/audit' + query, safe='/')}")
    watched.page.wait_for_selector("#audit-table tr.audit-row, #audit-table .audit-empty, #audit-table .audit-error")
    watched.page.wait_for_selector("#audit-chain:not(:empty)")
    return watched


def rows(page: Page) -> list[list[str]]:
    found = page.locator("#audit-table tr.audit-row")
    return [found.nth(i).locator("td").all_inner_texts() for i in range(found.count())]


def wait_rows(page: Page, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#audit-table tr.audit-row').length === {count}")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_shows_every_entry_newest_first_and_the_intact_chain(
    browser: Browser, console: Console, lang: str
) -> None:
    watched = open_audit(browser, console, lang=lang)
    page = watched.page
    body = page.inner_text("body")
    shown = rows(page)

    assert page.inner_text(".page-title") == {"ja": "監査ログ", "en": "Audit log"}[lang]
    assert [(r[1], r[2]) for r in shown] == [
        ("kiosk:lobby", "authz.denied"),
        ("shell:root", "user.add"),
        ("suzuki", "alert.ack"),
        ("suzuki", "login"),
        ("suzuki", "login.failed"),
        ("yamada", "view.device"),
        ("yamada", "login"),
    ]
    assert page.inner_text("#audit-count") == {"ja": "7 件中 7 件を表示", "en": "7 of 7 shown"}[lang]
    assert page.inner_text("#audit-chain") == CHAIN_OK[lang]
    assert UNTRANSLATED not in body
    assert watched.errors == []


def test_filtering_by_actor_shows_exactly_their_rows_and_links_their_export(browser: Browser, console: Console) -> None:
    watched = open_audit(browser, console)
    page = watched.page
    page.fill("#audit-actor", "suzuki")
    page.press("#audit-actor", "Enter")
    wait_rows(page, 3)

    ack = 'comment="NTT回線工事 対応中" session=ffeeddccbbaa'
    assert rows(page) == [
        ["2027年1月15日 09:05:00", "suzuki", "alert.ack", "fp-1234", "", "", ack],
        ["2027年1月15日 09:03:00", "suzuki", "login", "suzuki", "10.0.0.9", "成功", "session=ffeeddccbbaa"],
        ["2027年1月15日 09:02:00", "suzuki", "login.failed", "suzuki", "10.0.0.9", "失敗", ""],
    ]
    assert page.inner_text("#audit-count") == "3 件中 3 件を表示"
    assert page.get_attribute("#audit-csv", "href") == "/api/v1/audit/export?format=csv&actor=suzuki"
    assert page.get_attribute("#audit-json", "href") == "/api/v1/audit/export?format=json&actor=suzuki"
    assert page.get_attribute("tr.audit-outcome-failed td.audit-subject", "class") == "audit-subject"
    assert watched.errors == []


def test_choosing_an_action_family_shows_every_action_it_begins(browser: Browser, console: Console) -> None:
    watched = open_audit(browser, console)
    page = watched.page
    page.click("#audit-action")
    page.click("[role=option]:has-text('ログイン (login)')")
    wait_rows(page, 3)

    assert [(r[1], r[2]) for r in rows(page)] == [("suzuki", "login"), ("suzuki", "login.failed"), ("yamada", "login")]
    assert page.get_attribute("#audit-csv", "href") == "/api/v1/audit/export?format=csv&action=login"
    assert watched.errors == []


def test_the_url_gives_the_action_prefix_and_the_time_filters(browser: Browser, console: Console) -> None:
    watched = open_audit(browser, console, "?action=login&since=2027-01-15 09:01&until=2027-01-15 09:03")
    page = watched.page

    assert [(r[1], r[2]) for r in rows(page)] == [("suzuki", "login.failed")]
    assert page.input_value("#audit-since") == "2027-01-15 09:01"
    assert page.get_attribute("#audit-csv", "href") == (
        "/api/v1/audit/export?format=csv&since=2027-01-15T00:01:00.000Z&until=2027-01-15T00:03:00.000Z&action=login"
    )
    page.fill("#audit-until", "")
    page.press("#audit-until", "Enter")
    wait_rows(page, 2)
    assert [(r[1], r[2]) for r in rows(page)] == [("suzuki", "login"), ("suzuki", "login.failed")]
    assert watched.errors == []


def test_the_text_filter_and_a_time_that_cannot_be_read(browser: Browser, console: Console) -> None:
    watched = open_audit(browser, console, lang="en")
    page = watched.page
    page.fill("#audit-text", "ntt")
    page.press("#audit-text", "Enter")
    wait_rows(page, 1)
    assert rows(page)[0][3] == "fp-1234"
    page.fill("#audit-since", "15/01/2027")
    page.press("#audit-since", "Enter")
    page.wait_for_selector("#audit-table .audit-error")

    assert page.inner_text("#audit-table") == "From: 15/01/2027 is not a date and time"
    assert page.is_hidden("#audit-exports")
    assert watched.errors == []


def test_the_banner_names_the_broken_entry_when_the_log_says_so(browser: Browser, tmp_path: Path) -> None:
    with serve_console(tmp_path, broken=ChainBreak(3)) as console:
        watched = open_audit(browser, console)
        page = watched.page
        banner, css = page.inner_text("#audit-chain"), page.get_attribute("#audit-chain", "class")
        console.data.audit_break = None
        page.click("#audit-verify")
        page.wait_for_selector("#audit-chain.audit-chain-ok")

    assert banner == "ハッシュチェーンが壊れています: 記録 #3 が変更されています。"
    assert css == "audit-chain audit-chain-broken"
    assert watched.errors == []


def test_the_csv_link_downloads_the_export_of_the_filter(browser: Browser, console: Console, tmp_path: Path) -> None:
    watched = open_audit(browser, console, "?actor=yamada")
    page = watched.page
    wait_rows(page, 2)
    with page.expect_download() as download:
        page.click("#audit-csv")
    saved = tmp_path / "saved.csv"
    download.value.save_as(saved)
    status, _, expected = fetch(console.url + "/api/v1/audit/export?format=csv&actor=yamada")

    assert download.value.suggested_filename == "audit-20270115T003000Z.csv"
    assert status == 200
    assert saved.read_bytes() == expected
    assert [line.split(",")[3] for line in expected.decode("utf-8-sig").splitlines()[1:]] == ["yamada", "yamada"]
    assert json.loads(fetch(console.url + page.get_attribute("#audit-json", "href"))[2])["entries"][0]["id"] == 1
    assert watched.errors == []
