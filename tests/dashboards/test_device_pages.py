"""The device, link and explore pages in real Chromium: each renders in both languages with no
console or page error and no untranslated key, for a known and an unknown device or link; explore
runs a query typed in its box (and keeps it in the URL) and shows the engine's message for a bad one.

The auto refresh of the device and link pages runs against its own app whose interval is set to
REFRESH_MS for every range (`app.server.extensions[REFRESH_EVERY_KEY]`, dashboards/views/named.py):
the body follows the fake facade's answers tick after tick, in place (never blanked, the graph's
zoom kept), and stands still while paused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import flask
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, Request, expect

from dashboards.app import LANGUAGE_COOKIE, create_dash
from dashboards.i18n import MISSING
from dashboards.views.named import REFRESH_EVERY_KEY
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
IN_BPS = 'interface_in_bits_per_second{target="rtr-east-01"}'
IFACE = Labels(target="rtr-east-01", ifname="Gi0/1", ifindex="2", link="east-west-1")
UTILISATION = 'interface_utilisation_ratio{link="east-west-1"}'
UTIL = Labels(target="rtr-east-01", direction="out", link="east-west-1")
REFRESH_MS = 400
"""The refresh tests' interval, for every range: a tick every 0.4 s."""
WAIT_MS = 30_000
"""How long a test waits for what the page should come to show (Chromium is slow on a busy machine)."""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    answers = {
        'up{target="rtr-east-01"}': QueryResult("vector", vector=(InstantSample(UP, END, 1.0),)),
        IN_BPS: QueryResult("matrix", matrix=(RangeSeries(IFACE, ((END - 60, 1e6), (END, 2e6))),)),
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


# -- auto refresh ---------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    data: FakeData


def answer(data: FakeData, expr: str, labels: Labels, value: float) -> None:
    """Make the fake answer `expr` with one series of `value` over the last 10 minutes of the 1 h range now."""
    end = time_range("1h", data.t).end
    data.answers[expr] = QueryResult("matrix", matrix=(RangeSeries(labels, ((end - 600, value), (end, value))),))


@pytest.fixture
def refreshing() -> Iterator[Served]:
    """An app of its own, refreshing every REFRESH_MS, over a fake the test changes."""
    data = FakeData(inventory_=Inventory(devices=(DEVICE,), links=(LINK,)))
    answer(data, IN_BPS, IFACE, 2e6)
    answer(data, UTILISATION, UTIL, 0.5)
    server = flask.Flask("test-device-refresh")
    create_dash(server, lambda: data, default_language="ja")
    server.extensions[REFRESH_EVERY_KEY] = REFRESH_MS
    with serve_wsgi(server) as url:
        yield Served(url, data)


def watch_blanks(page: Page, body: str, kept: str) -> None:
    """Record in `window.blanks` every DOM change after which `body` is empty or `kept` is gone
    (when, and what changed), and keep `kept`'s node in `window.kept` (the same node later: updated
    in place, not mounted afresh). Starts once `kept` is drawn: Dash mounts a graph twice while
    plotly's script first loads."""
    page.wait_for_selector(kept)
    page.evaluate(
        """([body, kept]) => {
            window.blanks = [];
            window.kept = document.querySelector(kept);
            new MutationObserver((changes) => {
                const b = document.querySelector(body);
                if (!b || b.children.length === 0 || !document.querySelector(kept)) {
                    const what = changes.map((c) => `${c.target.id || c.target.className}: ` +
                        `+${c.addedNodes.length} -${c.removedNodes.length}`);
                    window.blanks.push(`${Math.round(performance.now())} ms: ${what.join("; ")}`);
                }
            }).observe(document.querySelector(".shell-main"), {childList: true, subtree: true});
        }""",
        [body, kept],
    )


def callbacks(page: Page) -> list[str]:
    """The Dash callback requests `page` sends from now on."""
    sent: list[str] = []

    def on_request(request: Request) -> None:
        if "/_dash-update-component" in request.url:
            sent.append(request.url)

    page.on("request", on_request)
    return sent


def test_the_device_body_follows_the_data_every_tick_in_place_and_stands_still_while_paused(
    context: BrowserContext, refreshing: Served
) -> None:
    data = refreshing.data
    watched = visit(context, refreshing.url, "/device/rtr-east-01", "en")
    page = watched.page
    in_cell = page.locator("#device-interfaces tbody td.num").first
    expect(in_cell).to_have_text("2.0 Mbit/s", timeout=WAIT_MS)
    assert page.inner_text("#device-every") == "Auto refresh every 0.4 s"
    watch_blanks(page, "#device-body", "#device-history .js-plotly-plot")

    data.t = T0 + 15
    answer(data, IN_BPS, IFACE, 5e6)
    expect(in_cell).to_have_text("5.0 Mbit/s", timeout=WAIT_MS)
    expect(page.locator("#device-refreshed")).to_have_text("Last refreshed 15 Jan 2027 17:00:15", timeout=WAIT_MS)

    page.click("#device-pause")
    expect(page.locator("#device-pause")).to_have_text("Resume", timeout=WAIT_MS)
    assert page.inner_text("#device-every") == "Auto refresh paused"
    sent = callbacks(page)
    answer(data, IN_BPS, IFACE, 7e6)
    page.wait_for_timeout(REFRESH_MS * 5)
    assert (in_cell.inner_text(), sent) == ("5.0 Mbit/s", [])

    page.click("#device-pause")
    expect(in_cell).to_have_text("7.0 Mbit/s", timeout=WAIT_MS)
    expect(page.locator("#device-pause")).to_have_text("Pause", timeout=WAIT_MS)
    assert page.url == refreshing.url + "/device/rtr-east-01?range=1h"
    assert page.evaluate("window.blanks") == []
    assert page.evaluate("window.kept === document.querySelector('#device-history .js-plotly-plot')")
    assert watched.errors == []
    watched.page.close()


def drag_zoom(page: Page, graph: str) -> list[str]:
    """Zoom `graph` as a user does, dragging across the middle of its plot; its new x range."""
    page.locator(graph).scroll_into_view_if_needed()
    box = page.locator(f"{graph} .nsewdrag").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "(graph) => document.querySelector(graph).layout.xaxis.autorange === false", arg=graph, timeout=WAIT_MS
    )
    zoomed: list[str] = page.evaluate("(graph) => document.querySelector(graph).layout.xaxis.range", graph)
    return zoomed


