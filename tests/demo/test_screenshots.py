"""Every page of the web console works on the demo estate, in both languages, in real Chromium:
no console or page error, no untranslated string. The screenshots in docs/screenshots/ are made
here (`<page>.<lang>.png`, 1920x1080), on the demo with its east-west WAN pair cut, so that the
wall and the alerts show what operators see in an outage."""

from __future__ import annotations

import contextlib
import urllib.parse
from pathlib import Path

import pytest

from dashboards.i18n import MISSING
from demo import agents
from tests.alerts.hooks import serve_hook
from tests.dashboards.browser import chromium, open_page
from tests.demo.support import (
    REPO,
    SNMPSIM_INSTALL,
    api,
    built_on_free_ports,
    rehearsal_config,
    running_console,
    wait_for,
)
from tests.helpers import TESTER_PASSWORD, api_token, free_port, require, require_root

SCREENSHOTS = REPO / "docs" / "screenshots"
PAGES = (
    ("wall", "/wall?kiosk=1"),
    ("alerts", "/alerts"),
    ("device", "/device/rtr-west-01"),
    ("link", "/link/east-west-1"),
    ("explore", "/explore?q=sum%20by%20(site)%20(up)&range=1h"),
    ("availability", "/availability"),
    ("audit", "/audit"),
)
SHOT_NAMES = {"availability": "availability-demo"}
"""docs/screenshots/availability.*.png shows a year of history (tests/dashboards/test_availability_page.py);
the demo's page, with its minutes of history and the cut, is photographed beside it."""
UNTRANSLATED = MISSING.format("")[0]


@pytest.mark.slow
def test_every_page_works_on_the_demo_estate_in_both_languages_and_is_photographed(tmp_path: Path) -> None:
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    require_root("the console pings every device (raw ICMP sockets)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        hook = stack.enter_context(serve_hook())
        built = built_on_free_ports(pager_port=urllib.parse.urlsplit(hook.url).port)
        config_path = rehearsal_config(tmp_path / "config", built, f"127.0.0.1:{port}")
        stack.enter_context(agents.running_agents(built, tmp_path / "agents"))
        stack.enter_context(agents.running_front_ends(built))
        console = stack.enter_context(running_console(config_path, tmp_path / "console.log"))
        token = api_token(tmp_path / "config" / "data", role="viewer")
        api_token(tmp_path / "config" / "data", role="admin", name="demo-admin")  # who looks at the pages

        def up() -> float:
            assert console.poll() is None, (tmp_path / "console.log").read_text(encoding="utf-8")[-2000:]
            result = api(base, "/api/v1/query?query=count(up%3D%3D1)", token)["result"]
            return float(result[0]["value"][1]) if result else 0.0

        wait_for("most targets up", up, lambda n: n >= 100, 40)
        agents.cut_links(built, tmp_path / "agents", ("east-west-1", "east-west-2"))

        def firing() -> list[str]:
            return [
                a["labels"]["alertname"] for a in api(base, "/api/v1/alerts", token)["alerts"] if a["state"] == "firing"
            ]

        wait_for("the cut's link alerts firing", firing, lambda names: names.count("WanLinkDown") == 2, 60)
        browser = stack.enter_context(chromium())
        for lang in ("ja", "en"):
            for name, path in PAGES:
                shown = f"{base}/language/{lang}?next={urllib.parse.quote(path, safe='')}"
                watched = open_page(browser, shown, login=("demo-admin", TESTER_PASSWORD))
                watched.page.wait_for_selector(f".page-{name}")
                watched.page.wait_for_load_state("networkidle")
                watched.page.screenshot(path=str(SCREENSHOTS / f"{SHOT_NAMES.get(name, name)}.{lang}.png"))
                text = watched.page.inner_text("body")
                found = watched.errors + ([f"untranslated: {UNTRANSLATED}"] if UNTRANSLATED in text else [])
                if found:
                    problems[f"{lang} {path}"] = found
                watched.page.context.close()
    assert problems == {}
