"""The console's own metrics in its own store, as Prometheus scrapes itself.

Every `SELF_INTERVAL` seconds the samples of the console's prometheus_client registry (scheduler,
store, rules, notifications: what `/metrics` shows first) are appended to the store under their
exposition names (`scheduler_skipped_runs_total`, `notifications_failed_total`, histogram
`_bucket`/`_sum`/`_count`; `_created` samples are left out, as Prometheus does by default). Rules
can then alert on the console itself (`SchedulerSkippingRuns` in config/rules/console.yaml) and
dashboards graph it.

    keep_recording(loop, registry, store, clock)   # on the loop's thread; ends with the loop
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry

from model import Clock, Labels, Sample

__all__ = ["SELF_INTERVAL", "keep_recording", "registry_samples"]

log = logging.getLogger(__name__)

SELF_INTERVAL = 15.0
"""Seconds between two recordings of the console's own metrics."""


class _Sink(Protocol):
    def append(self, samples: Sequence[Sample]) -> None: ...


def registry_samples(registry: CollectorRegistry, t: float) -> list[Sample]:
    """Every sample of `registry` at time `t` (Unix seconds), `_created` ones left out."""
    out: list[Sample] = []
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            out.append(Sample(sample.name, Labels(sample.labels), float(sample.value), t))
    return out


def keep_recording(
    loop: asyncio.AbstractEventLoop,
    registry: CollectorRegistry,
    sink: _Sink,
    clock: Clock,
    interval: float = SELF_INTERVAL,
) -> None:
    """Record now and every `interval` seconds on `loop` (call it on the loop's thread, e.g.
    through `loop.call_soon_threadsafe`). A failure is logged and the next round comes anyway."""
    try:
        sink.append(registry_samples(registry, clock.now()))
    except Exception:
        log.exception("recording the console's own metrics failed")
    loop.call_later(interval, keep_recording, loop, registry, sink, clock, interval)
