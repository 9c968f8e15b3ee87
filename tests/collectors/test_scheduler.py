"""The scheduler runs collectors, writes every target's health and counts skipped and late runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import prometheus_client
import pytest

from collectors.base import CollectError, CollectorDeps, CollectorRegistry
from collectors.health import TargetHealth, TargetRunner, attach_target_labels
from collectors.scheduler import (
    Scheduler,
    SlotCheck,
    check_slot,
    first_slot_time,
    late_threshold,
    scrape_offset,
    stable_hash,
)
from model import CollectorSpec, Device, FakeClock, Labels, Sample, SystemClock, Target, TargetState

T0 = 1_800_000_000.0
WEB = Device(
    name="web-01",
    site="dc-east",
    system="records",
    role="server",
    address="127.0.0.1",
    labels=Labels(rack="A3"),
)
WEB_LABELS = {"target": "web-01", "site": "dc-east", "system": "records", "role": "server", "rack": "A3"}


def target(kind: str, *, interval: float = 30.0, timeout: float = 0.1, device: Device = WEB) -> Target:
    return Target(device=device, spec=CollectorSpec(kind=kind, interval=interval, timeout=timeout))


def health_samples(kind: str, up: float, duration: float, count: float, ts: float = T0) -> list[Sample]:
    """What TargetRunner adds to a run."""
    labels = Labels({**WEB_LABELS, "collector": kind})
    return [
        Sample("up", labels, up, ts),
        Sample("collect_duration_seconds", labels, duration, ts),
        Sample("collect_samples", labels, count, ts),
    ]


def scheduled_health_samples(kind: str, up: float, duration: float, count: float, ts: float = T0) -> list[Sample]:
    """What a scheduled run adds: the runner's health samples and `target_unreachable`."""
    labels = Labels({**WEB_LABELS, "collector": kind})
    return [*health_samples(kind, up, duration, count, ts), Sample("target_unreachable", labels, 0.0, ts)]


# -- fake collectors and sink --------------------------------------------------------------------


class FixedCollector:
    """Returns two samples and takes 0.25 s of (fake) time."""

    def __init__(self, deps: CollectorDeps) -> None:
        self.clock = deps.clock

    async def collect(self, target: Target) -> list[Sample]:
        if isinstance(self.clock, FakeClock):
            self.clock.advance(0.25)
        return [
            Sample("cpu_utilisation_ratio", Labels(), 0.5, T0),
            Sample("filesystem_utilisation_ratio", Labels(mount="/"), 0.75, T0),
        ]


class ImpostorCollector:
    """Returns a sample that claims another target's identity."""

    def __init__(self, deps: CollectorDeps) -> None:
        pass

    async def collect(self, target: Target) -> list[Sample]:
        return [Sample("probe_success", Labels(target="db-09", rack="B1", exported_rack="x"), 1.0, T0)]


class RefusedCollector:
    def __init__(self, deps: CollectorDeps) -> None:
        pass

    async def collect(self, target: Target) -> list[Sample]:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as exc:
            raise CollectError("127.0.0.1:161: connection refused", cause="refused") from exc


class SleepingCollector:
    def __init__(self, deps: CollectorDeps) -> None:
        pass

    async def collect(self, target: Target) -> list[Sample]:
        await asyncio.sleep(10)
        return []


class BuggyCollector:
    def __init__(self, deps: CollectorDeps) -> None:
        pass

    async def collect(self, target: Target) -> list[Sample]:
        raise ValueError("boom")


class OwnTimeoutCollector:
    """Raises TimeoutError itself, long before its deadline: a bug, not a timeout."""

    def __init__(self, deps: CollectorDeps) -> None:
        pass

    async def collect(self, target: Target) -> list[Sample]:
        raise TimeoutError("socket timed out")


class ScriptedCollector:
    """Succeeds or fails as scripted, one entry per run."""

    def __init__(self, script: Sequence[bool]) -> None:
        self.script = list(script)

    async def collect(self, target: Target) -> list[Sample]:
        if self.script.pop(0):
            return []
        raise CollectError("no answer", cause="refused")


