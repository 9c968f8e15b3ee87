"""The wall in real Chromium: it renders in both languages with no errors and no untranslated key,
fills 1920x1080 and 3840x2160 in kiosk mode without a scrollbar, its tiles show states in words,
the clock runs and the console's health shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
from playwright.sync_api import Browser, Response

from dashboards import ids
from dashboards.app import create_dash
from dashboards.i18n import MISSING
from dashboards.views import wall
from tests.dashboards.browser import Watched, open_page
from tests.dashboards.test_wall_views import fake, vector
from tests.helpers import serve_wsgi

UNTRANSLATED = MISSING.format("")[0]
TIME_PARTS = (ids.WALL_REFRESHED_AT, ids.WALL_REFRESHED)
NO_SCROLLBAR = (
    "document.documentElement.scrollHeight <= window.innerHeight"
    " && document.documentElement.scrollWidth <= window.innerWidth"
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = flask.Flask("test-wall")
    data = fake()
    create_dash(server, lambda: data, default_language="ja")
    with serve_wsgi(server) as url:
        yield url


def open_wall(browser: Browser, url: str, *, lang: str = "ja", width: int = 1920, height: int = 1080) -> Watched:
    watched = open_page(browser, f"{url}/language/{lang}?next=/wall%3Fkiosk%3D1", width=width, height=height)
    watched.page.wait_for_selector("#shell.kiosk")
    watched.page.wait_for_selector("#wall-tiles .wall-tile")
    watched.page.wait_for_selector("#wall-map .scatterlayer")
    return watched


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "ja",
            [
                ["札幌東社会保険事務所", "✖ 重大", "発生 2件・重大 1件"],
                ["旭川社会保険事務所", "◌ 到達不能", "発生 0件・重大 0件"],
            ],
        ),
        (
            "en",
            [
                ["札幌東社会保険事務所", "✖ Critical", "2 firing · 1 critical"],
                ["旭川社会保険事務所", "◌ Unreachable", "0 firing · 0 critical"],
            ],
        ),
    ],
)
def test_the_wall_renders_tiles_with_states_in_words_in_both_languages(
    browser: Browser, base_url: str, lang: str, expected: list[list[str]]
) -> None:
    watched = open_wall(browser, base_url, lang=lang)
    offices = [
        [
            watched.page.inner_text(f"#wall-tiles .wall-tile:nth-child({n}) {part}").replace("\u00a0", " ")
            for part in (".wall-tile-name", ".wall-state", ".wall-tile-counts")
        ]
        for n in (3, 4)
    ]
    assert offices == expected
    classes = [watched.page.get_attribute(f"#wall-tiles .wall-tile:nth-child({n})", "class") for n in (3, 4)]
    assert classes == ["wall-tile state-critical", "wall-tile state-unreachable"]
    assert UNTRANSLATED not in watched.page.inner_text("body")
    assert watched.errors == []


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_the_kiosk_wall_has_no_scrollbar(browser: Browser, base_url: str, width: int, height: int) -> None:
    watched = open_wall(browser, base_url, width=width, height=height)
    assert watched.page.evaluate(NO_SCROLLBAR) is True
    assert watched.page.locator("#wall-tiles .wall-tile").count() == 4
    assert watched.errors == []


def test_the_clock_runs_refreshes_older_than_30_s_turn_stale_and_collector_blind_shows(
    browser: Browser, base_url: str
) -> None:
    watched = open_wall(browser, base_url, lang="en")
    watched.page.wait_for_selector("#wall-freshness.fresh")
    assert watched.page.inner_text("#wall-refreshed-at") == "15 Jan 2027 17:00:00"
    first = watched.page.inner_text("#wall-clock")
    watched.page.wait_for_function(f"document.querySelector('#wall-clock').innerText !== {first!r}")
    stale = "window.dash_clientside.wall.tick(1, Date.now() - 31000, {tz: 'Asia/Tokyo', stale_ms: 30000})[1]"
    assert watched.page.evaluate(stale) == "wall-freshness stale"
    health = watched.page.inner_text("#wall-health").replace("\u00a0", " ")
    assert health == "Console ✖ Critical\nStore: OK\nCollector blind"
    assert watched.errors == []


def test_a_refresh_sends_only_what_changed_and_patches_the_map(browser: Browser) -> None:
    server = flask.Flask("test-wall-changes")
    data = fake()
    create_dash(server, lambda: data, default_language="en")
    with serve_wsgi(server) as url:
        watched = open_page(browser, f"{url}/wall?kiosk=1&refresh=2")
        page = watched.page
        refreshes: list[dict[str, Any]] = []  # what each refresh's response updates, by component id

        def on_response(r: Response) -> None:
            if "/_dash-update-component" in r.url and ids.WALL_SENT in (answer := r.json()["response"]):
                refreshes.append(answer)

        page.on("response", on_response)
        down = "document.querySelector('#wall-map .js-plotly-plot').data[6].x.length"
        page.wait_for_selector("#wall-map .scatterlayer")
        assert page.evaluate(down) == 6  # office-01, office-02
        page.wait_for_function("document.querySelector('#wall-refreshed-at') !== null")
        page.wait_for_timeout(2500)  # at least one refresh of an unchanged wall
        assert refreshes and all(set(r) == {*TIME_PARTS, ids.WALL_SENT} for r in refreshes)
        data.answers[wall.LINK_UP_EXPR] = vector("link", {"east-west-1": 0.0, "office-01": 0.0, "office-02": 0.0})
        page.wait_for_function(f"{down} === 9", timeout=10_000)  # east-west-1 joined the down links
        for _ in range(30):  # the response event reaches this thread a little after the page draws
            if patched := [r for r in refreshes if ids.WALL_MAP in r]:
                break
            page.wait_for_timeout(100)
        assert len(patched) == 1 and set(patched[0]) == {ids.WALL_MAP, *TIME_PARTS, ids.WALL_SENT}
        assert "__dash_patch_update" in patched[0][ids.WALL_MAP]["figure"]
        assert watched.errors == []
