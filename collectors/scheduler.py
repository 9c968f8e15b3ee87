"""The one place that runs collectors: APScheduler 3.11 jobs on an asyncio loop owned by the caller.

Each target runs on its own interval at a stable phase: slot times are `offset + k * interval` Unix
seconds (k an integer, so phases survive restarts), with `offset = crc32(target.key) % interval` at
millisecond resolution. Targets with the same interval therefore spread over it, as Prometheus spreads
scrapes.

APScheduler's defaults skip runs silently (max_instances=1, misfire_grace_time=1 s, coalesce). Here
they are set on purpose (max_instances=1, coalesce=True, misfire_grace_time=the interval rounded up to
whole seconds, APScheduler's unit) and every skipped or late run is counted from slot arithmetic in the
job wrapper (`check_slot`), so no skip is silent whatever its reason (overlap, coalesced, misfired,
stopped loop). Skips are counted when the job's next run starts: at most its timeout after a long run.

APScheduler fires on wall time, so the injected clock must be the real clock when jobs are scheduled;
a fake clock is for `run_once_all()`, `run_target()` and the pure functions.

On a loop in its own thread (the composition root):
    loop = asyncio.new_event_loop()
    scheduler.start(loop)
    threading.Thread(target=loop.run_forever, name="collectors").start()
    ...
    scheduler.shutdown_threadsafe()               # no sink call in progress after it returns
    loop.call_soon_threadsafe(loop.stop); thread.join(); loop.close(); store.close()

Metrics (in the injected prometheus_client registry; `target` is the device name as on `up`):
  scheduler_runs_total{target, collector}
  scheduler_run_failures_total{target, collector, cause}
  scheduler_skipped_runs_total{target, collector, reason="missed"|"late"}
  scheduler_sink_errors_total
  scheduler_heartbeat_timestamp_seconds  (set by a 1 s heartbeat job; see `heartbeat_age()`)
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol

import prometheus_client
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from collectors.base import CollectorDeps, CollectorRegistry
from collectors.health import RunResult, TargetHealth, TargetRunner
from collectors.topology import Reachability
from model import Clock, Link, Sample, Target, TargetState

__all__ = [
    "HEARTBEAT_INTERVAL",
    "SampleSink",
    "Scheduler",
    "SlotCheck",
    "check_slot",
    "first_slot_time",
    "late_threshold",
    "scrape_offset",
    "stable_hash",
]

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 1.0
"""Seconds between heartbeats; /healthz should allow a few of them (e.g. age < 10 s)."""

SLOT_TOLERANCE = 0.001
"""A run up to 1 ms before its slot (float and microsecond rounding) belongs to that slot."""


class SampleSink(Protocol):
    """Where runs go (the store satisfies it). Called from worker threads (`asyncio.to_thread`), never
    on the event loop; calls for different targets may overlap, so implementations must be thread-safe.

    `append` receives one run's samples in one call and may block briefly (a full queue).
    `record_state` is called when a target's state changes, including its first run: `target` is
    `Target.key`, `ts` the run's start (Unix seconds), `cause` the error text for DOWN and "" for UP.
    Either may raise: the error is logged and counted in `scheduler_sink_errors_total`; a failed
    `record_state` is retried with the next run.
    """

    def append(self, samples: Sequence[Sample]) -> None: ...

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None: ...


def stable_hash(key: str) -> int:
    """A hash that is the same in every process (unlike `hash()`): CRC-32 of the UTF-8 key."""
    return zlib.crc32(key.encode("utf-8"))


def scrape_offset(key: str, interval: float) -> float:
    """The target's phase in seconds, in [0, interval): `stable_hash(key) % interval` in whole ms."""
    interval_ms = max(1, round(interval * 1000))
    return (stable_hash(key) % interval_ms) / 1000


def first_slot_time(now: float, interval: float, offset: float) -> float:
    """The first slot time `offset + k * interval` (k an integer) strictly after `now`."""
    k = math.floor((now - offset) / interval) + 1
    return offset + k * interval


def late_threshold(interval: float) -> float:
    """A run is late when it starts more than max(1 s, 10 % of the interval) after its slot."""
    return max(1.0, 0.1 * interval)


@dataclass(frozen=True, slots=True)
class SlotCheck:
    """Which slot a run serves, how many slots before it got no run, and how late it started."""

    slot: int
    missed: int
    lateness: float
    late: bool


