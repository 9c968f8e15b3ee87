"""Running one target once, and the health the scheduler keeps for every target.

`TargetRunner.run_once()` is the only code that calls `Collector.collect()`. It applies the target's
timeout, attaches the target's labels to every sample and writes the health samples every target has:

- `up` (1 or 0), `collect_duration_seconds` (monotonic clock) and `collect_samples` (how many samples the
  collector returned), labelled with the target's labels plus `collector=<kind>`;
- the error text and its cause in `TargetHealth` (`timeout`, a `CollectError.cause`, or `bug`).

Label attachment follows Prometheus' `honor_labels` (a spec with `honor_labels=True`, the exporter's,
lets the sample's labels win; see `attach_target_labels`); by default (`false`) the target's labels (identity labels
`target`, `site`, `system`, `role` and the device's own labels) always win; a sample label with the same
name is kept under `exported_<name>` (with more `exported_` prefixes while that name is taken).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass

from collectors.base import CollectError, Collector
from model import Clock, Labels, Sample, Target, TargetState

__all__ = [
    "EXPORTED_PREFIX",
    "RunResult",
    "TargetHealth",
    "TargetRunner",
    "attach_target_labels",
]

log = logging.getLogger(__name__)

EXPORTED_PREFIX = "exported_"


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """What the scheduler knows about one target after its latest run.

    `up` is None before the first run. Times are Unix seconds (UTC) of the run's start; `last_duration`
    is in seconds. `last_error` is the text the user sees and `last_cause` a short machine-readable
    cause; both are None after a successful run. `runs` and `failures` count since start.
    """

    key: str
    up: bool | None = None
    last_run_ts: float | None = None
    last_duration: float | None = None
    last_error: str | None = None
    last_cause: str | None = None
    last_success_ts: float | None = None
    runs: int = 0
    failures: int = 0

    @property
    def state(self) -> TargetState:
        """UP or DOWN after a run, UNKNOWN before the first one."""
        if self.up is None:
            return TargetState.UNKNOWN
        return TargetState.UP if self.up else TargetState.DOWN


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run of one target.

    `samples` holds the collector's samples (target labels attached) followed by the health samples
    `up`, `collect_duration_seconds` and `collect_samples`, in that order: deliver them in one batch.
    """

    target: Target
    samples: tuple[Sample, ...]
    health: TargetHealth

    @property
    def ok(self) -> bool:
        return bool(self.health.up)


@dataclass(frozen=True, slots=True)
class _Outcome:
    samples: list[Sample]
    error: str | None = None
    cause: str | None = None


def attach_target_labels(sample_labels: Labels, target_labels: Labels, *, honor_labels: bool = False) -> Labels:
    """The sample's labels with the target's added, as Prometheus does with `honor_labels`.

    With `honor_labels=True` the sample's labels win: a target label whose name the sample already
    has is not added to that sample. Otherwise (the default) target labels always win: a conflicting
    sample label moves to `exported_<name>`, prefixed again while that name is already taken, so no
    value is lost: `{target="x"}` scraped from target `web-01` becomes
    `{exported_target="x", target="web-01", ...}`.
    """
    if not any(name in sample_labels for name in target_labels):
        return sample_labels.merge(target_labels)
    if honor_labels:
        return target_labels.merge(sample_labels)
    merged = dict(sample_labels)
    conflicts = [(name, merged[name]) for name in target_labels if name in merged]
    merged.update(target_labels)
    for name, value in conflicts:
        exported = EXPORTED_PREFIX + name
        while exported in merged:
            exported = EXPORTED_PREFIX + exported
        merged[exported] = value
    return Labels(merged)


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}s"


class TargetRunner:
    """Runs one target's collector and keeps that target's `TargetHealth`.

    Not re-entrant: the caller runs one `run_once()` at a time per runner (the scheduler's jobs have
    max_instances=1). Raises TypeError at construction if the collector's `collect` is not async:
    a sync collector would block the event loop.
    """

    def __init__(self, *, target: Target, collector: Collector, clock: Clock) -> None:
        if not inspect.iscoroutinefunction(collector.collect):
            raise TypeError(f"collector {type(collector).__name__} for {target.key}: collect() must be async")
        self._target = target
        self._collector = collector
        self._clock = clock
        self._health = TargetHealth(key=target.key)
        self._health_labels = target.labels.merge({"collector": target.spec.kind})
        self._honor_labels = bool(getattr(target.spec, "honor_labels", False))

    @property
    def target(self) -> Target:
        return self._target

    @property
    def health(self) -> TargetHealth:
        """The latest health (an immutable snapshot; safe to read from any thread)."""
        return self._health

    async def run_once(self) -> RunResult:
        """Collect the target once under its timeout; never raises for a collector failure.

        Timeout: up=0, error `timed out after <timeout>s`, cause `timeout`. CollectError: up=0, its
        message and `.cause`, its `.samples` kept (target labels attached). Any other exception:
        up=0, `unexpected error: <Type>: <message>`, cause `bug`, logged with its traceback.
        Cancellation propagates.
        """
        ts = self._clock.now()
        started = self._clock.monotonic()
        outcome = await self._collect()
        duration = self._clock.monotonic() - started
        self._health = self._next_health(ts, duration, outcome)
        up = 1.0 if outcome.error is None else 0.0
        health_samples = (
            Sample("up", self._health_labels, up, ts),
            Sample("collect_duration_seconds", self._health_labels, duration, ts),
            Sample("collect_samples", self._health_labels, float(len(outcome.samples)), ts),
        )
        return RunResult(self._target, (*outcome.samples, *health_samples), self._health)

    async def _collect(self) -> _Outcome:
        target = self._target
        timeout = target.spec.timeout
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                raw = await self._collector.collect(target)
            labels = target.labels
            honor = self._honor_labels
            attached = [s._replace(labels=attach_target_labels(s.labels, labels, honor_labels=honor)) for s in raw]
            return _Outcome(attached)
        except CollectError as exc:
            log.debug("%s failed (%s): %s", target.key, exc.cause, exc)
            kept = [s._replace(labels=attach_target_labels(s.labels, target.labels)) for s in exc.samples]
            return _Outcome(kept, str(exc), exc.cause)
        except TimeoutError as exc:
            if deadline.expired():
                log.debug("%s timed out after %ss", target.key, timeout)
                return _Outcome([], f"timed out after {_format_seconds(timeout)}", "timeout")
            return self._bug(exc)
        except Exception as exc:
            return self._bug(exc)

    def _bug(self, exc: Exception) -> _Outcome:
        log.error("collector for %s raised an unexpected error", self._target.key, exc_info=exc)
        return _Outcome([], f"unexpected error: {type(exc).__name__}: {exc}", "bug")

    def _next_health(self, ts: float, duration: float, outcome: _Outcome) -> TargetHealth:
        previous = self._health
        ok = outcome.error is None
        return TargetHealth(
            key=previous.key,
            up=ok,
            last_run_ts=ts,
            last_duration=duration,
            last_error=outcome.error,
            last_cause=outcome.cause,
            last_success_ts=ts if ok else previous.last_success_ts,
            runs=previous.runs + 1,
            failures=previous.failures + (0 if ok else 1),
        )