class SyncCollector:
    def __init__(self, deps: CollectorDeps) -> None:
        pass

    def collect(self, target: Target) -> list[Sample]:
        return []


class RecordingSink:
    def __init__(self, *, fail_append: bool = False) -> None:
        self.appends: list[list[Sample]] = []
        self.states: list[tuple[str, TargetState, float, str]] = []
        self.fail_append = fail_append

    def append(self, samples: Sequence[Sample]) -> None:
        if self.fail_append:
            raise OSError("queue closed")
        self.appends.append(list(samples))

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        self.states.append((target, state, ts, cause))


def make_scheduler(
    targets: Sequence[Target],
    registry: CollectorRegistry,
    *,
    sink: RecordingSink | None = None,
    clock: FakeClock | SystemClock | None = None,
) -> tuple[Scheduler, RecordingSink, prometheus_client.CollectorRegistry]:
    sink = sink or RecordingSink()
    clock = clock or FakeClock(T0)
    metrics = prometheus_client.CollectorRegistry()
    scheduler = Scheduler(
        targets=targets,
        registry=registry,
        deps=CollectorDeps(clock=clock),
        sink=sink,
        clock=clock,
        metrics=metrics,
    )
    return scheduler, sink, metrics


def run_one(collector_cls: type, kind: str, *, timeout: float = 0.1) -> tuple[TargetRunner, list[Sample]]:
    clock = FakeClock(T0)
    runner = TargetRunner(
        target=target(kind, timeout=timeout), collector=collector_cls(CollectorDeps(clock)), clock=clock
    )
    result = asyncio.run(runner.run_once())
    return runner, list(result.samples)


# -- one run --------------------------------------------------------------------------------------


def test_successful_run_adds_target_labels_and_health_samples() -> None:
    runner, samples = run_one(FixedCollector, "fixed")

    assert samples == [
        Sample("cpu_utilisation_ratio", Labels(WEB_LABELS), 0.5, T0),
        Sample("filesystem_utilisation_ratio", Labels({**WEB_LABELS, "mount": "/"}), 0.75, T0),
        *health_samples("fixed", up=1.0, duration=0.25, count=2.0),
    ]
    assert runner.health == TargetHealth(
        key="web-01/fixed",
        up=True,
        last_run_ts=T0,
        last_duration=0.25,
        last_error=None,
        last_cause=None,
        last_success_ts=T0,
        runs=1,
        failures=0,
    )


def test_collect_error_gives_up_zero_with_its_message_and_cause() -> None:
    runner, samples = run_one(RefusedCollector, "snmp")

    assert samples == health_samples("snmp", up=0.0, duration=0.0, count=0.0)
    assert runner.health == TargetHealth(
        key="web-01/snmp",
        up=False,
        last_run_ts=T0,
        last_duration=0.0,
        last_error="127.0.0.1:161: connection refused",
        last_cause="refused",
        last_success_ts=None,
        runs=1,
        failures=1,
    )


def test_collector_past_its_timeout_is_cut_off_with_timeout_text() -> None:
    started = time.monotonic()
    runner, samples = run_one(SleepingCollector, "slow", timeout=0.2)

    assert time.monotonic() - started < 1.0
    assert samples == health_samples("slow", up=0.0, duration=0.0, count=0.0)
    assert (runner.health.up, runner.health.last_error, runner.health.last_cause) == (
        False,
        "timed out after 0.2s",
        "timeout",
    )


def test_unexpected_exception_is_a_bug_with_type_and_message(caplog: pytest.LogCaptureFixture) -> None:
    runner, samples = run_one(BuggyCollector, "buggy")

    assert samples == health_samples("buggy", up=0.0, duration=0.0, count=0.0)
    assert (runner.health.last_error, runner.health.last_cause) == (
        "unexpected error: ValueError: boom",
        "bug",
    )
    [record] = [r for r in caplog.records if r.name == "collectors.health"]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_collectors_own_timeout_error_is_a_bug_not_a_timeout() -> None:
    runner, _ = run_one(OwnTimeoutCollector, "own")

    assert (runner.health.last_error, runner.health.last_cause) == (
        "unexpected error: TimeoutError: socket timed out",
        "bug",
    )


