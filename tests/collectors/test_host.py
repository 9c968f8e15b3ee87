"""HostCollector against a fake psutil replaying outputs recorded on a Linux VM.

tests/fixtures/host/psutil_recording.json holds two snapshots 15 s apart (see its "about").
Expected values below are worked out by hand from that file.
"""

from __future__ import annotations

import asyncio
import json
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from collectors.base import CollectError, CollectorDeps
from collectors.host import HostCollector, create_host_collector
from model import Device, FakeClock, HostCollectorSpec, Labels, Sample, Target

RECORDING = json.loads((Path(__file__).parents[1] / "fixtures" / "host" / "psutil_recording.json").read_text("utf-8"))
SNAP0, SNAP1 = RECORDING["snapshots"]

TARGET = Target(
    device=Device(name="console-01", site="dc-east", system="ops", role="server", address="127.0.0.1"),
    spec=HostCollectorSpec(kind="host", interval=15.0, timeout=10.0),
)

_TYPES: dict[str, Any] = {}


def _nt(obj: Mapping[str, Any]) -> Any:
    """A psutil-shaped named tuple from its recorded form ({"_type": name, field: value, ...})."""
    fields = {k: v for k, v in obj.items() if k != "_type"}
    cls = _TYPES.get(obj["_type"])
    if cls is None or cls._fields != tuple(fields):
        cls = _TYPES[obj["_type"]] = namedtuple(obj["_type"], fields)
    return cls(**fields)


class FakePsutil:
    """Replays one recorded snapshot; `fail` maps a function name to the exception it raises."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        self.fail: dict[str, Exception] = {}
        self.unreadable: dict[str, OSError] = {}
        self.load(snapshot)

    def load(self, snapshot: Mapping[str, Any]) -> None:
        self.snap = snapshot
        self.cpu_readings = [_nt(t) for t in snapshot["cpu_times"]]

    def _check(self, function: str) -> None:
        if function in self.fail:
            raise self.fail[function]

    def cpu_times(self, percpu: bool = False) -> Any:
        assert percpu is False
        self._check("cpu_times")
        return self.cpu_readings.pop(0)

    def cpu_count(self, logical: bool = True) -> int | None:
        assert logical is True
        self._check("cpu_count")
        count: int | None = self.snap["cpu_count"]
        return count

    def virtual_memory(self) -> Any:
        self._check("virtual_memory")
        return _nt(self.snap["virtual_memory"])

    def swap_memory(self) -> Any:
        self._check("swap_memory")
        return _nt(self.snap["swap_memory"])

    def disk_partitions(self, all: bool = False) -> list[Any]:
        assert all is False
        self._check("disk_partitions")
        return [_nt(p) for p in self.snap["disk_partitions"]]

    def disk_usage(self, path: str) -> Any:
        self._check("disk_usage")
        if path in self.unreadable:
            raise self.unreadable[path]
        return _nt(self.snap["disk_usage"][path])

    def disk_io_counters(self, perdisk: bool = False) -> dict[str, Any]:
        assert perdisk is True
        self._check("disk_io_counters")
        return {k: _nt(v) for k, v in self.snap["disk_io_counters"].items()}

    def net_io_counters(self, pernic: bool = False) -> dict[str, Any]:
        assert pernic is True
        self._check("net_io_counters")
        return {k: _nt(v) for k, v in self.snap["net_io_counters"].items()}

    def net_if_stats(self) -> dict[str, Any]:
        self._check("net_if_stats")
        return {k: _nt(v) for k, v in self.snap["net_if_stats"].items()}

    def getloadavg(self) -> tuple[float, float, float]:
        self._check("getloadavg")
        one, five, fifteen = self.snap["getloadavg"]
        return (one, five, fifteen)

    def boot_time(self) -> float:
        self._check("boot_time")
        return float(self.snap["boot_time"])


def _edit(snapshot: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a recorded snapshot with top-level entries replaced."""
    copy: dict[str, Any] = json.loads(json.dumps(snapshot))
    copy.update(changes)
    return copy