def test_the_link_body_refreshes_too_and_a_graph_zoomed_while_paused_keeps_its_zoom(
    context: BrowserContext, refreshing: Served
) -> None:
    data = refreshing.data
    watched = visit(context, refreshing.url, "/link/east-west-1", "en")
    page = watched.page
    now = page.locator("#link-utilisation .link-now").first
    expect(now).to_have_text("rtr-east-01 → rtr-west-01: 50.0%", timeout=WAIT_MS)
    graph = "#link-utilisation .js-plotly-plot"
    watch_blanks(page, "#link-body", graph)

    data.t = T0 + 15
    answer(data, UTILISATION, UTIL, 0.75)
    expect(now).to_have_text("rtr-east-01 → rtr-west-01: 75.0%", timeout=WAIT_MS)
    expect(page.locator("#link-refreshed")).to_have_text("Last refreshed 15 Jan 2027 17:00:15", timeout=WAIT_MS)

    page.click("#link-pause")
    expect(page.locator("#link-every")).to_have_text("Auto refresh paused", timeout=WAIT_MS)
    sent = callbacks(page)
    zoom = drag_zoom(page, graph)
    answer(data, UTILISATION, UTIL, 0.9)
    page.wait_for_timeout(REFRESH_MS * 5)
    assert (now.inner_text(), sent) == ("rtr-east-01 → rtr-west-01: 75.0%", [])

    page.click("#link-pause")
    expect(now).to_have_text("rtr-east-01 → rtr-west-01: 90.0%", timeout=WAIT_MS)
    page.wait_for_timeout(REFRESH_MS * 3)  # and a few more redraws
    assert page.evaluate("(graph) => document.querySelector(graph).layout.xaxis.range", graph) == zoom
    assert page.evaluate("window.blanks") == []
    assert watched.errors == []
    watched.page.close()


def test_the_refresh_is_written_in_the_page_language_and_the_switch_keeps_the_range(
    context: BrowserContext, refreshing: Served
) -> None:
    watched = visit(context, refreshing.url, "/device/rtr-east-01?range=6h", "ja")
    page = watched.page
    expect(page.locator("#device-refreshed")).to_have_text("最終更新 2027年1月15日 17:00:00", timeout=WAIT_MS)
    assert (page.inner_text("#device-every"), page.inner_text("#device-pause")) == ("自動更新 0.4秒ごと", "一時停止")
    page.click("#language-toggle")
    expect(page.locator(".page-title")).to_have_text("Device rtr-east-01", timeout=WAIT_MS)
    expect(page.locator("#device-refreshed")).to_have_text("Last refreshed 15 Jan 2027 17:00:00", timeout=WAIT_MS)
    page.wait_for_timeout(REFRESH_MS * 3)  # a few refreshes in English
    assert page.url == refreshing.url + "/device/rtr-east-01?range=6h"
    assert page.is_checked('.range-picker input[value="6h"]')
    assert UNTRANSLATED not in page.inner_text(".shell-main")
    assert (page.inner_text("#device-every"), page.inner_text("#device-pause")) == ("Auto refresh every 0.4 s", "Pause")
    assert watched.errors == []
    watched.page.close()
