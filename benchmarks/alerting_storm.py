"""Part (2) of the alerting benchmark (benchmarks/alerting.py): an alert storm through the
console's notification pipeline to a real webhook.

5,000 alerts from 50 rule groups (sources) firing within one minute: source k hands its 100 alerts
(one alert name per source, 5 sites x 20 instances) to the pipeline at k x 1.2 s, and hands them
again every 15 s as the rule manager does, until the end. The console assembly of alerts/service.py
(`Alerting.open`: pipeline, mutes, outbox in SQLite files in a temp dir) on the system clock,
`pipeline.run` and `delivery.run` on an event loop in a thread (as the console runs them), one
receiver with a webhook to a real HTTP server on 127.0.0.1 in this process (tests/alerts/hooks.py);
group_by [alertname, site] (250 groups of 20 alerts), group_wait 30 s, group_interval 5 m. Every
alert of a group arrives in the same batch, so no alert waits for a group_interval by design and the
latency is the pipeline's own: for each alert, (time the webhook first received it) - (time it was
handed to the pipeline + group_wait). Every alert must arrive (checked). Resident memory (psutil
RSS) before and after the storm. Target: p99 <= 5 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry

from alerts.alertconfig import AlertingConfig
from alerts.model import Alert, AlertState
from alerts.service import Alerting
from benchmarks.alerting_rules import INTERVAL, KINDS
from model import Inventory, Labels, Sample, SystemClock
from store.query.result import QueryError, QueryResult
from tests.alerts.hooks import serve_hook

TARGET_P99_SECONDS = 5.0
GROUP_WAIT = 30.0
GROUP_INTERVAL = 300.0


@dataclass(frozen=True)
class StormSizes:
    sources: int
    per_source: int
    sites: int
    seconds: float


@dataclass
class StormFigures:
    handed: int = 0
    delivered: int = 0
    notifications: int = 0
    latencies: list[float] = field(default_factory=list)
    rss_before: int = 0
    rss_after: int = 0
    cpu: float = 0.0
    last_handed: float = 0.0


class _NoQueries:
    """The storm hands alerts to the pipeline itself: no rule groups, no queries."""

    def instant(self, expr: str, at: float) -> QueryResult:
        raise QueryError("no queries in the storm", error_type="execution")


class _NoSink:
    def append(self, samples: Sequence[Sample]) -> None:
        pass

    def flush(self, timeout: float = 30.0) -> bool:
        return True


def storm_alerts(k: int, sizes: StormSizes, t: float) -> list[Alert]:
    name = f"{KINDS[k % len(KINDS)]}{k // len(KINDS)}"
    return [
        Alert(
            labels=Labels(
                alertname=name, site=f"site-{n % sizes.sites:02d}", instance=f"node-{n:05d}", severity="critical"
            ),
            annotations=Labels(summary=f"{name} on node-{n:05d}", description="alert storm benchmark"),
            state=AlertState.FIRING,
            active_at=t,
            value=1.0,
            fired_at=t,
        )
        for n in range(sizes.per_source)
    ]


async def feed(alerting: Alerting, sizes: StormSizes, start: float, handed: dict[str, float]) -> None:
    """Source k first fires at start + k * seconds / sources and hands its alerts again every
    15 s (on the loop, as the rule manager's `on_alerts`)."""

    async def source(k: int) -> None:
        first = start + k * sizes.seconds / sizes.sources
        await asyncio.sleep(max(first - time.time(), 0.0))
        alerts = storm_alerts(k, sizes, time.time())
        t = first
        while True:
            now = time.time()
            for a in alerts:
                handed.setdefault(a.fingerprint, now)
            alerting.pipeline.receive(f"storm.yaml;source-{k:02d}", alerts)
            t += INTERVAL
            await asyncio.sleep(max(t - time.time(), 0.0))

    await asyncio.gather(*(source(k) for k in range(sizes.sources)))


def storm_config(url: str) -> AlertingConfig:
    """One receiver, a webhook to `url`; group_by [alertname, site], GROUP_WAIT, GROUP_INTERVAL."""
    return AlertingConfig.model_validate(
        {
            "route": {
                "receiver": "oncall",
                "group_by": ["alertname", "site"],
                "group_wait": f"{GROUP_WAIT:g}s",
                "group_interval": f"{GROUP_INTERVAL:g}s",
                "repeat_interval": "4h",
            },
            "receivers": [{"name": "oncall", "webhook_configs": [{"url": url}]}],
        }
    )


def storm(sizes: StormSizes, workdir: Path) -> StormFigures:
    """The storm with the console's `Alerting` (SQLite files under `workdir`/storm) on an event
    loop in a thread, until every alert has reached the webhook or the deadline has passed."""
    figures = StormFigures()
    received: dict[str, float] = {}
    lock = threading.Lock()
    total = sizes.sources * sizes.per_source
    with serve_hook() as hook:

        def answer(payload: dict[str, Any]) -> int:
            now = time.time()
            with lock:
                figures.notifications += 1
                for a in payload["alerts"]:
                    received.setdefault(a["fingerprint"], now)
            return 200

        hook.answer = answer
        config = storm_config(hook.url)
        process = psutil.Process()
        figures.rss_before = process.memory_info().rss
        alerting = Alerting.open(
            [],
            config,
            Inventory(),
            engine=_NoQueries(),
            store=_NoSink(),
            clock=SystemClock(),
            registry=CollectorRegistry(),
            data_dir=workdir / "storm",
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="storm-loop", daemon=True)
        thread.start()
        handed: dict[str, float] = {}
        cpu = time.process_time()
        try:
            alerting.start(loop)
            start = time.time() + 1.0
            feeder = asyncio.run_coroutine_threadsafe(feed(alerting, sizes, start, handed), loop)
            deadline = start + sizes.seconds + GROUP_WAIT + 120.0
            while time.time() < deadline:
                with lock:
                    if len(received) >= total:
                        break
                time.sleep(0.2)
            feeder.cancel()
            alerting.stop(loop, timeout=10.0)
        finally:
            figures.cpu = time.process_time() - cpu
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
            alerting.close()
        figures.rss_after = process.memory_info().rss
    figures.handed = len(handed)
    figures.delivered = len(received.keys() & handed.keys())
    figures.latencies = sorted(received[fp] - (t + GROUP_WAIT) for fp, t in handed.items() if fp in received)
    figures.last_handed = max(handed.values(), default=0.0) - (min(handed.values(), default=0.0))
    return figures


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of sorted `values` (nearest rank)."""
    return values[min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))]
