"""One collection of every given target, for `run_console.py collect-once`: each collector runs once
through the scheduler (so health is recorded as in `run`), the samples are printed as JSON lines and
the targets found down are reported with their cause. Nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from typing import TextIO

import prometheus_client

from collectors import COLLECTOR_KINDS
from collectors.base import CollectorDeps
from collectors.scheduler import Scheduler
from model import Link, Sample, SystemClock, Target

__all__ = ["NullSink", "collect_once", "sample_json"]


def sample_json(sample: Sample) -> str:
    """One sample as one JSON object: name, labels, value (null for NaN/inf), ts (Unix seconds)."""
    value: float | None = sample.value if math.isfinite(sample.value) else None
    return json.dumps(
        {"name": sample.name, "labels": dict(sample.labels), "value": value, "ts": sample.ts},
        ensure_ascii=False,
        sort_keys=False,
    )


class NullSink:
    """collect-once writes nothing: the scheduler's run_once_all returns the samples."""

    def append(self, samples: Sequence[Sample]) -> None:
        return None

    def record_state(self, target: str, state: object, ts: float, cause: str) -> None:
        return None


def collect_once(targets: Sequence[Target], links: Sequence[Link], out: TextIO, err: TextIO) -> int:
    """Run every collector of `targets` once (`links` for reachability), write each sample to `out`
    (`sample_json`, one a line) and each target down to `err` with its error and cause: 0, 1 when
    any target is down."""
    clock = SystemClock()
    deps = CollectorDeps(clock=clock)
    scheduler = Scheduler(
        targets=list(targets),
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=NullSink(),
        clock=clock,
        metrics=prometheus_client.CollectorRegistry(),
        links=links,
    )

    async def once() -> list[Sample]:
        try:
            return await scheduler.run_once_all()
        finally:
            deps.snmp.close()  # on this loop, before asyncio.run closes it

    samples = asyncio.run(once())
    for sample in samples:
        out.write(sample_json(sample) + "\n")
    down = [h for h in scheduler.health().values() if h.up is False]
    for h in down:
        err.write(f"{h.key}: down: {h.last_error} (cause: {h.last_cause})\n")
    return 1 if down else 0