def make(snapshot: Mapping[str, Any] = SNAP0) -> tuple[HostCollector, FakePsutil, FakeClock]:
    psutil = FakePsutil(snapshot)
    clock = FakeClock(start=SNAP0["time"])
    indexes: dict[str, int] = SNAP0["if_nametoindex"]
    collector = HostCollector(psutil=psutil, clock=clock, if_index=indexes.get, first_sample_delay=0.0)
    return collector, psutil, clock


def collect(collector: HostCollector, clock: FakeClock, target: Target = TARGET) -> dict[tuple[str, Labels], float]:
    """Run one collect; check every sample has the clock's time and a unique series; name+labels -> value."""
    samples: list[Sample] = asyncio.run(collector.collect(target))
    assert {s.ts for s in samples} == {clock.now()}
    series = {(s.name, s.labels): s.value for s in samples}
    assert len(series) == len(samples)
    return series


def by_name(series: Mapping[tuple[str, Labels], float], name: str) -> dict[Labels, float]:
    return {labels: value for (n, labels), value in series.items() if n == name}


def L(**labels: str) -> Labels:  # noqa: N802
    return Labels(labels)


NONE = Labels()
ROOT = L(mountpoint="/", device="/dev/vda", fstype="ext4")
VDA = L(device="vda")
IFB0 = L(ifname="ifb0", ifindex="2")
IFB1 = L(ifname="ifb1", ifindex="3")
ETH0 = L(ifname="eth0", ifindex="4")
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
COUNTERS = ("in_octets", "out_octets", "in_errors", "out_errors", "in_discards", "out_discards")


def _interface_totals(ifname: Labels, values: tuple[float, ...]) -> dict[tuple[str, Labels], float]:
    return {(f"interface_{c}_total", ifname): v for c, v in zip(COUNTERS, values, strict=True)}


EXPECTED_FIRST: dict[tuple[str, Labels], float] = {
    # cpu_times read twice, 0.25 s apart: user +0.16, system +0.01, idle +0.32 -> 0.49 s in all.
    ("cpu_utilisation_ratio", NONE): 1 - 0.32 / 0.49,
    **{
        ("cpu_seconds_total", L(mode=m)): v
        for m, v in zip(CPU_MODES, (97.38, 0.0, 25.6, 454.02, 1.89, 0.0, 0.38, 0.23, 0.0, 0.0), strict=True)
    },
    ("cpu_count", NONE): 2,
    ("memory_total_bytes", NONE): 25276510208,
    ("memory_available_bytes", NONE): 24919789568,
    ("memory_utilisation_ratio", NONE): (25276510208 - 24919789568) / 25276510208,
    ("swap_total_bytes", NONE): 0,
    ("swap_used_bytes", NONE): 0,
    ("swap_utilisation_ratio", NONE): 0.0,
    ("filesystem_size_bytes", ROOT): 270553174016,
    ("filesystem_free_bytes", ROOT): 84731486208,
    ("filesystem_utilisation_ratio", ROOT): 24212807680 / (24212807680 + 84731486208),
    # loop0..7 and zram0 skipped
    ("disk_read_bytes_total", VDA): 568079360,
    ("disk_written_bytes_total", VDA): 1508028416,
    ("disk_reads_completed_total", VDA): 7615,
    ("disk_writes_completed_total", VDA): 2757,
    ("disk_io_time_seconds_total", VDA): 3.636,
    # lo skipped; no rates on the first collect
    **_interface_totals(IFB0, (0, 0, 0, 0, 0, 0)),
    ("interface_oper_up", IFB0): 0,
    **_interface_totals(IFB1, (0, 0, 0, 0, 0, 0)),
    ("interface_oper_up", IFB1): 0,
    **_interface_totals(ETH0, (208346716, 208666, 0, 0, 0, 0)),
    ("interface_oper_up", ETH0): 1,
    ("interface_speed_bits_per_second", ETH0): 1_000_000_000,
    ("system_load1", NONE): 0.28564453125,
    ("system_load5", NONE): 0.3125,
    ("system_load15", NONE): 0.13916015625,
    ("device_uptime_seconds", NONE): 1795754793.632 - 1795754502.0,
}

