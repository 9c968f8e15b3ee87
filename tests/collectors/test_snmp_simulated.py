"""The SNMP collector against a simulated device (snmpsim) whose counters grow at known rates.

The device (`snmprec()`) has two 1 Gbit/s interfaces: `wan0` with 64-bit (ifHC*) octet counters,
`wan1` with 32-bit ones only, whose ifInOctets wraps `WRAP_AT_UPTIME` seconds after the agent
started. snmpsim's `numeric` variation answers `initial + rate * (seconds since the responder
started)`, and sysUpTime (`67:numeric|rate=100`) counts from the same start, so restarting the
responder is a device reboot: uptime and counters start again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import prometheus_client
import pytest

from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler, SnmpClientProvider
from model import Device, Sample, Secret, SnmpCollectorSpec, SystemClock, Target, TargetState
from tests.collectors.snmpsim_agent import SnmpSim, running_snmpsim
from tests.collectors.test_snmp import by_target, run_scheduled, up_by_target

COMMUNITY = "sim-r1"
GBIT = 1_000_000_000
WAN0_IN_OCTETS_PER_SECOND = 12_500_000  # 100 Mbit/s, on ifHCInOctets
WAN0_OUT_OCTETS_PER_SECOND = 2_500_000  # 20 Mbit/s, on ifHCOutOctets
WAN1_IN_OCTETS_PER_SECOND = 100_000_000  # 800 Mbit/s on a Counter32: wraps every ~43 s
WAN1_OUT_OCTETS_PER_SECOND = 1_000_000
WRAP_AT_UPTIME = 7.0
"""Seconds after the agent started when wan1's ifInOctets passes 2**32 - 1 and wraps."""
COUNTER32_MAX = 2**32 - 1  # snmpsim's default `max` for Counter32: it wraps modulo this
WAN1_IN_INITIAL = COUNTER32_MAX - int(WAN1_IN_OCTETS_PER_SECOND * WRAP_AT_UPTIME)
RATE_TOLERANCE = 0.01
MIN_GAP_SECONDS = 6.0
"""The least time between the two polls a rate is checked to 1 % over (they are about
WRAP_AT_UPTIME apart). The poller dates a cycle's counters when its last walk ends, the agent
reads each one somewhat earlier: that offset varies by up to ~40 ms from cycle to cycle here
(snmpsim is slow; more under load), about 0.6 % of this gap."""
ROUGH_GAP_SECONDS = 2.0
ROUGH_TOLERANCE = 0.1
"""For rates that only have to be right, not exact (no spike, no drop): over a 2 s gap."""

_IF = "1.3.6.1.2.1.2.2.1"
_IFX = "1.3.6.1.2.1.31.1.1.1"


def _counter(tag: int, rate: int, initial: int = 0) -> str:
    return f"{tag}:numeric|initial={initial},rate={rate},wrap=1"


def snmprec() -> str:
    """The simulated router's .snmprec text, sorted in OID order as snmpsim needs."""
    lines: dict[str, str] = {
        "1.3.6.1.2.1.1.1.0": "4|Ops Console simulated WAN router",
        "1.3.6.1.2.1.1.3.0": "67:numeric|rate=100",  # sysUpTime: 100 ticks a second since start
        "1.3.6.1.2.1.1.5.0": "4|sim-r1",
    }
    for index, name in ((1, "wan0"), (2, "wan1")):
        lines |= {
            f"{_IF}.1.{index}": f"2|{index}",
            f"{_IF}.2.{index}": f"4|{name} uplink",
            f"{_IF}.3.{index}": "2|6",  # ethernetCsmacd
            f"{_IF}.5.{index}": f"66|{GBIT}",
            f"{_IF}.7.{index}": "2|1",
            f"{_IF}.8.{index}": "2|1",
            f"{_IF}.11.{index}": "65|0",
            f"{_IF}.13.{index}": "65|0",
            f"{_IF}.14.{index}": "65|0",
            f"{_IF}.17.{index}": "65|0",
            f"{_IF}.19.{index}": "65|0",
            f"{_IF}.20.{index}": "65|0",
            f"{_IFX}.1.{index}": f"4|{name}",
            f"{_IFX}.15.{index}": f"66|{GBIT // 1_000_000}",
            f"{_IFX}.18.{index}": f"4|to dc-west {index}",
        }
    lines |= {
        # wan0: 32-bit and 64-bit octet counters (the collector takes the 64-bit ones).
        f"{_IF}.10.1": _counter(65, WAN0_IN_OCTETS_PER_SECOND),
        f"{_IF}.16.1": _counter(65, WAN0_OUT_OCTETS_PER_SECOND),
        f"{_IFX}.6.1": _counter(70, WAN0_IN_OCTETS_PER_SECOND, initial=10**12),
        f"{_IFX}.10.1": _counter(70, WAN0_OUT_OCTETS_PER_SECOND, initial=10**12),
        # wan1: 32-bit only, ifInOctets near 2**32 so that it wraps at WRAP_AT_UPTIME.
        f"{_IF}.10.2": _counter(65, WAN1_IN_OCTETS_PER_SECOND, initial=WAN1_IN_INITIAL),
        f"{_IF}.16.2": _counter(65, WAN1_OUT_OCTETS_PER_SECOND),
    }
    ordered = sorted(lines, key=lambda oid: tuple(int(part) for part in oid.split(".")))
    return "".join(f"{oid}|{lines[oid]}\n" for oid in ordered)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SnmpSim]:
    with running_snmpsim(tmp_path, {COMMUNITY: snmprec()}) as started:
        yield started