def test_sample_claiming_identity_label_is_renamed_exported() -> None:
    _, samples = run_one(ImpostorCollector, "probe")

    assert samples[0] == Sample(
        "probe_success",
        Labels({**WEB_LABELS, "exported_target": "db-09", "exported_exported_rack": "B1", "exported_rack": "x"}),
        1.0,
        T0,
    )


def test_sample_labels_without_conflict_are_kept() -> None:
    assert attach_target_labels(Labels(ifname="Gi0/1"), Labels(target="r1")) == Labels(ifname="Gi0/1", target="r1")


def test_sync_collector_is_refused_at_construction() -> None:
    clock = FakeClock(T0)
    with pytest.raises(TypeError, match=r"^collector SyncCollector for web-01/sync: collect\(\) must be async$"):
        TargetRunner(target=target("sync"), collector=SyncCollector(CollectorDeps(clock)), clock=clock)  # type: ignore[arg-type]


# -- scheduler: sink, state changes, metrics ------------------------------------------------------


def test_run_once_all_returns_every_targets_samples_without_touching_the_sink() -> None:
    targets = [target("fixed"), target("snmp")]
    scheduler, sink, metrics = make_scheduler(targets, {"fixed": FixedCollector, "snmp": RefusedCollector})

    samples = asyncio.run(scheduler.run_once_all())

    assert [(s.name, s.value) for s in samples] == [
        ("cpu_utilisation_ratio", 0.5),
        ("filesystem_utilisation_ratio", 0.75),
        ("up", 1.0),
        ("collect_duration_seconds", 0.25),
        ("collect_samples", 2.0),
        ("target_unreachable", 0.0),
        ("up", 0.0),
        ("collect_duration_seconds", 0.0),
        ("collect_samples", 0.0),
        ("target_unreachable", 0.0),
    ]
    assert (sink.appends, sink.states) == ([], [])
    assert scheduler.health()["web-01/snmp"].last_error == "127.0.0.1:161: connection refused"
    get = metrics.get_sample_value
    snmp, fixed = {"target": "web-01", "collector": "snmp"}, {"target": "web-01", "collector": "fixed"}
    assert (get("scheduler_runs_total", snmp), get("scheduler_runs_total", fixed)) == (1.0, 1.0)
    assert get("scheduler_run_failures_total", {**snmp, "cause": "refused"}) == 1.0
    assert get("scheduler_run_failures_total", {**fixed, "cause": "refused"}) is None


def test_state_is_recorded_only_when_it_changes() -> None:
    collector = ScriptedCollector([True, False, False, True])
    clock = FakeClock(T0)
    scheduler, sink, _ = make_scheduler([target("flap")], {"flap": lambda deps: collector}, clock=clock)

    async def four_runs() -> None:
        for _ in range(4):
            await scheduler.run_target("web-01/flap")
            clock.advance(30)

    asyncio.run(four_runs())

    assert sink.states == [
        ("web-01/flap", TargetState.UP, T0, ""),
        ("web-01/flap", TargetState.DOWN, T0 + 30, "no answer"),
        ("web-01/flap", TargetState.UP, T0 + 90, ""),
    ]
    health_names = ["up", "collect_duration_seconds", "collect_samples", "target_unreachable"]
    assert [[s.name for s in batch] for batch in sink.appends] == [health_names] * 4
    assert [batch[0].value for batch in sink.appends] == [1.0, 0.0, 0.0, 1.0]
    assert scheduler.health()["web-01/flap"].runs == 4
    assert scheduler.health()["web-01/flap"].failures == 2


def test_one_run_goes_to_the_sink_in_one_append() -> None:
    scheduler, sink, _ = make_scheduler([target("fixed")], {"fixed": FixedCollector})

    asyncio.run(scheduler.run_target("web-01/fixed"))

    assert len(sink.appends) == 1
    assert sink.appends[0][-4:] == scheduled_health_samples("fixed", up=1.0, duration=0.25, count=2.0)