def check_slot(*, first: float, interval: float, now: float, previous_slot: int) -> SlotCheck:
    """Classify a run starting at `now` for a job whose slot 0 is at `first` (Unix seconds).

    The run serves the latest slot at or before `now` (what APScheduler's coalescing runs);
    `previous_slot` is the slot the job's previous run served, -1 before its first run. Every slot in
    between passed with no run and counts as `missed`. A clock that went back never counts as missed.
    """
    slot = max(math.floor((now - first + SLOT_TOLERANCE) / interval), previous_slot)
    missed = max(0, slot - previous_slot - 1)
    lateness = max(0.0, now - (first + slot * interval))
    return SlotCheck(slot=slot, missed=missed, lateness=lateness, late=lateness > late_threshold(interval))


class _Metrics:
    """The scheduler's own metrics, registered in the injected registry."""

    def __init__(self, registry: prometheus_client.CollectorRegistry) -> None:
        self.runs = prometheus_client.Counter(
            "scheduler_runs_total", "Collector runs.", ["target", "collector"], registry=registry
        )
        self.failures = prometheus_client.Counter(
            "scheduler_run_failures_total",
            "Collector runs that ended with up=0, by cause.",
            ["target", "collector", "cause"],
            registry=registry,
        )
        self.skipped = prometheus_client.Counter(
            "scheduler_skipped_runs_total",
            "Runs that were missed (a slot passed with no run) or started late.",
            ["target", "collector", "reason"],
            registry=registry,
        )
        self.unreachable_skips = prometheus_client.Counter(
            "scheduler_unreachable_skips_total",
            "Runs left out on purpose because the target's device is unreachable (backing off).",
            ["target", "collector"],
            registry=registry,
        )
        self.sink_errors = prometheus_client.Counter(
            "scheduler_sink_errors_total", "Exceptions raised by the sample sink.", registry=registry
        )
        self.heartbeat = prometheus_client.Gauge(
            "scheduler_heartbeat_timestamp_seconds",
            "Unix time of the scheduler loop's latest heartbeat.",
            registry=registry,
        )
        self.last_error = prometheus_client.Gauge(
            "collect_last_error_info",
            "1 for each target whose last run failed, with the error text and its cause.",
            ["target", "collector", "cause", "error"],
            registry=registry,
        )
        self._error_labels: dict[str, tuple[str, str, str, str]] = {}

    def set_last_error(self, result: RunResult) -> None:
        """Show the error of a failed run; remove it once the target runs cleanly again."""
        target = result.target
        previous = self._error_labels.pop(target.key, None)
        if previous is not None:
            self.last_error.remove(*previous)
        if not result.ok:
            health = result.health
            labels = (target.name, target.spec.kind, health.last_cause or "error", health.last_error or "")
            self.last_error.labels(*labels).set(1)
            self._error_labels[target.key] = labels

    def initialise(self, target: Target) -> None:
        """Export zeros from the start so `increase()` and absence checks work."""
        self.runs.labels(target=target.name, collector=target.spec.kind)
        for reason in ("missed", "late"):
            self.skipped.labels(target=target.name, collector=target.spec.kind, reason=reason)
        self.unreachable_skips.labels(target=target.name, collector=target.spec.kind)


@dataclass(slots=True)
class _Slots:
    first: float
    interval: float
    last: int = -1
    retry_slot: int | None = None
    """While the device is unreachable: the next slot that runs (the ones before are left out)."""
    retry_step: int = 2


@dataclass(frozen=True, slots=True)
class _StateChange:
    """A target state to record; `seq` orders changes decided on the loop (a later one wins)."""

    key: str
    state: TargetState
    ts: float
    cause: str
    seq: int


UNREACHABLE_RETRY_CAP = 300.0
"""While unreachable, a target backs off 2, 4, 8 ... slots up to this many seconds between runs."""


