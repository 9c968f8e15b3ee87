"""Fixtures of the web console's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.dashboards.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Real Chromium, once per test module: sync Playwright keeps an event loop running in this
    thread while it is open, which the other (asyncio) tests of a worker must not meet."""
    with chromium() as b:
        yield b