def test_sink_error_is_counted_and_state_still_recorded() -> None:
    sink = RecordingSink(fail_append=True)
    scheduler, _, metrics = make_scheduler([target("fixed")], {"fixed": FixedCollector}, sink=sink)

    asyncio.run(scheduler.run_target("web-01/fixed"))
    asyncio.run(scheduler.run_target("web-01/fixed"))

    assert metrics.get_sample_value("scheduler_sink_errors_total") == 2.0
    assert sink.states == [("web-01/fixed", TargetState.UP, T0, "")]


def test_metrics_live_in_the_injected_registry_only() -> None:
    _, _, first = make_scheduler([target("fixed")], {"fixed": FixedCollector})
    _, _, second = make_scheduler([target("fixed")], {"fixed": FixedCollector})

    labels = {"target": "web-01", "collector": "fixed", "reason": "missed"}
    assert first.get_sample_value("scheduler_skipped_runs_total", labels) == 0.0
    assert second.get_sample_value("scheduler_runs_total", {"target": "web-01", "collector": "fixed"}) == 0.0
    assert prometheus_client.REGISTRY.get_sample_value("scheduler_skipped_runs_total", labels) is None


def test_unregistered_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no collector registered for kind 'ping' \(web-01/ping\)$"):
        make_scheduler([target("ping")], {"fixed": FixedCollector})


def test_duplicate_target_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^duplicate target web-01/fixed$"):
        make_scheduler([target("fixed"), target("fixed")], {"fixed": FixedCollector})


# -- slots: offsets, missed and late runs ---------------------------------------------------------


def test_offsets_are_stable_crc32_of_the_key() -> None:
    assert stable_hash("web-01/host") == 1359077987
    assert stable_hash("rtr-east-01/snmp") == 2879845287
    assert scrape_offset("web-01/host", 60) == 17.987
    assert scrape_offset("rtr-east-01/snmp", 60) == 25.287
    assert scrape_offset("web-01/host", 15) == 2.987
    assert scrape_offset("rtr-east-01/snmp", 0.2) == 0.087


def test_first_slot_is_the_next_phase_aligned_time_after_now() -> None:
    assert first_slot_time(T0, 60, 17.987) == pytest.approx(T0 + 17.987, abs=1e-6)
    assert first_slot_time(T0 + 20, 60, 17.987) == pytest.approx(T0 + 77.987, abs=1e-6)
    assert first_slot_time(T0 + 17.987, 60, 17.987) == pytest.approx(T0 + 77.987, abs=1e-6)


def test_late_threshold_is_one_second_or_ten_percent_of_interval() -> None:
    assert (late_threshold(0.2), late_threshold(10), late_threshold(60)) == (1.0, 1.0, 6.0)


@pytest.mark.parametrize(
    ("now", "previous_slot", "expected"),
    [
        (1000.0, -1, SlotCheck(slot=0, missed=0, lateness=0.0, late=False)),
        (999.9995, -1, SlotCheck(slot=0, missed=0, lateness=0.0, late=False)),
        (1010.5, 0, SlotCheck(slot=1, missed=0, lateness=0.5, late=False)),
        (1021.25, 1, SlotCheck(slot=2, missed=0, lateness=1.25, late=True)),
        (1040.0, 2, SlotCheck(slot=4, missed=1, lateness=0.0, late=False)),
        (1071.5, 4, SlotCheck(slot=7, missed=2, lateness=1.5, late=True)),
        (1020.5, -1, SlotCheck(slot=2, missed=2, lateness=0.5, late=False)),
        (1005.0, 4, SlotCheck(slot=4, missed=0, lateness=0.0, late=False)),
    ],
    ids=[
        "on-time",
        "rounding-early",
        "slightly-late",
        "late",
        "one-missed",
        "missed-and-late",
        "first-runs-missed",
        "clock-went-back",
    ],
)
def test_slot_arithmetic_counts_missed_and_late_runs(now: float, previous_slot: int, expected: SlotCheck) -> None:
    got = check_slot(first=1000.0, interval=10.0, now=now, previous_slot=previous_slot)

    assert got == expected


