"""Reachability with real agents and the real store: snmpsim answers for the routers, the scheduler
runs the SNMP collector, and the store's state history shows `unreachable` apart from `down`.

rtr-east reports its two east-west link interfaces (ifIndex 2 and 3) down; rtr-west and srv-west,
behind those links, do not answer (their communities are not served: a timeout, as over a dead WAN).
Then one link comes back (the agent restarts with ifIndex 2 up) and the west devices answer again.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import prometheus_client

from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler, SnmpClientProvider
from model import Device, Link, LinkEnd, Secret, SnmpCollectorSpec, SystemClock, Target, TargetState
from store.tsdb import Store
from tests.collectors.snmpsim_agent import SnmpSim

_IF = "1.3.6.1.2.1.2.2.1"
_IFX = "1.3.6.1.2.1.31.1.1.1"
LINKS = (
    Link("east-west-1", LinkEnd("rtr-east", "2"), LinkEnd("rtr-west", "2"), parents=("rtr-east",)),
    Link("east-west-2", LinkEnd("rtr-east", "3"), LinkEnd("rtr-west", "3"), parents=("rtr-east",)),
)
DEVICES = (
    Device("rtr-east", "dc-east", "wan", "router", "127.0.0.1"),
    Device("rtr-west", "dc-west", "wan", "router", "127.0.0.1", parents=("east-west-1", "east-west-2")),
    Device("srv-west", "dc-west", "records", "server", "127.0.0.1", parents=("rtr-west",)),
)


def snmprec(name: str, oper: dict[int, bool]) -> str:
    """A router with interfaces 1..3 whose ifOperStatus is `oper` (sorted in OID order)."""
    lines = {
        "1.3.6.1.2.1.1.3.0": "67:numeric|rate=100",
        "1.3.6.1.2.1.1.5.0": f"4|{name}",
    }
    for index, up in oper.items():
        lines |= {
            f"{_IF}.2.{index}": f"4|ge{index}",
            f"{_IF}.7.{index}": "2|1",
            f"{_IF}.8.{index}": f"2|{1 if up else 2}",
            f"{_IFX}.1.{index}": f"4|ge{index}",
        }
    ordered = sorted(lines, key=lambda oid: tuple(int(part) for part in oid.split(".")))
    return "".join(f"{oid}|{lines[oid]}\n" for oid in ordered)


def targets(port: int) -> list[Target]:
    out = []
    for device in DEVICES:
        ends = tuple(
            (end.interface, link.name, None) for link in LINKS for end in link.ends if end.device == device.name
        )
        spec = SnmpCollectorSpec(
            kind="snmp",
            interval=60.0,
            timeout=5.0,
            port=port,
            community=Secret(device.name, reference=f"test:{device.name}"),
            modules=("system", "if_mib"),
            # 1 s: an answer of a loaded machine (browser tests beside) is late, never a timeout; a cut-off
            # device still times out, in 1 s.
            request_timeout=1.0,
            retries=0,
            links=ends,
        )
        out.append(Target(device, spec))
    return out


def test_west_devices_are_unreachable_not_down_while_both_links_are_down(tmp_path: Path) -> None:
    sim = SnmpSim(tmp_path / "sim", {"rtr-east": snmprec("rtr-east", {1: True, 2: False, 3: False})})
    clock = SystemClock()
    store = Store.open(tmp_path / "data", clock=clock, metrics=prometheus_client.CollectorRegistry())
    deps = CollectorDeps(clock=clock, snmp=SnmpClientProvider(max_concurrency=8))
    scheduler = Scheduler(
        targets=targets(sim.port),
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=store,
        clock=clock,
        metrics=prometheus_client.CollectorRegistry(),
        links=LINKS,
    )

    async def cycle() -> list[float]:
        ups = []
        for key in ("rtr-east/snmp", "rtr-west/snmp", "srv-west/snmp"):
            ups.append((await scheduler.run_target(key)).health.up)
        return ups

    async def scenario() -> tuple[list[float], list[float]]:
        try:
            cut_off = await cycle()
            sim.stop()
            sim.records = {
                "rtr-east": snmprec("rtr-east", {1: True, 2: True, 3: False}),
                "rtr-west": snmprec("rtr-west", {1: True, 2: True, 3: False}),
                "srv-west": snmprec("srv-west", {1: True}),
            }
            sim.start()
            restored = await cycle()
            return cut_off, restored
        finally:
            deps.snmp.close()

    try:
        sim.start()
        cut_off, restored = asyncio.run(scenario())
        assert store.flush()
        rows = store.state_intervals(None, 0.0, math.inf)
    finally:
        sim.stop()
        store.close()

    assert (cut_off, restored) == ([True, False, False], [True, True, True])
    history = {
        key: [(row.state, row.cause) for row in rows if row.target == key] for key in ("rtr-west/snmp", "srv-west/snmp")
    }
    assert history == {
        "rtr-west/snmp": [
            ("unreachable", "no path to rtr-west: east-west-1 is down, east-west-2 is down"),
            ("up", ""),
        ],
        "srv-west/snmp": [
            ("unreachable", "no path to srv-west: rtr-west is unreachable"),
            ("up", ""),
        ],
    }
    assert [row.state for row in rows if row.target == "rtr-east/snmp"] == ["up"]
    assert set(scheduler.states().values()) == {TargetState.UP}
