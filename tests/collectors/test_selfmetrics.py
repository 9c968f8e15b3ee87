"""collectors/selfmetrics.py: the console records its own metrics in its own store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram

from collectors.selfmetrics import keep_recording, registry_samples
from model import FakeClock, Labels, Sample
from store import Matcher, MatchOp, Store

T0 = 1_800_000_000.0


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    skipped = Counter("scheduler_skipped_runs", "Runs skipped.", ["reason"], registry=registry)
    skipped.labels("missed").inc(3)
    latency = Histogram("send_seconds", "Send time.", buckets=(0.5,), registry=registry)
    latency.observe(0.2)
    return registry


def test_registry_samples_are_the_exposition_samples_without_created() -> None:
    assert registry_samples(_registry(), T0) == [
        Sample("scheduler_skipped_runs_total", Labels(reason="missed"), 3.0, T0),
        Sample("send_seconds_bucket", Labels(le="0.5"), 1.0, T0),
        Sample("send_seconds_bucket", Labels(le="+Inf"), 1.0, T0),
        Sample("send_seconds_count", Labels(), 1.0, T0),
        Sample("send_seconds_sum", Labels(), 0.2, T0),
    ]


def test_keep_recording_writes_into_the_store_and_schedules_the_next_round(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    store = Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry())
    loop = asyncio.new_event_loop()
    try:
        start = loop.time()
        keep_recording(loop, _registry(), store, clock, interval=15.0)
        assert store.flush()
        [ref] = store.select([Matcher("__name__", MatchOp.EQ, "scheduler_skipped_runs_total")])
        data = store.read_range([ref.id], int(T0 * 1000) - 1, int(T0 * 1000) + 1)[ref.id]
        assert (data.ts.tolist(), data.values.tolist()) == ([int(T0 * 1000)], [3.0])
        [timer] = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        assert round(timer.when() - start) == 15
    finally:
        loop.close()
        store.close()