class Scheduler:
    """Runs every target's collector on its interval and delivers samples and state changes to a sink.

    A failing target whose device has no reachable path (`links` and the devices' `parents`, see
    collectors/topology.py) is recorded UNREACHABLE instead of DOWN, carries
    `target_unreachable 1`, and backs off: its runs are left out for 2, 4, 8 ... slots (up to
    `UNREACHABLE_RETRY_CAP` seconds), with `up 0` and `target_unreachable 1` still written for each
    slot left out, until a path is back; a target that recovers or becomes reachable runs at once.

    One collector instance per target, built by `registry[target.spec.kind](deps)`. Raises ValueError
    for a duplicate target key or an unregistered kind, TypeError for a sync collector.
    Lifecycle: `start(loop)` once, then `await shutdown()` on that loop (or `shutdown_threadsafe()`
    from another thread).
    """

    def __init__(
        self,
        *,
        targets: Sequence[Target],
        registry: CollectorRegistry,
        deps: CollectorDeps,
        sink: SampleSink,
        clock: Clock,
        metrics: prometheus_client.CollectorRegistry,
        links: Sequence[Link] = (),
    ) -> None:
        self._runners: dict[str, TargetRunner] = {}
        for target in targets:
            if target.key in self._runners:
                raise ValueError(f"duplicate target {target.key}")
            factory = registry.get(target.spec.kind)
            if factory is None:
                raise ValueError(f"no collector registered for kind {target.spec.kind!r} ({target.key})")
            self._runners[target.key] = TargetRunner(target=target, collector=factory(deps), clock=clock)
        self._sink = sink
        self._clock = clock
        self._metrics = _Metrics(metrics)
        for runner in self._runners.values():
            self._metrics.initialise(runner.target)
        self._reachability = Reachability((target.device for target in targets), links)
        self._recorded: dict[str, tuple[TargetState, int]] = {}
        self._state_lock = threading.Lock()
        self._state_seq = 0
        self._slots: dict[str, _Slots] = {}
        self._aps: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._last_beat: float | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._deliveries: set[asyncio.Future[None]] = set()
        self._delivery_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sink")

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Schedule every target (and the heartbeat) on `loop`; jobs run while the loop runs.

        May be called from any thread, before or after the loop starts running (APScheduler hands its
        work to the loop with `call_soon_threadsafe`). Raises RuntimeError if already started.
        """
        if self._aps is not None or self._stopping:
            raise RuntimeError("scheduler already started")
        self._loop = loop
        aps = AsyncIOScheduler(event_loop=loop, timezone=UTC)
        aps.add_listener(self._on_job_error, EVENT_JOB_ERROR)
        now = self._clock.now()
        for key, runner in self._runners.items():
            self._add_target_job(aps, key, runner.target, now)
        aps.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=HEARTBEAT_INTERVAL, start_date=_utc(now), timezone=UTC),
            id="scheduler-heartbeat",
            next_run_time=_utc(now),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=1,
        )
        self._last_beat = self._clock.monotonic()
        self._aps = aps
        aps.start()

    def _add_target_job(self, aps: Any, key: str, target: Target, now: float) -> None:
        interval = target.spec.interval
        first = first_slot_time(now, interval, scrape_offset(key, interval))
        self._slots[key] = _Slots(first=first, interval=interval)
        aps.add_job(
            self._run_scheduled,
            IntervalTrigger(seconds=interval, start_date=_utc(first), timezone=UTC),
            args=(key,),
            id=key,
            name=key,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, math.ceil(interval)),
        )

    async def shutdown(self, timeout: float = 1.0) -> None:
        """Stop scheduling, cancel runs in flight and wait for them and for sink calls in progress.

        Await on the scheduler's loop. Returns within about `timeout` seconds; anything still running
        then is logged. After it returns (in time) no sink call is in progress. Idempotent.
        """
        aps, self._aps = self._aps, None
        self._stopping = True
        if aps is None:
            return
        aps.shutdown(wait=False)  # runs on this loop's next iteration: no job starts after it
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        tasks = [task for task in self._inflight if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        for pending in (tasks, list(self._deliveries)):
            remaining = max(0.0, deadline - loop.time())
            if pending and (await asyncio.wait(pending, timeout=remaining))[1]:
                log.warning("scheduler shutdown: %d task(s) still running after %ss", len(pending), timeout)
        self._delivery_pool.shutdown(wait=False)

    def shutdown_threadsafe(self, timeout: float = 1.0) -> None:
        """`shutdown()` from a thread other than the loop's; blocks until it is done (or raises
        TimeoutError after `timeout` + 1 s). Does nothing if never started."""
        loop = self._loop
        if loop is None:
            return
        if _running_loop() is loop:
            raise RuntimeError("shutdown_threadsafe() called on the scheduler's own loop; await shutdown()")
        asyncio.run_coroutine_threadsafe(self.shutdown(timeout), loop).result(timeout + 1.0)

    # -- reading ---------------------------------------------------------------------------------

    def health(self) -> Mapping[str, TargetHealth]:
        """A read-only snapshot `Target.key -> TargetHealth` of every target (safe from any thread)."""
        return MappingProxyType({key: runner.health for key, runner in self._runners.items()})

    def states(self) -> Mapping[str, TargetState]:
        """`Target.key -> TargetState` of every target as of its latest run (UNREACHABLE when it failed
        and no path to its device is up). Read it on the scheduler's loop."""
        return MappingProxyType(
            {
                key: self._reachability.state(runner.target.device.name, runner.health.up)
                for key, runner in self._runners.items()
            }
        )

    def heartbeat_age(self) -> float:
        """Seconds since the loop's latest heartbeat (counted from `start()` until the first beat);
        infinite before `start()`. /healthz should fail when it exceeds a few heartbeat intervals."""
        if self._last_beat is None:
            return math.inf
        return self._clock.monotonic() - self._last_beat

    # -- running ---------------------------------------------------------------------------------

    async def run_once_all(self) -> list[Sample]:
        """Run every target once, concurrently, without APScheduler (the `collect-once` CLI).

        Returns every sample including the health ones, target by target in target order. Updates
        health and the run metrics; does not touch the sink.
        """
        results = await asyncio.gather(*(runner.run_once() for runner in self._runners.values()))
        samples: list[Sample] = []
        for result in results:
            self._reachability.observe(result.target, result.ok, result.samples)
        for result in results:
            judged, _ = self._judge(result, observed=True)
            self._count_run(judged)
            samples.extend(judged.samples)
        return samples

    async def run_target(self, key: str) -> RunResult:
        """Run one target now and deliver the run to the sink, as a scheduled run does (without slot
        accounting). Raises KeyError for an unknown `Target.key`. The sink call runs in a worker
        thread and completes even if this coroutine is cancelled."""
        result, changes = self._judge(await self._runners[key].run_once())
        self._count_run(result)
        await asyncio.shield(self._deliver_soon(result.samples, changes))
        return result

    def _deliver_soon(self, samples: Sequence[Sample], changes: Sequence[_StateChange]) -> asyncio.Future[None]:
        """Hand samples and state changes to the sink in a delivery thread; the future is done when
        the sink has them."""
        # Deliveries have threads of their own: a sink that blocks (the store's queue is full) must
        # not take the default executor's threads from collectors that run blocking calls there.
        loop = asyncio.get_running_loop()
        delivery = asyncio.ensure_future(loop.run_in_executor(self._delivery_pool, self._deliver, samples, changes))
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)
        return delivery

    def _judge(self, result: RunResult, *, observed: bool = False) -> tuple[RunResult, list[_StateChange]]:
        """On the loop: feed the run to the topology, classify it (UP, DOWN or UNREACHABLE), add its
        `target_unreachable` sample, and list the state changes to record — this target's, and, when
        the run changed what is up, every failing target's that lost its last path with it."""
        target, health = result.target, result.health
        changed = False if observed else self._reachability.observe(target, result.ok, result.samples)
        ts = health.last_run_ts if health.last_run_ts is not None else self._clock.now()
        state = self._reachability.state(target.device.name, health.up)
        flag = Sample(
            "target_unreachable",
            target.labels.merge({"collector": target.spec.kind}),
            1.0 if state is TargetState.UNREACHABLE else 0.0,
            ts,
        )
        changes = [self._change(target.key, state, ts, health)]
        if changed:
            # A failing target whose last path just went is unreachable from now on. The way back
            # (reachable again) is only recorded by the target's own next run: until it answers or
            # fails again, nobody saw it down.
            for key, runner in self._runners.items():
                if key == target.key or runner.health.up is not False:
                    continue
                if not self._reachability.reachable(runner.target.device.name):
                    changes.append(self._change(key, TargetState.UNREACHABLE, ts, runner.health))
        return replace(result, samples=(*result.samples, flag)), changes

    def _change(self, key: str, state: TargetState, ts: float, health: TargetHealth) -> _StateChange:
        self._state_seq += 1
        if state is TargetState.UNREACHABLE:
            cause = self._reachability.why_unreachable(self._runners[key].target.device.name)
        else:
            cause = health.last_error or ""
        return _StateChange(key, state, ts, cause, self._state_seq)

    async def _run_scheduled(self, key: str) -> None:
        """The APScheduler job of one target: slot accounting, then `run_target`."""
        if self._stopping:
            return
        slots = self._slots[key]
        check = check_slot(first=slots.first, interval=slots.interval, now=self._clock.now(), previous_slot=slots.last)
        slots.last = check.slot
        self._count_skips(self._runners[key].target, check)
        if self._backing_off(key, slots, check.slot):
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self.run_target(key)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            log.debug("run of %s cancelled by shutdown", key)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _deliver(self, samples: Sequence[Sample], changes: Sequence[_StateChange]) -> None:
        """Hand one run to the sink (in a delivery thread): samples first, then state changes.
        A change older than one already recorded for its target is dropped; a failed one is
        retried with the target's next run."""
        if samples:
            try:
                self._sink.append(samples)
            except Exception:
                self._metrics.sink_errors.inc()
                log.exception("sink append failed (%d samples lost)", len(samples))
        with self._state_lock:
            for change in changes:
                recorded = self._recorded.get(change.key)
                if recorded is not None and (recorded[0] is change.state or recorded[1] > change.seq):
                    continue
                try:
                    self._sink.record_state(change.key, change.state, change.ts, change.cause)
                except Exception:
                    self._metrics.sink_errors.inc()
                    log.exception("sink record_state failed for %s (retried with the next run)", change.key)
                    continue
                self._recorded[change.key] = (change.state, change.seq)
                if change.state is TargetState.UP:
                    log.info("%s is up", change.key)
                else:
                    log.warning("%s is %s: %s", change.key, change.state.value, change.cause)

    def _backing_off(self, key: str, slots: _Slots, slot: int) -> bool:
        """True when this slot is left out because the target failed and its device is still
        unreachable (then `up 0` and `target_unreachable 1` are written for the slot instead)."""
        runner = self._runners[key]
        target = runner.target
        if runner.health.up is not False or self._reachability.reachable(target.device.name):
            slots.retry_slot, slots.retry_step = None, 2
            return False
        if slots.retry_slot is None:
            slots.retry_slot, slots.retry_step = slot + 1, 2
        if slot >= slots.retry_slot:
            cap = max(1, math.ceil(UNREACHABLE_RETRY_CAP / slots.interval))
            slots.retry_slot = slot + slots.retry_step
            slots.retry_step = min(slots.retry_step * 2, cap)
            return False
        self._metrics.unreachable_skips.labels(target=target.name, collector=target.spec.kind).inc()
        labels = target.labels.merge({"collector": target.spec.kind})
        now = self._clock.now()
        self._deliver_soon([Sample("up", labels, 0.0, now), Sample("target_unreachable", labels, 1.0, now)], ())
        return True

    def _count_run(self, result: RunResult) -> None:
        target = result.target
        self._metrics.runs.labels(target=target.name, collector=target.spec.kind).inc()
        self._metrics.set_last_error(result)
        if not result.ok:
            cause = result.health.last_cause or "error"
            self._metrics.failures.labels(target=target.name, collector=target.spec.kind, cause=cause).inc()

    def _count_skips(self, target: Target, check: SlotCheck) -> None:
        labels = {"target": target.name, "collector": target.spec.kind}
        if check.missed:
            self._metrics.skipped.labels(**labels, reason="missed").inc(check.missed)
            log.warning("%s: %d run(s) missed before slot %d", target.key, check.missed, check.slot)
        if check.late:
            self._metrics.skipped.labels(**labels, reason="late").inc()
            log.warning("%s: run started %.3fs after its slot", target.key, check.lateness)

    async def _heartbeat(self) -> None:
        self._last_beat = self._clock.monotonic()
        self._metrics.heartbeat.set(self._clock.now())

    def _on_job_error(self, event: Any) -> None:
        """Jobs catch everything; anything reaching APScheduler is a bug in this module."""
        if isinstance(event.exception, asyncio.CancelledError):
            log.debug("job %s cancelled", event.job_id)
            return
        log.error("scheduler job %s raised %r\n%s", event.job_id, event.exception, event.traceback)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