def sim_target(sim: SnmpSim, **spec: Any) -> Target:
    """The simulated router as a v2c target; `spec` overrides SnmpCollectorSpec fields."""
    settings: dict[str, Any] = {
        "interval": 30.0,
        "timeout": 5.0,
        "port": sim.port,
        "request_timeout": 1.0,
        "static_refresh_cycles": 100,
        # Two rows a column: small bulks keep snmpsim's (slow) answers short, so the moment the agent
        # reads each counter, relative to the poller's clock, varies less from cycle to cycle.
        "max_repetitions": 3,
    }
    settings.update(spec)
    device = Device(name="sim-r1", site="dc-east", system="records", role="router", address="127.0.0.1")
    return Target(
        device=device,
        spec=SnmpCollectorSpec(
            kind="snmp", version="2c", community=Secret(COMMUNITY, reference="test:sim"), **settings
        ),
    )


def value(samples: Sequence[Sample], name: str, ifname: str) -> float | None:
    values = [s.value for s in samples if s.name == name and s.labels.get("ifname") == ifname]
    assert len(values) <= 1, values
    return values[0] if values else None


def uptime(samples: Sequence[Sample]) -> float:
    (seconds,) = [s.value for s in samples if s.name == "device_uptime_seconds"]
    return seconds


def rates(samples: Sequence[Sample]) -> list[Sample]:
    return [s for s in samples if s.name.endswith("_per_second") and "speed" not in s.name]


def assert_close(actual: float | None, expected: float, what: str, tolerance: float = RATE_TOLERANCE) -> None:
    assert actual is not None, f"{what}: no rate"
    assert abs(actual - expected) <= expected * tolerance, f"{what}: {actual:,.0f} vs {expected:,.0f}"


async def cycle(scheduler: Scheduler) -> list[Sample]:
    """One cycle of the simulated router: its samples without health and target labels."""
    samples = await scheduler.run_once_all()
    assert up_by_target(samples) == {"sim-r1": 1.0}
    return by_target(samples)["sim-r1"]


# -- tests ------------------------------------------------------------------------------------------


class Polls(NamedTuple):
    first: list[Sample]
    before_wrap: list[Sample]
    after_wrap: list[Sample]


@pytest.fixture(scope="module")
def polls_across_the_wrap(tmp_path_factory: pytest.TempPathFactory) -> Polls:
    """Three cycles of one freshly started agent: the first, one right after it, and one a gap
    later, once wan1's ifInOctets has wrapped. The rates checked are those of the last two cycles,
    which walk the same (dynamic) columns, so the agent reads each counter at the same point of both."""

    async def across_the_wrap(scheduler: Scheduler) -> Polls:
        first = await cycle(scheduler)
        before = await cycle(scheduler)
        await asyncio.sleep(max(MIN_GAP_SECONDS, WRAP_AT_UPTIME + 1.0 - uptime(before)))
        return Polls(first, before, await cycle(scheduler))

    with running_snmpsim(tmp_path_factory.mktemp("snmpsim"), {COMMUNITY: snmprec()}) as sim:
        return run_scheduled([sim_target(sim)], across_the_wrap)


def test_interface_in_bits_per_second_is_the_configured_rate_within_1_percent(polls_across_the_wrap: Polls) -> None:
    first, before, after = polls_across_the_wrap

    assert uptime(after) - uptime(before) >= MIN_GAP_SECONDS - 0.1  # as the agent counts it
    assert value(first, "interface_in_bits_per_second", "wan0") is None  # first poll: no rate
    assert value(after, "interface_oper_up", "wan0") == 1.0
    assert value(after, "interface_speed_bits_per_second", "wan0") == GBIT
    assert_close(value(after, "interface_in_bits_per_second", "wan0"), WAN0_IN_OCTETS_PER_SECOND * 8, "wan0 in")
    assert_close(value(after, "interface_out_bits_per_second", "wan0"), WAN0_OUT_OCTETS_PER_SECOND * 8, "wan0 out")
    assert_close(value(after, "interface_out_bits_per_second", "wan1"), WAN1_OUT_OCTETS_PER_SECOND * 8, "wan1 out")
    assert [s.labels["ifalias"] for s in after if s.name == "interface_oper_up"] == ["to dc-west 1", "to dc-west 2"]