_ZERO_RATES = {
    ("interface_in_bits_per_second", None): 0.0,
    ("interface_out_bits_per_second", None): 0.0,
    ("interface_errors_per_second", "in"): 0.0,
    ("interface_errors_per_second", "out"): 0.0,
    ("interface_discards_per_second", "in"): 0.0,
    ("interface_discards_per_second", "out"): 0.0,
}


def _rates(ifname: Labels, values: Mapping[tuple[str, str | None], float]) -> dict[tuple[str, Labels], float]:
    return {
        (name, ifname if direction is None else ifname.merge({"direction": direction})): v
        for (name, direction), v in values.items()
    }


EXPECTED_SECOND: dict[tuple[str, Labels], float] = {
    **EXPECTED_FIRST,
    # 15 s on 2 CPUs: user +9, system +3, idle +16.5, iowait +0.75, softirq +0.25, steal +0.5 = 30 s
    ("cpu_utilisation_ratio", NONE): 1 - (16.5 + 0.75) / 30,
    **{
        ("cpu_seconds_total", L(mode=m)): v
        for m, v in zip(CPU_MODES, (106.38, 0.0, 28.6, 470.52, 2.64, 0.0, 0.63, 0.73, 0.0, 0.0), strict=True)
    },
    ("memory_available_bytes", NONE): 24814931968,
    ("memory_utilisation_ratio", NONE): (25276510208 - 24814931968) / 25276510208,
    ("filesystem_free_bytes", ROOT): 84731486208 - 1073741824,
    ("filesystem_utilisation_ratio", ROOT): (24212807680 + 1073741824) / (24212807680 + 84731486208),
    ("disk_read_bytes_total", VDA): 568079360 + 1572864,
    ("disk_written_bytes_total", VDA): 1508028416 + 15728640,
    ("disk_reads_completed_total", VDA): 7615 + 30,
    ("disk_writes_completed_total", VDA): 2757 + 150,
    ("disk_io_time_seconds_total", VDA): 3.636 + 1.5,
    **_interface_totals(ETH0, (208346716 + 18750000, 208666 + 1875000, 3, 0, 15, 0)),
    **_rates(IFB0, _ZERO_RATES),
    **_rates(IFB1, _ZERO_RATES),
    **_rates(
        ETH0,
        {
            ("interface_in_bits_per_second", None): 18750000 * 8 / 15,  # 10 Mbit/s
            ("interface_out_bits_per_second", None): 1875000 * 8 / 15,  # 1 Mbit/s
            ("interface_utilisation_ratio", "in"): 10e6 / 1e9,
            ("interface_utilisation_ratio", "out"): 1e6 / 1e9,
            ("interface_errors_per_second", "in"): 3 / 15,
            ("interface_errors_per_second", "out"): 0.0,
            ("interface_discards_per_second", "in"): 15 / 15,
            ("interface_discards_per_second", "out"): 0.0,
        },
    ),
    ("system_load1", NONE): 0.5,
    ("system_load5", NONE): 0.25,
    ("system_load15", NONE): 0.125,
    ("device_uptime_seconds", NONE): 1795754808.632 - 1795754502.0,
}


def test_first_collect_reports_everything_but_interface_rates() -> None:
    collector, _, clock = make()

    assert collect(collector, clock) == pytest.approx(EXPECTED_FIRST, rel=1e-12, abs=1e-12)


def test_second_collect_adds_interface_rates_and_ratios() -> None:
    collector, psutil, clock = make()
    collect(collector, clock)
    clock.advance(15)
    psutil.load(SNAP1)

    assert collect(collector, clock) == pytest.approx(EXPECTED_SECOND, rel=1e-12, abs=1e-12)


