"""The login in real Chromium on a real console: a page asks for the login first, a wrong password
says so, every page then works under the Content-Security-Policy (a blocked script or style is a
console error), the shell shows who is logged in and only the pages their role may open, and logging
out forgets the session on the server and in the browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.dashboards.browser import chromium, open_page
from tests.security.console import PASSWORDS, Running, running

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN_PAGES = ("/wall", "/alerts", "/explore", "/device/console-host", "/availability", "/audit")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("browser")) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def test_a_page_asks_for_the_login_and_a_wrong_password_says_so(console: Running, browser: Browser) -> None:
    watched = open_page(browser, f"{console.url}/alerts")
    page = watched.page
    page.wait_for_selector("#login-form")
    assert page.url == f"{console.url}/login?next=/alerts"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login.ja.png"))
    page.fill("#login-name", "operator")
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not(:empty)")
    assert page.inner_text("#login-error") == "ユーザー名またはパスワードが違います"
    page.fill("#login-password", PASSWORDS["operator"])
    page.click("#login-submit")
    page.wait_for_url(f"{console.url}/alerts")
    page.wait_for_selector(".page-alerts")
    assert len(watched.errors) == 1 and "status of 401" in watched.errors[0]  # the refused login's answer
    page.context.close()


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_every_page_works_under_the_content_security_policy(console: Running, browser: Browser, path: str) -> None:
    watched = open_page(browser, f"{console.url}{path}", login=("admin", PASSWORDS["admin"]))
    page = watched.page
    page.wait_for_selector(".page-title")
    page.wait_for_load_state("networkidle")
    assert watched.errors == []
    assert page.inner_text(".shell-user") == "admin (admin)"
    page.context.close()


def test_the_shell_links_only_the_pages_the_role_may_open(console: Running, browser: Browser) -> None:
    watched = open_page(browser, f"{console.url}/wall", login=("viewer", PASSWORDS["viewer"]))
    page = watched.page
    page.wait_for_selector(".page-wall")
    links = page.eval_on_selector_all(".shell-nav a", "links => links.map(a => a.getAttribute('href'))")
    assert links == ["/wall", "/alerts", "/explore"]
    page.context.close()


def test_logging_out_ends_the_session_and_forgets_the_browsers_storage(console: Running, browser: Browser) -> None:
    watched = open_page(browser, f"{console.url}/alerts", login=("oncall", PASSWORDS["oncall"]))
    page = watched.page
    page.wait_for_selector(".page-alerts")
    page.evaluate("window.localStorage.setItem('probe', 'x')")
    cookies = page.context.cookies()
    page.click("#logout")
    page.wait_for_url(f"{console.url}/login")
    assert page.evaluate("window.localStorage.length") == 0
    assert [c["name"] for c in page.context.cookies() if c["name"] == "_csrf_token"] == []
    page.goto(f"{console.url}/alerts")
    page.wait_for_selector("#login-form")
    replay = console.client()
    replay.cookies.update({c["name"]: c["value"] for c in cookies})
    assert replay.get("/api/v1/alerts").status_code == 401
    assert watched.errors == []
    page.context.close()


def test_a_kiosk_sees_the_wall_without_navigation(console: Running, browser: Browser) -> None:
    watched = open_page(browser, f"{console.url}/kiosk/{console.kiosk_token}")
    page = watched.page
    page.wait_for_selector(".page-wall")
    assert page.url == f"{console.url}/wall?kiosk=1"
    page.wait_for_selector("#shell.kiosk")
    assert page.locator("#logout").count() == 0
    assert watched.errors == []
    page.context.close()
