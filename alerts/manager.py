"""Running rule groups on their interval on an asyncio loop, as Prometheus' rule manager does.

Each group is evaluated at `offset + k * interval` (Unix seconds), where `offset` is a stable hash
of the group's key within the interval, so groups with the same interval spread over it and keep
their phase across restarts. The evaluation time passed to the rules is the slot time, not the
moment the evaluation ran. A slot missed because the previous evaluation overran is skipped and
counted (`rule_group_iterations_missed_total`), never run late in a burst.

After each evaluation `on_alerts` receives the group's key and its active and recently resolved
alerts (the notification pipeline's entry); it may be a plain function or a coroutine function.
An evaluation, once started, runs to its end and hands its alerts over even when its group is
stopped meanwhile: stopping waits for it, so one group is never evaluated twice at once.

    manager = RuleManager(evaluator=evaluator, groups=groups, on_alerts=pipeline.receive)
    manager.start(loop)            # from any thread; the loop runs elsewhere
    ...
    gone = await manager.replace(new_groups)    # on the loop: a config reload
    ...
    await manager.shutdown()       # on the loop: no evaluation in progress after it returns

Replacing keeps the evaluator, so a group whose key (`file;name`) stays keeps its alerts with their
clocks (`active_at`, `fired_at`): the evaluator holds alert state by group key and rule key.
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
        self._evaluations: set[asyncio.Task[None]] = set()
        """Evaluations in progress: they outlive a cancelled group task and are awaited on stopping."""
        self._lock = asyncio.Lock()
        """Held while group tasks are started or stopped (start, replace, shutdown)."""
        self._started: concurrent.futures.Future[None] | None = None
        self._missed = Counter(
            "rule_group_iterations_missed_total",
            "Group evaluations skipped because the previous one overran.",
            ["rule_group"],
            registry=registry,
        )

    @property
    def groups(self) -> tuple[RuleGroup, ...]:
        """The groups the manager runs (those of the last `replace`)."""
        return self._groups

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start one task per group on `loop` (callable from any thread)."""
        self._started = asyncio.run_coroutine_threadsafe(self._spawn(), loop)

    async def _spawn(self) -> None:
        async with self._lock:
            if not self._tasks:  # a `replace` on the loop before `start` already started them
                self._launch()

    def _launch(self) -> None:
        self._tasks = [asyncio.create_task(self._run(g), name=f"rules:{g.key}") for g in self._groups]

    async def shutdown(self) -> None:
        """Stop every group; an evaluation in progress finishes (alerts handed over) first."""
        if self._started is not None:
            await asyncio.wrap_future(self._started)
        async with self._lock:
            await self._stop()

    async def replace(self, groups: Sequence[RuleGroup]) -> tuple[str, ...]:
        """On the manager's loop: stop every group as `shutdown` does, then run `groups` instead
        (started here if the manager was never started). Returns the keys of the groups that are
        gone, in their old order. A group whose key stays continues on its own phase and interval
        and keeps its alerts; the state of a gone group stays with the evaluator (and its state
        store) and continues should the group come back. Raises ValueError if two of `groups` share
        a key (nothing is stopped then)."""
        keys = [g.key for g in groups]
        if len(set(keys)) != len(keys):
            twice = sorted({k for k in keys if keys.count(k) > 1})
            raise ValueError(f"rule group keys must be unique: {', '.join(twice)}")
        async with self._lock:
            await self._stop()
            staying = set(keys)
            gone = tuple(g.key for g in self._groups if g.key not in staying)
            self._groups = tuple(groups)
            for key in gone:
                self._missed.remove(key)  # as Prometheus drops a removed group's metrics
            self._launch()
        return gone

    async def _stop(self) -> None:
        """Cancel the group tasks, then wait for the evaluations they had in progress (the lock held)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*self._evaluations, return_exceptions=True)

    async def _run(self, group: RuleGroup) -> None:
        slot = next_slot(group, self._clock.now())
        while True:
            await asyncio.sleep(max(slot - self._clock.now(), 0.0))
            evaluation = asyncio.create_task(self.evaluate(group, slot), name=f"rules:{group.key}:evaluation")
            self._evaluations.add(evaluation)
            evaluation.add_done_callback(self._evaluations.discard)
            await asyncio.shield(evaluation)  # cancelling the group does not cut the evaluation short
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
