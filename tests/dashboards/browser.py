"""Real Chromium (Debian's, /usr/bin/chromium) driven by Playwright for the web console's browser
tests, and a console web app over a fake data facade served by waitress.

`browser` (session-scoped) launches Chromium once; `open_page(browser, url)` gives a page that
records every console error and page error (`Watched.errors`): a test fails on any.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Playwright, sync_playwright

from tests.helpers import require

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


@contextmanager
def chromium() -> Iterator[Browser]:
    path = shutil.which("chromium") or require("chromium", install="apt-get install -y chromium")
    with sync_playwright() as p:
        yield _launch(p, path)


def _launch(p: Playwright, path: str) -> Browser:
    return p.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))


@dataclass
class Watched:
    page: Page
    errors: list[str] = field(default_factory=list)


def open_page(
    browser: Browser, url: str, *, width: int = 1920, height: int = 1080, login: tuple[str, str] | None = None
) -> Watched:
    """A new page of `width` x `height` at `url`, its console and page errors recorded; first logged
    in through the console's login page as `login` (name, password) when given."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    watched = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text}")

    def on_error(error: Error) -> None:
        watched.errors.append(f"page: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    if login is not None:
        log_in(page, url, *login)
    page.goto(url)
    return watched


def log_in(page: Page, url: str, name: str, password: str) -> None:
    """Log in on the login page of the console serving `url`, as a person does."""
    parts = urlsplit(url)
    page.goto(f"{parts.scheme}://{parts.netloc}/login")
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda now: "/login" not in now)
