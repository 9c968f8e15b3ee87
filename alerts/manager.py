"""Running rule groups on their interval on an asyncio loop, as Prometheus' rule manager does.

Each group is evaluated at `offset + k * interval` (Unix seconds), where `offset` is a stable hash
of the group's key within the interval, so groups with the same interval spread over it and keep
their phase across restarts. The evaluation time passed to the rules is the slot time, not the
moment the evaluation ran. A slot missed because the previous evaluation overran is skipped and
counted (`rule_group_iterations_missed_total`), never run late in a burst.

After each evaluation `on_alerts` receives the group's key and its active and recently resolved
alerts (the notification pipeline's entry); it may be a plain function or a coroutine function.

    manager = RuleManager(evaluator=evaluator, groups=groups, on_alerts=pipeline.receive)
    manager.start(loop)            # from any thread; the loop runs elsewhere
    ...
    await manager.shutdown()       # on the loop: no evaluation in progress after it returns
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter

from alerts.evaluation import RuleEvaluator
from alerts.model import Alert
from alerts.rules import RuleGroup

__all__ = ["OnAlerts", "RuleManager", "group_offset", "next_slot"]

log = logging.getLogger(__name__)

OnAlerts = Callable[[str, Sequence[Alert]], Awaitable[None] | None]
"""Called with the group's key and its alerts after each evaluation of the group."""


def group_offset(group: RuleGroup) -> float:
    """Seconds into each interval at which `group` is evaluated: FNV-1a (64 bit) of its key,
    modulo the interval in milliseconds."""
    digest = 0xCBF29CE484222325
    for byte in group.key.encode("utf-8"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    interval_ms = max(round(group.interval * 1000), 1)
    return (digest % interval_ms) / 1000


def next_slot(group: RuleGroup, now: float) -> float:
    """The first evaluation time of `group` strictly after `now`."""
    offset = group_offset(group)
    k = (now - offset) // group.interval + 1
    return offset + k * group.interval


class RuleManager:
    """Schedules every group on one loop. Metrics: rule_group_iterations_missed_total{rule_group}."""

    def __init__(
        self,
        *,
        evaluator: RuleEvaluator,
        groups: Sequence[RuleGroup],
        on_alerts: OnAlerts,
        registry: CollectorRegistry,
    ) -> None:
        self._evaluator = evaluator
        self._groups = tuple(groups)
        self._on_alerts = on_alerts
        self._clock = evaluator.clock
        self._tasks: list[asyncio.Task[None]] = []
        self._started: concurrent.futures.Future[None] | None = None
        self._missed = Counter(
            "rule_group_iterations_missed_total",
            "Group evaluations skipped because the previous one overran.",
            ["rule_group"],
            registry=registry,
        )

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start one task per group on `loop` (callable from any thread)."""
        self._started = asyncio.run_coroutine_threadsafe(self._spawn(), loop)

    async def _spawn(self) -> None:
        self._tasks = [asyncio.create_task(self._run(g), name=f"rules:{g.key}") for g in self._groups]

    async def shutdown(self) -> None:
        """Stop every group (an evaluation in progress finishes first: it runs in a thread)."""
        if self._started is not None:
            await asyncio.wrap_future(self._started)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self, group: RuleGroup) -> None:
        slot = next_slot(group, self._clock.now())
        while True:
            await asyncio.sleep(max(slot - self._clock.now(), 0.0))
            await self.evaluate(group, slot)
            following = next_slot(group, self._clock.now())
            missed = round((following - slot) / group.interval) - 1
            if missed > 0:
                self._missed.labels(group.key).inc(missed)
            slot = following

    async def evaluate(self, group: RuleGroup, t: float) -> None:
        """Evaluate `group` at `t` in a worker thread and hand its alerts to `on_alerts`. Errors
        are logged, never raised: the schedule goes on."""
        try:
            result = await asyncio.to_thread(self._evaluator.evaluate_group, group, t)
        except Exception:
            log.exception("rule group %s could not be evaluated", group.key)
            return
        try:
            outcome = self._on_alerts(group.key, result.alerts)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception("on_alerts failed for rule group %s", group.key)
