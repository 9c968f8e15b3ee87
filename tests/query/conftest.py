"""Fixtures for the differential tests: one real Prometheus and one console store holding the same
data (tests/query/datasets.py), per test session and so per xdist worker (each worker starts its own
pair: cheaper than sharing one across processes, and the parametrized tests still spread over both).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from model import Sample, SystemClock
from store.remote import group
from store.tsdb import Store
from tests.helpers import free_port, require
from tests.query import datasets
from tests.query.prometheus import PrometheusServer

INSTALL = "apt-get install -y --no-install-recommends prometheus (or scripts/setup.sh --test)"


@dataclass(frozen=True)
class Twin:
    """The same samples in Prometheus and in the console's store. `start` is the data set's start
    (Unix seconds, a whole minute, 55 minutes before the session began)."""

    prometheus: PrometheusServer
    store: Store
    registry: CollectorRegistry
    start: float
    samples: list[Sample]


@pytest.fixture(scope="session")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    binary = require("prometheus", install=INSTALL)
    require("cramjam", install="scripts/setup.sh (a dependency of the console)")
    workdir: Path = tmp_path_factory.mktemp("differential")
    # Both must accept the data: Prometheus' head takes only recent samples through remote write,
    # a fresh store those from the start of the previous hour block on.
    start = time.time() // 60 * 60 - 55 * 60
    samples = datasets.build(start)
    registry = CollectorRegistry()
    store = Store.open(workdir / "store", clock=SystemClock(), metrics=registry)
    prometheus = PrometheusServer(binary, workdir / "prometheus", free_port())
    try:
        prometheus.start()
        for batch in datasets.slices(samples):  # ascending time across all series, as a scraper sends
            prometheus.write(group(batch))
            store.append(batch)
        assert store.flush(), "the store did not commit the data set"
        yield Twin(prometheus, store, registry, start, samples)
    finally:
        prometheus.stop()
        store.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per disagreeing corpus expression, and the totals (works under xdist: the reports
    reach the controller)."""
    prefix = "tests/query/test_differential.py::test_engine_agrees_with_prometheus["
    counts: dict[str, int] = {}
    failures: list[str] = []
    for outcome in ("passed", "failed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if not nodeid.startswith(prefix) or getattr(report, "when", "call") not in {"call", "setup"}:
                continue
            if outcome == "skipped" or report.when == "call":
                counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "failed":
                failures.append(nodeid[len(prefix) : -1])
    if not counts:
        return
    terminalreporter.section("differential: console engine vs Prometheus 2.42")
    terminalreporter.write_line(
        f"{counts.get('passed', 0)} expressions agree, {counts.get('failed', 0)} disagree, "
        f"{counts.get('skipped', 0)} skipped"
    )
    for expr in sorted(failures):
        terminalreporter.write_line(f"  disagrees: {expr}")
