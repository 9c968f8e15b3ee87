"""The host collector: the console's own machine through psutil.

psutil is injected (`HostCollector(psutil=...)`); only `create_host_collector` imports the real
module, when called. The psutil reads run in a worker thread (`asyncio.to_thread`) so a slow
`statvfs` never blocks the event loop; the samples are built on the loop from that snapshot.

Samples carry only the labels listed here; the scheduler adds the target's labels. All samples
of one collect share one `ts` (Unix seconds, taken when the psutil snapshot is complete).
Rates are per second, ratios 0..1, sizes bytes, times seconds.

| metric | labels | unit / meaning |
|---|---|---|
| `cpu_utilisation_ratio` | - | 1 - (idle+iowait)/total over the cpu_times delta, all CPUs |
| `cpu_seconds_total` | mode | seconds, summed over CPUs, one per `cpu_times()` field |
| `cpu_count` | - | logical CPUs |
| `memory_total_bytes`, `memory_available_bytes`; `swap_total_bytes`, `swap_used_bytes` | - | bytes |
| `memory_utilisation_ratio`; `swap_utilisation_ratio` | - | (total-available)/total; used/total, 0 if none |
| `filesystem_size_bytes`, `filesystem_free_bytes` | mountpoint, device, fstype | bytes; free = for non-root |
| `filesystem_utilisation_ratio` | mountpoint, device, fstype | used/(used+free) |
| `disk_read_bytes_total`, `disk_written_bytes_total` | device | bytes |
| `disk_reads_completed_total`, `disk_writes_completed_total` | device | operations |
| `disk_io_time_seconds_total` | device | seconds busy (where psutil has busy_time) |
| `interface_in_octets_total`, `interface_out_octets_total` | ifname, ifindex | octets |
| `interface_in_errors_total`, `interface_out_errors_total` | ifname, ifindex | packets |
| `interface_in_discards_total`, `interface_out_discards_total` | ifname, ifindex | packets |
| `interface_oper_up` | ifname, ifindex | 1 up, 0 down |
| `interface_speed_bits_per_second` | ifname, ifindex | only when psutil reports a speed |
| `interface_in_bits_per_second`, `interface_out_bits_per_second` | ifname, ifindex | rate |
| `interface_errors_per_second` | ifname, ifindex, direction | rate, direction in/out |
| `interface_discards_per_second` | ifname, ifindex, direction | rate, direction in/out |
| `interface_utilisation_ratio` | ifname, ifindex, direction | bits/s / speed, when speed known |
| `system_load1`, `system_load5`, `system_load15` | - | load average |
| `device_uptime_seconds` | - | now - boot time |

`ifindex` is omitted when the interface has no index. `lo`, and disks named loop*, ram* or
zram*, are skipped. Interface rates start from the second collect; the CPU ratio is there from
the first, which reads `cpu_times` twice, `first_sample_delay` seconds apart.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from collectors.base import CollectError, CollectorDeps
from collectors.counters import CounterRates
from model import Clock, Labels, Sample, Target

__all__ = ["HostCollector", "PsutilLike", "create_host_collector", "default_if_index"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SKIPPED_INTERFACES = frozenset({"lo"})
SKIPPED_DISK_PREFIXES = ("loop", "ram", "zram")
_IDLE_MODES = ("idle", "iowait")
_GUEST_MODES = ("guest", "guest_nice")  # Linux already counts these in user and nice


class _CpuTimes(Protocol):
    def _asdict(self) -> dict[str, Any]: ...


class _VirtualMemory(Protocol):
    @property
    def total(self) -> float: ...
    @property
    def available(self) -> float: ...


class _SwapMemory(Protocol):
    @property
    def total(self) -> float: ...
    @property
    def used(self) -> float: ...


class _Partition(Protocol):
    @property
    def device(self) -> str: ...
    @property
    def mountpoint(self) -> str: ...
    @property
    def fstype(self) -> str: ...


class _DiskUsage(Protocol):
    @property
    def total(self) -> float: ...
    @property
    def used(self) -> float: ...
    @property
    def free(self) -> float: ...


class _DiskIO(Protocol):
    @property
    def read_count(self) -> float: ...
    @property
    def write_count(self) -> float: ...
    @property
    def read_bytes(self) -> float: ...
    @property
    def write_bytes(self) -> float: ...


class _NetIO(Protocol):
    @property
    def bytes_sent(self) -> float: ...
    @property
    def bytes_recv(self) -> float: ...
    @property
    def errin(self) -> float: ...
    @property
    def errout(self) -> float: ...
    @property
    def dropin(self) -> float: ...
    @property
    def dropout(self) -> float: ...


class _NicStats(Protocol):
    @property
    def isup(self) -> bool: ...
    @property
    def speed(self) -> float: ...


class PsutilLike(Protocol):
    """The part of the psutil module the host collector calls (the real module satisfies it)."""

    def cpu_times(self, percpu: Literal[False] = False) -> _CpuTimes: ...
    def cpu_count(self, logical: bool = True) -> int | None: ...
    def virtual_memory(self) -> _VirtualMemory: ...
    def swap_memory(self) -> _SwapMemory: ...
    def disk_partitions(self, all: bool = False) -> Sequence[_Partition]: ...
    def disk_usage(self, path: str) -> _DiskUsage: ...
    def disk_io_counters(self, perdisk: Literal[True]) -> Mapping[str, _DiskIO] | None: ...
    def net_io_counters(self, pernic: Literal[True]) -> Mapping[str, _NetIO]: ...
    def net_if_stats(self) -> Mapping[str, _NicStats]: ...
    def getloadavg(self) -> tuple[float, float, float]: ...
    def boot_time(self) -> float: ...


def default_if_index(name: str) -> int | None:
    """The interface's index from the OS (`socket.if_nametoindex`), None if it has none."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class _Filesystem:
    partition: _Partition
    usage: _DiskUsage


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything one collect reads from psutil, in one go."""

    cpu: dict[str, float]
    cpu_count: int | None
    memory: _VirtualMemory
    swap: _SwapMemory
    filesystems: list[_Filesystem]
    disks: Mapping[str, _DiskIO]
    nics: Mapping[str, _NetIO]
    nic_stats: Mapping[str, _NicStats]
    load: tuple[float, float, float]
    boot_time: float


@dataclass(slots=True)
class _TargetState:
    """What one target's collects carry over: the last CPU times and the interface counters."""

    cpu: dict[str, float] | None = None
    rates: CounterRates[tuple[str, str]] = field(default_factory=CounterRates)


