"""The device, link and explore pages in real Chromium: each renders in both languages with no
console or page error and no untranslated key, for a known and an unknown device or link; explore
runs a query typed in its box (and keeps it in the URL) and shows the engine's message for a bad one."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error

from dashboards.app import LANGUAGE_COOKIE, create_dash
from dashboards.i18n import MISSING
from dashboards.views.timerange import time_range
from model import Device, Inventory, Labels, Link, LinkEnd
from store.query.result import InstantSample, QueryResult, RangeSeries
from tests.dashboards.browser import Watched
from tests.dashboards.fakes import T0, FakeData
from tests.helpers import serve_wsgi

UNTRANSLATED = MISSING.format("")[0]
DEVICE = Device(name="rtr-east-01", site="dc-east", system="records", role="router", address="127.0.0.1")
LINK = Link(
    name="east-west-1", a=LinkEnd("rtr-east-01", "Gi0/1"), b=LinkEnd("rtr-west-01", "Gi0/1"), bandwidth_bps=10**9
)
UP = Labels({"__name__": "up", "target": "rtr-east-01", "collector": "snmp"})
END = time_range("1h", T0).end


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    iface = Labels(target="rtr-east-01", ifname="Gi0/1", ifindex="2", link="east-west-1")
    answers = {
        'up{target="rtr-east-01"}': QueryResult("vector", vector=(InstantSample(UP, END, 1.0),)),
        'interface_in_bits_per_second{target="rtr-east-01"}': QueryResult(
            "matrix", matrix=(RangeSeries(iface, ((END - 60, 1e6), (END, 2e6))),)
        ),
        "up": QueryResult("vector", vector=(InstantSample(UP, END, 1.0),)),
    }
    data = FakeData(inventory_=Inventory(devices=(DEVICE,), links=(LINK,)), answers=answers)
    server = flask.Flask("test-device-pages")
    create_dash(server, lambda: data, default_language="ja")
    with serve_wsgi(server) as url:
        yield url


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One context for the module: Dash's and plotly's scripts are fetched once and then cached."""
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    yield ctx
    ctx.close()


def visit(context: BrowserContext, base_url: str, path: str, lang: str) -> Watched:
    """`path` opened in a new page with the language cookie set to `lang` (for the whole site:
    Dash's callbacks are served from the root), its console and page errors recorded."""
    context.add_cookies([{"name": LANGUAGE_COOKIE, "value": lang, "url": base_url + "/"}])
    watched = Watched(context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text}")

    def on_error(error: Error) -> None:
        watched.errors.append(f"page: {error}")

    watched.page.on("console", on_console)
    watched.page.on("pageerror", on_error)
    watched.page.goto(base_url + path)
    watched.page.wait_for_selector(".page-title")
    return watched


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(
    ("path", "ready", "expected"),
    [
        ("/device/rtr-east-01", "#device-interfaces table", {"ja": "インターフェース", "en": "Interfaces"}),
        ("/device/rtr-nowhere", ".not-found", {"ja": "登録されていません", "en": "not in the inventory"}),
        (
            "/link/east-west-1",
            "#link-traffic .js-plotly-plot",
            {"ja": "トラフィック（双方向）", "en": "Traffic (both ways)"},
        ),
        ("/link/west-east-9", ".not-found", {"ja": "登録されていません", "en": "not in the inventory"}),
    ],
)
def test_device_and_link_pages_render_known_and_unknown_names_in_both_languages(
    context: BrowserContext, base_url: str, path: str, ready: str, expected: dict[str, str], lang: str
) -> None:
    watched = visit(context, base_url, path, lang)
    watched.page.wait_for_selector(ready)
    text = watched.page.inner_text(".shell-main")
    assert expected[lang] in text
    assert UNTRANSLATED not in text
    assert watched.errors == []
    watched.page.close()


def test_the_range_picker_redraws_the_device_and_keeps_the_range_in_the_url(
    context: BrowserContext, base_url: str
) -> None:
    watched = visit(context, base_url, "/device/rtr-east-01?range=6h", "en")
    watched.page.wait_for_selector("#device-interfaces table")
    watched.page.check('.range-picker input[value="7d"]')
    watched.page.wait_for_url("**/device/rtr-east-01?range=7d")
    # the fake answers the 1 h queries only: over 7 days (rollup windows) the device has no interfaces
    watched.page.wait_for_selector("#device-interfaces p.muted")
    assert watched.page.inner_text("#device-interfaces p") == "No interface data."
    assert watched.errors == []
    watched.page.close()


def test_explore_runs_the_query_typed_in_the_box_and_puts_it_in_the_url(context: BrowserContext, base_url: str) -> None:
    watched = visit(context, base_url, "/explore", "en")
    watched.page.fill("#explore-query", "up")
    watched.page.click("#explore-run")
    watched.page.wait_for_selector(".explore-series")
    assert watched.page.inner_text(".explore-series") == 'up{collector="snmp", target="rtr-east-01"}'
    assert watched.page.url == base_url + "/explore?q=up&range=1h"
    assert watched.errors == []
    watched.page.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_explore_shows_the_engines_message_for_a_bad_query(context: BrowserContext, base_url: str, lang: str) -> None:
    watched = visit(context, base_url, "/explore?q=rate(up%5B5m%5D&range=6h", lang)
    watched.page.wait_for_function("document.querySelector('#explore-error')?.innerText.length > 0")
    assert watched.page.inner_text("#explore-error") == "no answer for rate(up[5m] in this test"
    assert watched.page.input_value("#explore-query") == "rate(up[5m]"
    assert UNTRANSLATED not in watched.page.inner_text(".shell-main")
    assert watched.errors == []
    watched.page.close()
