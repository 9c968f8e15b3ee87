"""Fixtures for store tests: a store on a fake clock in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from model import FakeClock
from store import Store

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, an hour boundary


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=T0)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock, registry: CollectorRegistry) -> Iterator[Store]:
    s = Store.open(tmp_path / "data", clock=clock, metrics=registry)
    yield s
    s.close()