def test_samples_keep_psutil_order() -> None:
    collector, _, _ = make()

    names = [s.name for s in asyncio.run(collector.collect(TARGET))]

    assert names[:3] == ["cpu_utilisation_ratio", "cpu_seconds_total", "cpu_seconds_total"]
    assert names[-4:] == ["system_load1", "system_load5", "system_load15", "device_uptime_seconds"]


def test_only_first_collect_reads_cpu_twice_first_sample_delay_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    psutil = FakePsutil(SNAP0)
    clock = FakeClock(start=SNAP0["time"])
    collector = HostCollector(psutil=psutil, clock=clock, if_index=lambda _: None)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        assert psutil.cpu_readings == [_nt(SNAP0["cpu_times"][1])], "sleep comes after the first read"

    monkeypatch.setattr("collectors.host.asyncio.sleep", fake_sleep)
    asyncio.run(collector.collect(TARGET))
    psutil.load(SNAP1)
    clock.advance(15)
    asyncio.run(collector.collect(TARGET))

    assert collector.first_sample_delay == 0.25
    assert slept == [0.25]
    assert psutil.cpu_readings == []


def test_cpu_ratio_leaves_out_guest_time_already_counted_in_user() -> None:
    start = {"_type": "scputimes", "user": 10.0, "nice": 0.0, "system": 2.0, "idle": 100.0, "iowait": 0.0}
    end = {**start, "user": 16.0, "system": 3.0, "idle": 103.0, "iowait": 1.0}
    cpu = [{**start, "guest": 5.0, "guest_nice": 0.0}, {**end, "guest": 9.0, "guest_nice": 0.0}]
    collector, _, clock = make(_edit(SNAP0, cpu_times=cpu))

    series = collect(collector, clock)

    # user +6 (guest +4 is part of it), system +1, idle +3, iowait +1: busy 7 of 11 s
    assert series[("cpu_utilisation_ratio", NONE)] == pytest.approx(7 / 11, rel=1e-12)
    assert series[("cpu_seconds_total", L(mode="guest"))] == 9.0


def test_unreadable_mount_is_skipped_and_duplicate_mountpoint_reported_once() -> None:
    partitions = [
        *SNAP0["disk_partitions"],
        {
            "_type": "sdiskpart",
            "device": "srv:/export",
            "mountpoint": "/mnt/nfs",
            "fstype": "nfs4",
            "opts": "ro",
        },
        {"_type": "sdiskpart", "device": "/dev/vdb", "mountpoint": "/", "fstype": "xfs", "opts": "rw"},
    ]
    collector, psutil, clock = make(_edit(SNAP0, disk_partitions=partitions))
    psutil.unreadable["/mnt/nfs"] = PermissionError(13, "Permission denied", "/mnt/nfs")

    series = collect(collector, clock)

    assert {name: by_name(series, name) for name in ("filesystem_size_bytes", "filesystem_free_bytes")} == {
        "filesystem_size_bytes": {ROOT: 270553174016},
        "filesystem_free_bytes": {ROOT: 84731486208},
    }
    assert list(by_name(series, "filesystem_utilisation_ratio")) == [ROOT]


FUNCTIONS = [
    "cpu_times",
    "cpu_count",
    "virtual_memory",
    "swap_memory",
    "disk_partitions",
    "disk_usage",
    "disk_io_counters",
    "net_io_counters",
    "net_if_stats",
    "getloadavg",
    "boot_time",
]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_failing_psutil_function_raises_collect_error_naming_it(function: str) -> None:
    collector, psutil, clock = make()
    cause = RuntimeError("boom")
    psutil.fail[function] = cause

    with pytest.raises(CollectError) as caught:
        collect(collector, clock)

    assert str(caught.value) == f"psutil {function} failed: boom"
    assert caught.value.cause == "error"
    assert caught.value.__cause__ is cause