# -- the APScheduler-driven scheduler in real time ------------------------------------------------


def test_scheduler_runs_targets_beats_and_shuts_down_on_a_loop_in_a_thread() -> None:
    targets = [
        target("fixed", interval=0.2, timeout=0.1),
        target("snmp", interval=0.2, timeout=0.1),
        target("stuck", interval=0.2, timeout=5.0),
    ]
    registry: CollectorRegistry = {
        "fixed": FixedCollector,
        "snmp": RefusedCollector,
        "stuck": SleepingCollector,
    }
    scheduler, sink, metrics = make_scheduler(targets, registry, clock=SystemClock())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="collectors", daemon=True)
    scheduler.start(loop)
    thread.start()
    try:
        time.sleep(1.5)
        beat_age = scheduler.heartbeat_age()
        beat_ts = metrics.get_sample_value("scheduler_heartbeat_timestamp_seconds")
        started = time.monotonic()
        scheduler.shutdown_threadsafe(timeout=0.5)
        shutdown_took = time.monotonic() - started
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
        loop.close()

    assert shutdown_took < 1.0
    assert beat_age < 1.2
    assert beat_ts is not None and abs(beat_ts - time.time()) < 3.0
    runs = {
        kind: metrics.get_sample_value("scheduler_runs_total", {"target": "web-01", "collector": kind})
        for kind in ("fixed", "snmp", "stuck")
    }
    assert runs["fixed"] is not None and runs["fixed"] >= 4
    assert runs["snmp"] is not None and runs["snmp"] >= 4
    assert runs["stuck"] == 0.0  # still in flight at shutdown, cancelled
    assert sorted((key, state, cause) for key, state, _, cause in sink.states) == [
        ("web-01/fixed", TargetState.UP, ""),
        ("web-01/snmp", TargetState.DOWN, "127.0.0.1:161: connection refused"),
    ]
    assert all(batch[-4].name == "up" for batch in sink.appends)
    assert len(sink.appends) == runs["fixed"] + runs["snmp"]


def test_scheduled_runs_count_missed_and_late_slots_in_metrics() -> None:
    clock = FakeClock(4_000_000_000.0)  # far ahead of the wall clock: APScheduler fires nothing itself
    collector = ScriptedCollector([True, True, True])
    scheduler, sink, metrics = make_scheduler(
        [target("flap", interval=10.0)], {"flap": lambda deps: collector}, clock=clock
    )
    loop = asyncio.new_event_loop()
    scheduler.start(loop)
    first = first_slot_time(clock.now(), 10.0, scrape_offset("web-01/flap", 10.0))

    async def runs_at(*offsets: float) -> None:
        for offset in offsets:
            clock.advance(first + offset - clock.now())
            await scheduler._run_scheduled("web-01/flap")
        await scheduler.shutdown()

    try:
        loop.run_until_complete(runs_at(0.0, 11.5, 40.2))  # slot 0; slot 1 late by 1.5 s; slot 4 after 2 missed
    finally:
        loop.close()

    labels = {"target": "web-01", "collector": "flap"}
    assert metrics.get_sample_value("scheduler_skipped_runs_total", {**labels, "reason": "missed"}) == 2.0
    assert metrics.get_sample_value("scheduler_skipped_runs_total", {**labels, "reason": "late"}) == 1.0
    assert metrics.get_sample_value("scheduler_runs_total", labels) == 3.0
    assert len(sink.appends) == 3


def test_last_error_text_is_exported_while_the_target_fails_and_removed_after() -> None:
    collector = ScriptedCollector([False, True])
    clock = FakeClock(T0)
    scheduler, _, metrics = make_scheduler([target("flap")], {"flap": lambda deps: collector}, clock=clock)
    labels = {"target": "web-01", "collector": "flap", "cause": "refused", "error": "no answer"}

    asyncio.run(scheduler.run_target("web-01/flap"))
    assert metrics.get_sample_value("collect_last_error_info", labels) == 1.0

    asyncio.run(scheduler.run_target("web-01/flap"))
    assert metrics.get_sample_value("collect_last_error_info", labels) is None
