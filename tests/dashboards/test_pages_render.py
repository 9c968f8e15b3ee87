"""Every page of the web console renders in real Chromium with no console or page error, in both
languages, with no untranslated catalog key; the language switch and kiosk mode work."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from playwright.sync_api import Browser

from dashboards.app import create_dash
from dashboards.i18n import MISSING
from tests.dashboards.browser import open_page
from tests.dashboards.fakes import FakeData
from tests.helpers import serve_wsgi

PAGES = ("/wall", "/alerts", "/explore", "/device/rtr-east-01", "/link/east-west-1", "/availability", "/audit")
UNTRANSLATED = MISSING.format("")[0]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = flask.Flask("test-console")
    data = FakeData()
    create_dash(server, lambda: data, default_language="ja")
    with serve_wsgi(server) as url:
        yield url


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_errors_or_untranslated_text(browser: Browser, base_url: str, path: str) -> None:
    watched = open_page(browser, base_url + path)
    watched.page.wait_for_selector(".page-title")
    text = watched.page.inner_text("body")
    assert watched.errors == []
    assert UNTRANSLATED not in text
    assert "運用監視コンソール" in text


def test_the_language_switch_switches_the_labels_and_is_remembered(browser: Browser, base_url: str) -> None:
    watched = open_page(browser, base_url + "/alerts")
    watched.page.wait_for_selector(".page-title")
    assert watched.page.inner_text(".page-title") == "アラート"
    watched.page.click("#language-toggle")
    watched.page.wait_for_function("document.querySelector('.page-title')?.innerText === 'Alerts'")
    assert watched.page.url == base_url + "/alerts"
    watched.page.goto(base_url + "/wall")
    watched.page.wait_for_selector(".page-title")
    assert watched.page.inner_text(".page-title") == "Wall"
    assert watched.errors == []


def test_kiosk_mode_hides_the_navigation(browser: Browser, base_url: str) -> None:
    watched = open_page(browser, base_url + "/wall?kiosk=1")
    watched.page.wait_for_selector("#shell.kiosk")
    assert watched.page.is_hidden("#nav")
    assert watched.errors == []


def test_the_root_goes_to_the_wall(browser: Browser, base_url: str) -> None:
    watched = open_page(browser, base_url + "/")
    watched.page.wait_for_selector(".page-wall")
    assert watched.page.url == base_url + "/wall"
