"""Reachability by topology: the pure `Reachability`, and the scheduler recording UNREACHABLE,
reclassifying, and backing off — with scripted collectors and a fake clock.

The topology of every test here (and of tests/collectors/test_topology_agents.py):

    console -> rtr-east -> east-west-1 -+-> rtr-west -> srv-west
                       \\-> east-west-2 -/
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import prometheus_client

from collectors import CollectError, CollectorDeps, Scheduler
from collectors.scheduler import first_slot_time, scrape_offset
from collectors.topology import Reachability
from model import CollectorSpec, Device, FakeClock, Labels, Link, LinkEnd, Sample, Target, TargetState

T0 = 1_800_000_000.0

RTR_EAST = Device("rtr-east", "dc-east", "wan", "router", "127.0.0.1")
RTR_WEST = Device("rtr-west", "dc-west", "wan", "router", "127.0.0.2", parents=("east-west-1", "east-west-2"))
SRV_WEST = Device("srv-west", "dc-west", "records", "server", "127.0.0.3", parents=("rtr-west",))
LINKS = (
    Link("east-west-1", LinkEnd("rtr-east", "2"), LinkEnd("rtr-west", "2"), parents=("rtr-east",)),
    Link("east-west-2", LinkEnd("rtr-east", "3"), LinkEnd("rtr-west", "3"), parents=("rtr-east",)),
)


def target(device: Device, kind: str = "poll", interval: float = 60.0) -> Target:
    return Target(device, CollectorSpec(kind=kind, interval=interval, timeout=5.0))


def oper(link: str, up: bool) -> Sample:
    return Sample("interface_oper_up", Labels(link=link, ifname=link), 1.0 if up else 0.0, T0)


class Estate:
    """What the scripted collectors answer: which links rtr-east reports up, which devices answer."""

    def __init__(self) -> None:
        self.links_up = {"east-west-1": True, "east-west-2": True}
        self.answering = {"rtr-east": True, "rtr-west": True, "srv-west": True}
        self.polled: list[str] = []

    async def collect(self, target: Target) -> list[Sample]:
        self.polled.append(target.device.name)
        if not self.answering[target.device.name]:
            raise CollectError(f"{target.device.address}:161: no answer", cause="timeout")
        if target.device is RTR_EAST:
            return [oper(link, up) for link, up in self.links_up.items()]
        return []


class Sink:
    def __init__(self) -> None:
        self.appends: list[list[Sample]] = []
        self.states: list[tuple[str, TargetState, float, str]] = []

    def append(self, samples: Sequence[Sample]) -> None:
        self.appends.append(list(samples))

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        self.states.append((target, state, ts, cause))


def make(estate: Estate, clock: FakeClock) -> tuple[Scheduler, Sink, prometheus_client.CollectorRegistry]:
    sink, metrics = Sink(), prometheus_client.CollectorRegistry()
    scheduler = Scheduler(
        targets=[target(RTR_EAST), target(RTR_WEST), target(SRV_WEST)],
        registry={"poll": lambda deps: estate},
        deps=CollectorDeps(clock=clock),
        sink=sink,
        clock=clock,
        metrics=metrics,
        links=LINKS,
    )
    return scheduler, sink, metrics


# -- Reachability ---------------------------------------------------------------------------------


def reachability() -> Reachability:
    return Reachability([RTR_EAST, RTR_WEST, SRV_WEST], LINKS)


def test_everything_is_reachable_before_anything_ran() -> None:
    reach = reachability()
    assert [reach.reachable(name) for name in ("rtr-east", "east-west-1", "rtr-west", "srv-west")] == [True] * 4


def test_a_redundant_pair_keeps_the_device_reachable_while_one_link_is_up() -> None:
    reach = reachability()
    east = target(RTR_EAST)

    assert reach.observe(east, True, [oper("east-west-1", False), oper("east-west-2", True)]) is True
    assert (reach.node_up("east-west-1"), reach.reachable("rtr-west")) == (False, True)

    assert reach.observe(east, True, [oper("east-west-1", False), oper("east-west-2", False)]) is True
    assert (reach.reachable("rtr-west"), reach.reachable("srv-west")) == (False, False)
    assert reach.state("rtr-west", False) is TargetState.UNREACHABLE
    assert reach.state("rtr-west", True) is TargetState.UP  # an answer is an answer
    assert reach.why_unreachable("rtr-west") == "no path to rtr-west: east-west-1 is down, east-west-2 is down"
    assert reach.why_unreachable("srv-west") == "no path to srv-west: rtr-west is unreachable"

    assert reach.observe(east, True, [oper("east-west-1", True), oper("east-west-2", False)]) is True
    assert reach.reachable("srv-west") is True


def test_a_reachable_device_that_fails_is_down_and_its_children_unreachable() -> None:
    reach = reachability()
    reach.observe(target(RTR_WEST), False, [])

    assert reach.state("rtr-west", False) is TargetState.DOWN
    assert reach.state("srv-west", False) is TargetState.UNREACHABLE
    assert reach.why_unreachable("srv-west") == "no path to srv-west: rtr-west is down"


def test_one_answering_collector_keeps_a_device_up_for_its_children() -> None:
    reach = reachability()
    reach.observe(target(RTR_WEST, "snmp"), False, [])
    reach.observe(target(RTR_WEST, "ping"), True, [])

    assert (reach.node_up("rtr-west"), reach.reachable("srv-west")) == (True, True)


def test_link_reports_count_only_from_the_reporters_latest_successful_run() -> None:
    reach = reachability()
    east = target(RTR_EAST)
    reach.observe(east, True, [oper("east-west-1", False), oper("east-west-2", False)])

    # rtr-east stops answering: what it said about the links is no longer known, and an unknown link
    # is not a down one — but the links' parent (rtr-east) is down now, so rtr-west is still cut off.
    assert reach.observe(east, False, []) is True
    assert (reach.node_up("east-west-1"), reach.node_up("east-west-2")) == (True, True)
    assert reach.why_unreachable("rtr-west") == (
        "no path to rtr-west: east-west-1 is unreachable, east-west-2 is unreachable"
    )


def test_an_observation_that_changes_nothing_says_so() -> None:
    reach = reachability()
    assert reach.observe(target(RTR_WEST), True, []) is False
    assert reach.observe(target(RTR_EAST), True, [oper("east-west-1", True)]) is False


def test_a_long_chain_of_parents_is_walked_without_recursion() -> None:
    chain = [Device(f"d{i}", "s", "y", "switch", "127.0.0.1", parents=(f"d{i - 1}",) if i else ()) for i in range(5000)]
    reach = Reachability(chain)
    reach.observe(target(chain[2500]), False, [])

    assert [reach.reachable(f"d{i}") for i in (4999, 2501, 2500, 2499, 0)] == [False, False, True, True, True]


# -- the scheduler --------------------------------------------------------------------------------


def test_west_devices_are_unreachable_while_both_links_are_down_and_back_with_one() -> None:
    estate, clock = Estate(), FakeClock(T0)
    scheduler, sink, _ = make(estate, clock)

    async def scenario() -> None:
        for key in ("rtr-east/poll", "rtr-west/poll", "srv-west/poll"):
            await scheduler.run_target(key)
        clock.advance(60)
        estate.links_up = {"east-west-1": False, "east-west-2": False}
        estate.answering |= {"rtr-west": False, "srv-west": False}
        for key in ("rtr-east/poll", "rtr-west/poll", "srv-west/poll"):
            await scheduler.run_target(key)
        clock.advance(60)
        estate.links_up["east-west-1"] = True
        estate.answering |= {"rtr-west": True, "srv-west": True}
        for key in ("rtr-east/poll", "rtr-west/poll", "srv-west/poll"):
            await scheduler.run_target(key)

    asyncio.run(scenario())

    assert [state for state in sink.states if state[0] != "rtr-east/poll"] == [
        ("rtr-west/poll", TargetState.UP, T0, ""),
        ("srv-west/poll", TargetState.UP, T0, ""),
        (
            "rtr-west/poll",
            TargetState.UNREACHABLE,
            T0 + 60,
            "no path to rtr-west: east-west-1 is down, east-west-2 is down",
        ),
        ("srv-west/poll", TargetState.UNREACHABLE, T0 + 60, "no path to srv-west: rtr-west is unreachable"),
        ("rtr-west/poll", TargetState.UP, T0 + 120, ""),
        ("srv-west/poll", TargetState.UP, T0 + 120, ""),
    ]
    flags = [(batch[-1].labels["target"], batch[-1].value) for batch in sink.appends]
    assert [flag for flag in flags if flag[0] != "rtr-east"] == [
        ("rtr-west", 0.0),
        ("srv-west", 0.0),
        ("rtr-west", 1.0),
        ("srv-west", 1.0),
        ("rtr-west", 0.0),
        ("srv-west", 0.0),
    ]
    assert scheduler.states() == {
        "rtr-east/poll": TargetState.UP,
        "rtr-west/poll": TargetState.UP,
        "srv-west/poll": TargetState.UP,
    }


def test_a_device_down_before_its_links_went_is_reclassified_unreachable_when_they_go() -> None:
    estate, clock = Estate(), FakeClock(T0)
    scheduler, sink, _ = make(estate, clock)
    estate.answering["rtr-west"] = False

    async def scenario() -> None:
        await scheduler.run_target("rtr-east/poll")
        await scheduler.run_target("rtr-west/poll")
        clock.advance(30)
        estate.links_up = {"east-west-1": False, "east-west-2": False}
        await scheduler.run_target("rtr-east/poll")

    asyncio.run(scenario())

    assert [state for state in sink.states if state[0] == "rtr-west/poll"] == [
        ("rtr-west/poll", TargetState.DOWN, T0, "127.0.0.2:161: no answer"),
        (
            "rtr-west/poll",
            TargetState.UNREACHABLE,
            T0 + 30,
            "no path to rtr-west: east-west-1 is down, east-west-2 is down",
        ),
    ]


def test_with_one_link_back_a_still_silent_device_is_down_at_its_next_run() -> None:
    estate, clock = Estate(), FakeClock(T0)
    scheduler, sink, _ = make(estate, clock)
    estate.links_up = {"east-west-1": False, "east-west-2": False}
    estate.answering["rtr-west"] = False

    async def scenario() -> None:
        await scheduler.run_target("rtr-east/poll")
        await scheduler.run_target("rtr-west/poll")
        clock.advance(60)
        estate.links_up["east-west-2"] = True
        await scheduler.run_target("rtr-east/poll")  # reachable again: not recorded until rtr-west runs
        states_before_its_run = [s[1] for s in sink.states if s[0] == "rtr-west/poll"]
        await scheduler.run_target("rtr-west/poll")
        assert states_before_its_run == [TargetState.UNREACHABLE]

    asyncio.run(scenario())

    assert [s[1:3] for s in sink.states if s[0] == "rtr-west/poll"] == [
        (TargetState.UNREACHABLE, T0),
        (TargetState.DOWN, T0 + 60),
    ]


def test_an_unreachable_target_backs_off_and_runs_again_as_soon_as_a_path_is_back() -> None:
    clock = FakeClock(4_000_000_000.0)  # far ahead of the wall clock: APScheduler fires nothing itself
    estate = Estate()
    scheduler, sink, metrics = make(estate, clock)
    estate.links_up = {"east-west-1": False, "east-west-2": False}
    estate.answering["rtr-west"] = False
    loop = asyncio.new_event_loop()
    scheduler.start(loop)
    first = first_slot_time(clock.now(), 60.0, scrape_offset("rtr-west/poll", 60.0))

    async def slots(count: int) -> list[int]:
        await scheduler.run_target("rtr-east/poll")
        ran = []
        for slot in range(count):
            clock.advance(first + slot * 60.0 - clock.now())
            if slot == 14:
                estate.links_up["east-west-1"] = True
                await scheduler.run_target("rtr-east/poll")
            before = estate.polled.count("rtr-west")
            await scheduler._run_scheduled("rtr-west/poll")
            if estate.polled.count("rtr-west") > before:
                ran.append(slot)
        await scheduler.shutdown()
        return ran

    try:
        ran = loop.run_until_complete(slots(16))
    finally:
        loop.close()

    # Unreachable from slot 0: runs at 2, 4, 8, then every 5 slots (300 s / 60 s); at slot 14 a
    # link is back and the target runs at once, and at every slot after.
    assert ran == [0, 2, 4, 8, 13, 14, 15]
    skipped = 16 - len(ran)
    labels = {"target": "rtr-west", "collector": "poll"}
    assert metrics.get_sample_value("scheduler_unreachable_skips_total", labels) == skipped
    assert metrics.get_sample_value("scheduler_skipped_runs_total", {**labels, "reason": "missed"}) == 0.0
    left_out = [batch for batch in sink.appends if len(batch) == 2 and batch[0].labels["target"] == "rtr-west"]
    assert [[(s.name, s.value) for s in batch] for batch in left_out] == [
        [("up", 0.0), ("target_unreachable", 1.0)]
    ] * skipped