def _call(function: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call one psutil function; any failure becomes a `CollectError` naming it, cause chained."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        raise CollectError(f"psutil {function} failed: {exc}", cause="error") from exc


class _Out:
    """Collects samples that share one timestamp."""

    def __init__(self, ts: float) -> None:
        self.ts = ts
        self.samples: list[Sample] = []

    def add(self, name: str, value: float, labels: Labels | None = None, **extra: str) -> None:
        base = labels if labels is not None else Labels()
        self.samples.append(Sample(name, base.merge(extra), float(value), self.ts))


class HostCollector:
    """Collects the local machine through an injected psutil (see the module doc for the metrics).

    State (last CPU times, interface counters) is kept per target key, so one instance may serve
    several host targets. Interface rates divide by the `clock.monotonic()` time between collects.
    Raises `CollectError(cause="error")` when a psutil call fails, except `disk_usage` raising
    `OSError`, which skips that mount.
    """

    def __init__(
        self,
        *,
        psutil: PsutilLike,
        clock: Clock,
        if_index: Callable[[str], int | None] = default_if_index,
        first_sample_delay: float = 0.25,
    ) -> None:
        self._psutil = psutil
        self._clock = clock
        self._if_index = if_index
        self.first_sample_delay = first_sample_delay
        """Seconds between the two `cpu_times` reads of a target's first collect."""
        self._states: dict[str, _TargetState] = {}

    async def collect(self, target: Target) -> list[Sample]:
        """The samples of the module table at `clock.now()`; raises `CollectError` (cause "error")."""
        state = self._states.setdefault(target.key, _TargetState())
        if state.cpu is None:
            state.cpu = await asyncio.to_thread(self._read_cpu)
            await asyncio.sleep(self.first_sample_delay)
        snap = await asyncio.to_thread(self._read)
        out = _Out(self._clock.now())
        monotonic = self._clock.monotonic()
        self._cpu(out, state.cpu, snap)
        state.cpu = snap.cpu
        self._memory(out, snap)
        self._filesystems(out, snap.filesystems)
        self._disks(out, snap.disks)
        self._interfaces(out, state.rates, snap, monotonic)
        for minutes, load in zip((1, 5, 15), snap.load, strict=True):
            out.add(f"system_load{minutes}", load)
        out.add("device_uptime_seconds", out.ts - snap.boot_time)
        return out.samples

    def _read_cpu(self) -> dict[str, float]:
        times = _call("cpu_times", self._psutil.cpu_times, percpu=False)
        return {mode: float(seconds) for mode, seconds in times._asdict().items()}

    def _read(self) -> _Snapshot:
        ps = self._psutil
        disks = _call("disk_io_counters", ps.disk_io_counters, perdisk=True)
        return _Snapshot(
            cpu=self._read_cpu(),
            cpu_count=_call("cpu_count", ps.cpu_count, logical=True),
            memory=_call("virtual_memory", ps.virtual_memory),
            swap=_call("swap_memory", ps.swap_memory),
            filesystems=list(self._read_filesystems()),
            disks=disks or {},  # psutil gives {} or None on machines without disks
            nics=_call("net_io_counters", ps.net_io_counters, pernic=True),
            nic_stats=_call("net_if_stats", ps.net_if_stats),
            load=_call("getloadavg", ps.getloadavg),
            boot_time=_call("boot_time", ps.boot_time),
        )

    def _read_filesystems(self) -> Iterator[_Filesystem]:
        seen: set[str] = set()
        for part in _call("disk_partitions", self._psutil.disk_partitions, all=False):
            if part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                usage = self._psutil.disk_usage(part.mountpoint)
            except OSError as exc:  # unreadable or vanished mount: skip it, not the whole collect
                log.debug("skipping mount %s: %s", part.mountpoint, exc)
                continue
            except Exception as exc:
                raise CollectError(f"psutil disk_usage failed: {exc}", cause="error") from exc
            yield _Filesystem(part, usage)

    @staticmethod
    def _cpu(out: _Out, previous: dict[str, float], snap: _Snapshot) -> None:
        ratio = _cpu_busy_ratio(previous, snap.cpu)
        if ratio is not None:
            out.add("cpu_utilisation_ratio", ratio)
        for mode, seconds in snap.cpu.items():
            out.add("cpu_seconds_total", seconds, mode=mode)
        if snap.cpu_count is not None:
            out.add("cpu_count", snap.cpu_count)

    @staticmethod
    def _memory(out: _Out, snap: _Snapshot) -> None:
        mem, swap = snap.memory, snap.swap
        out.add("memory_total_bytes", mem.total)
        out.add("memory_available_bytes", mem.available)
        out.add("memory_utilisation_ratio", (mem.total - mem.available) / mem.total if mem.total else 0.0)
        out.add("swap_total_bytes", swap.total)
        out.add("swap_used_bytes", swap.used)
        out.add("swap_utilisation_ratio", swap.used / swap.total if swap.total else 0.0)

    @staticmethod
    def _filesystems(out: _Out, filesystems: list[_Filesystem]) -> None:
        for fs in filesystems:
            part, usage = fs.partition, fs.usage
            labels = Labels(mountpoint=part.mountpoint, device=part.device, fstype=part.fstype)
            capacity = usage.used + usage.free
            out.add("filesystem_size_bytes", usage.total, labels)
            out.add("filesystem_free_bytes", usage.free, labels)
            out.add("filesystem_utilisation_ratio", usage.used / capacity if capacity else 0.0, labels)

    @staticmethod
    def _disks(out: _Out, disks: Mapping[str, _DiskIO]) -> None:
        for device, io in disks.items():
            if device.startswith(SKIPPED_DISK_PREFIXES):
                continue
            labels = Labels(device=device)
            out.add("disk_read_bytes_total", io.read_bytes, labels)
            out.add("disk_written_bytes_total", io.write_bytes, labels)
            out.add("disk_reads_completed_total", io.read_count, labels)
            out.add("disk_writes_completed_total", io.write_count, labels)
            busy_ms: float | None = getattr(io, "busy_time", None)
            if busy_ms is not None:
                out.add("disk_io_time_seconds_total", busy_ms / 1000, labels)

    def _interfaces(self, out: _Out, rates: CounterRates[tuple[str, str]], snap: _Snapshot, now: float) -> None:
        seen: list[tuple[str, str]] = []
        for ifname, io in snap.nics.items():
            if ifname in SKIPPED_INTERFACES:
                continue
            index = self._if_index(ifname)
            labels = Labels(ifname=ifname, ifindex="" if index is None else str(index))
            stats = snap.nic_stats.get(ifname)
            speed = stats.speed * 1_000_000 if stats is not None and stats.speed > 0 else None
            counters = _interface_counters(io)
            for counter, value in counters.items():
                out.add(f"interface_{counter}_total", value, labels)
            if stats is not None:
                out.add("interface_oper_up", 1 if stats.isup else 0, labels)
            if speed is not None:
                out.add("interface_speed_bits_per_second", speed, labels)
            per_second = {c: rates.rate((ifname, c), v, now) for c, v in counters.items()}
            _interface_rates(out, labels, per_second, speed)
            seen.extend((ifname, c) for c in counters)
        rates.retain(seen)


def _cpu_busy_ratio(previous: dict[str, float], current: dict[str, float]) -> float | None:
    """1 - idle share of the CPU time between two `cpu_times` readings; None if no time passed.

    Total time leaves out guest and guest_nice (Linux counts them in user and nice too), as psutil's
    own `cpu_percent` does. Clamped to 0..1 against counters that step back.
    """

    def split(times: dict[str, float]) -> tuple[float, float]:
        total = sum(v for mode, v in times.items() if mode not in _GUEST_MODES)
        return total, sum(times.get(mode, 0.0) for mode in _IDLE_MODES)

    (total0, idle0), (total1, idle1) = split(previous), split(current)
    elapsed = total1 - total0
    if elapsed <= 0:
        return None
    return min(1.0, max(0.0, 1 - (idle1 - idle0) / elapsed))


def _interface_counters(io: _NetIO) -> dict[str, float]:
    """Counter name (as in `interface_<name>_total`) -> value."""
    return {
        "in_octets": io.bytes_recv,
        "out_octets": io.bytes_sent,
        "in_errors": io.errin,
        "out_errors": io.errout,
        "in_discards": io.dropin,
        "out_discards": io.dropout,
    }


def _interface_rates(out: _Out, labels: Labels, per_second: dict[str, float | None], speed: float | None) -> None:
    """The rate metrics of one interface, for each counter that has a rate this time."""
    for direction in ("in", "out"):
        octets = per_second[f"{direction}_octets"]
        if octets is not None:
            bits = octets * 8
            out.add(f"interface_{direction}_bits_per_second", bits, labels)
            if speed is not None:
                out.add("interface_utilisation_ratio", bits / speed, labels, direction=direction)
    for kind in ("errors", "discards"):
        for direction in ("in", "out"):
            value = per_second[f"{direction}_{kind}"]
            if value is not None:
                out.add(f"interface_{kind}_per_second", value, labels, direction=direction)


def create_host_collector(deps: CollectorDeps) -> HostCollector:
    """The registry factory: a `HostCollector` over the real psutil (imported here, not at import)."""
    import psutil

    return HostCollector(psutil=psutil, clock=deps.clock)