def test_os_error_outside_disk_usage_fails_the_collect() -> None:
    collector, psutil, clock = make()
    psutil.fail["net_io_counters"] = FileNotFoundError(2, "No such file or directory", "/proc/net/dev")

    with pytest.raises(CollectError, match=r"^psutil net_io_counters failed: \[Errno 2\] No such file"):
        collect(collector, clock)


def test_counter_reset_gives_no_rate_then_rates_resume() -> None:
    collector, psutil, clock = make()
    collect(collector, clock)
    rebooted_nic = _edit(SNAP1)
    rebooted_nic["net_io_counters"]["eth0"]["bytes_recv"] = 1500  # below the first reading
    psutil.load(rebooted_nic)
    clock.advance(15)

    after_reset = collect(collector, clock)

    assert ETH0 not in by_name(after_reset, "interface_in_bits_per_second")
    assert ETH0.merge({"direction": "in"}) not in by_name(after_reset, "interface_utilisation_ratio")
    assert by_name(after_reset, "interface_out_bits_per_second")[ETH0] == pytest.approx(1e6)
    assert after_reset[("interface_in_octets_total", ETH0)] == 1500

    again = _edit(rebooted_nic)
    again["net_io_counters"]["eth0"]["bytes_recv"] = 1500 + 3_000_000
    psutil.load(again)
    clock.advance(15)

    assert by_name(collect(collector, clock), "interface_in_bits_per_second")[ETH0] == pytest.approx(1.6e6)


def test_interface_that_vanishes_starts_over_when_it_returns() -> None:
    collector, psutil, clock = make()
    collect(collector, clock)
    without_ifb1 = _edit(SNAP1)
    del without_ifb1["net_io_counters"]["ifb1"]
    psutil.load(without_ifb1)
    clock.advance(15)
    collect(collector, clock)
    psutil.load(SNAP1)
    clock.advance(15)

    rates = by_name(collect(collector, clock), "interface_in_bits_per_second")

    assert set(rates) == {IFB0, ETH0}


def test_ifindex_label_is_omitted_when_interface_has_no_index() -> None:
    psutil = FakePsutil(SNAP0)
    clock = FakeClock(start=SNAP0["time"])
    collector = HostCollector(psutil=psutil, clock=clock, if_index=lambda _: None, first_sample_delay=0.0)

    series = collect(collector, clock)

    assert by_name(series, "interface_oper_up") == {
        L(ifname="ifb0"): 0,
        L(ifname="ifb1"): 0,
        L(ifname="eth0"): 1,
    }


def test_disk_without_busy_time_has_no_io_time() -> None:
    no_busy = {k: v for k, v in SNAP0["disk_io_counters"]["vda"].items() if k != "busy_time"}
    collector, _, clock = make(_edit(SNAP0, disk_io_counters={"vda": no_busy, "ram0": no_busy}))

    series = collect(collector, clock)

    assert by_name(series, "disk_reads_completed_total") == {VDA: 7615}
    assert by_name(series, "disk_io_time_seconds_total") == {}


def test_each_target_keeps_its_own_state() -> None:
    collector, psutil, clock = make()
    collect(collector, clock)
    psutil.load(SNAP1)
    psutil.cpu_readings.insert(0, _nt(SNAP0["cpu_times"][1]))  # the other target's first read
    clock.advance(15)
    other = Target(device=TARGET.device, spec=HostCollectorSpec(kind="host2", interval=15.0, timeout=10.0))

    series = collect(collector, clock, other)

    assert by_name(series, "interface_in_bits_per_second") == {}
    assert series[("cpu_utilisation_ratio", NONE)] == pytest.approx(0.425)


def test_factory_builds_a_collector_over_the_real_psutil() -> None:
    import psutil

    clock = FakeClock()
    collector = create_host_collector(CollectorDeps(clock=clock))

    assert isinstance(collector, HostCollector)
    assert collector._psutil is psutil
    assert collector._clock is clock
    assert collector.first_sample_delay == 0.25