def test_counter32_that_wraps_between_two_polls_gives_the_configured_rate(polls_across_the_wrap: Polls) -> None:
    _, before, after = polls_across_the_wrap

    # The agent's uptime dates its counters: ifInOctets.2 (no ifHC* columns) wrapped in between.
    assert uptime(before) < WRAP_AT_UPTIME < uptime(after), (uptime(before), uptime(after))
    assert_close(value(after, "interface_in_bits_per_second", "wan1"), WAN1_IN_OCTETS_PER_SECOND * 8, "wan1 in")


def test_agent_reboot_gives_no_rate_then_the_right_one_and_never_a_spike(sim: SnmpSim) -> None:
    async def reboot_between_cycles(scheduler: Scheduler) -> list[list[Sample]]:
        cycles = [await cycle(scheduler), await cycle(scheduler)]
        await asyncio.sleep(ROUGH_GAP_SECONDS)
        cycles.append(await cycle(scheduler))  # uptime above 2 s before the reboot
        await asyncio.to_thread(sim.stop)
        await asyncio.to_thread(sim.start)  # same port, counters and uptime from 0 again
        cycles.append(await cycle(scheduler))  # uptime about 1 s
        cycles.append(await cycle(scheduler))
        await asyncio.sleep(ROUGH_GAP_SECONDS)
        cycles.append(await cycle(scheduler))
        return cycles

    cycles = run_scheduled([sim_target(sim)], reboot_between_cycles)

    before, rebooted, recovered = cycles[2], cycles[3], cycles[5]
    assert uptime(rebooted) < uptime(before)  # the reboot as the collector sees it
    wan0_bits, wan1_bits = WAN0_IN_OCTETS_PER_SECOND * 8, WAN1_IN_OCTETS_PER_SECOND * 8
    assert_close(value(before, "interface_in_bits_per_second", "wan0"), wan0_bits, "before", ROUGH_TOLERANCE)
    assert rates(rebooted) == []  # counters restarted: no rate at all, not a spike or a negative one
    assert_close(value(recovered, "interface_in_bits_per_second", "wan0"), wan0_bits, "after", ROUGH_TOLERANCE)
    assert_close(value(recovered, "interface_in_bits_per_second", "wan1"), wan1_bits, "after", ROUGH_TOLERANCE)
    for index, samples in enumerate(cycles):
        for sample in rates(samples):
            top = GBIT * 1.05 if sample.name.endswith("bits_per_second") else 1e9
            assert 0.0 <= sample.value <= top, (index, sample)


class TimedSink:
    """Records what the scheduler delivers, with the monotonic time each state change arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: list[tuple[str, TargetState, str, float]] = []

    def append(self, samples: Sequence[Sample]) -> None:
        pass

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        with self.lock:
            self.states.append((target, state, cause, time.monotonic()))

    def wait_for(self, state: TargetState, within: float) -> tuple[str, TargetState, str, float]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.lock:
                found = [entry for entry in self.states if entry[1] is state]
            if found:
                return found[0]
            time.sleep(0.02)
        pytest.fail(f"no {state} state change within {within:g} s: {self.states}")


async def _close(deps: CollectorDeps) -> None:
    deps.snmp.close()  # on the client's loop


def test_device_that_stops_answering_goes_down_with_timeout_within_interval_plus_timeout(sim: SnmpSim) -> None:
    interval, request_timeout = 1.0, 0.3
    target = sim_target(sim, interval=interval, timeout=0.9, request_timeout=request_timeout, retries=0)
    sink = TimedSink()
    deps = CollectorDeps(clock=SystemClock(), snmp=SnmpClientProvider(max_concurrency=16))
    scheduler = Scheduler(
        targets=[target],
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=sink,
        clock=SystemClock(),
        metrics=prometheus_client.CollectorRegistry(),
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="collectors", daemon=True)
    scheduler.start(loop)
    thread.start()
    try:
        sink.wait_for(TargetState.UP, within=interval + 3.0)
        sim.stop()
        stopped = time.monotonic()
        _, _, cause_text, arrived = sink.wait_for(TargetState.DOWN, within=interval + request_timeout + 3.0)
        scheduler.shutdown_threadsafe(timeout=1.0)
        health = scheduler.health()[target.key]
        asyncio.run_coroutine_threadsafe(_close(deps), loop).result(timeout=2)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
        loop.close()

    assert arrived - stopped <= interval + request_timeout + 1.0, arrived - stopped
    assert (health.up, health.last_cause) == (False, "timeout")
    assert "no answer within 0.3s" in cause_text, cause_text
    assert [(key, state) for key, state, _, _ in sink.states] == [
        ("sim-r1/snmp", TargetState.UP),
        ("sim-r1/snmp", TargetState.DOWN),
    ]
