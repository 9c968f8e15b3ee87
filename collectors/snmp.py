"""The SNMP collector: one device's system group and IF-MIB interfaces per cycle.

For targets whose spec is a `SnmpCollectorSpec` (host = the device's address). Every SNMP target
of a process shares one `SnmpClient` (`CollectorDeps.snmp`), so concurrency is bounded once.

Each cycle:
1. one GET of sysUpTime (always: it dates the counters and shows reboots), plus sysName and
   sysDescr with the `system` module;
2. with `if_mib`, one walk of the dynamic columns together (status, counters: each GETBULK carries
   one varbind per column), leaving out the 32-bit counters while every interface has its ifHC*
   twin; and, on the first cycle, every `static_refresh_cycles` cycles, after a reboot (sysUpTime
   went backwards) or when an unknown ifIndex shows up, the static columns too (names, speeds,
   aliases), cached per target.

Configured link ends (`SnmpCollectorSpec.links`: ifName or decimal ifIndex) are matched to
ifIndexes against the cached static columns each cycle; their interfaces' samples carry `link`
and their utilisation uses the link's configured bandwidth (when set).

Samples are those of `system_samples` and `interface_samples` (collectors/snmp_modules.py), all
stamped with `clock.now()` taken when the counters have been read; rates divide by the
`clock.monotonic()` time between two cycles' readings, so the first cycle has none.

Errors: an `SnmpError` (a `CollectError` with cause timeout, auth, unknown_user, ...) propagates
as is, and the scheduler records `up=0` with its cause. A spec the collector cannot use (no
community, an unknown protocol, a module that does not exist yet) raises `CollectError(cause="config")`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast, get_args

from collectors.base import CollectError, CollectorDeps, SnmpClientProvider
from collectors.counters import CounterRates
from collectors.snmp_client import (
    AuthProtocol,
    Community,
    PrivProtocol,
    SnmpAuth,
    SnmpClient,
    SnmpError,
    SnmpValue,
    UsmUser,
)
from collectors.snmp_host_modules import (
    HR_PROCESSOR,
    HR_STORAGE,
    UCD_LOAD,
    UCD_MEMORY,
    host_resources_samples,
    ucd_samples,
)
from collectors.snmp_modules import (
    IF_COUNTER32_TWINS,
    IF_DYNAMIC,
    IF_STATIC,
    SYS_DESCR,
    SYS_NAME,
    SYS_UPTIME,
    Interface,
    InterfaceCounters,
    counters_from_columns,
    hc_complete,
    interface_samples,
    interfaces_from_columns,
    system_samples,
)
from model import Clock, LinkInterface, Sample, SnmpCollectorSpec, Target

__all__ = ["SUPPORTED_MODULES", "SnmpCollector", "create_snmp_collector", "snmp_auth"]

SUPPORTED_MODULES = frozenset({"system", "if_mib", "host_resources", "ucd"})

_RATE_COUNTERS = tuple(
    f"{direction}_{counter}" for direction in ("in", "out") for counter in ("octets", "ucast", "errors", "discards")
)
"""The counter names `interface_samples` keys its rates by (with the ifIndex)."""

_IF_DYNAMIC_HC = {name: oid for name, oid in IF_DYNAMIC.items() if name not in IF_COUNTER32_TWINS}
"""The dynamic columns of a device whose every interface has ifHC* counters."""


def snmp_auth(spec: SnmpCollectorSpec) -> SnmpAuth:
    """The client credentials of a spec. Raises CollectError(cause="config") when they are unusable."""
    if spec.version in ("1", "2c"):
        if spec.community is None:
            raise CollectError(f"SNMP v{spec.version} needs a community", cause="config")
        return Community("1" if spec.version == "1" else "2c", spec.community.reveal())
    if spec.version != "3":
        raise CollectError(f"unknown SNMP version {spec.version!r} (1, 2c or 3)", cause="config")
    if spec.auth_protocol not in get_args(AuthProtocol):
        raise CollectError(f"unknown SNMP auth protocol {spec.auth_protocol!r}", cause="config")
    if spec.priv_protocol not in get_args(PrivProtocol):
        raise CollectError(f"unknown SNMP privacy protocol {spec.priv_protocol!r}", cause="config")
    try:
        return UsmUser(
            spec.user,
            cast(AuthProtocol, spec.auth_protocol),
            None if spec.auth_key is None else spec.auth_key.reveal(),
            cast(PrivProtocol, spec.priv_protocol),
            None if spec.priv_key is None else spec.priv_key.reveal(),
        )
    except ValueError as error:
        raise CollectError(str(error), cause="config") from error


@dataclass(slots=True)
class _TargetState:
    """What one target's cycles carry over."""

    cycles: int = 0
    uptime_ticks: int | None = None
    interfaces: dict[int, Interface] | None = None
    """The cached static columns; None until read (or after a reboot)."""
    indexes: frozenset[int] = frozenset()
    hc_complete: bool = False
    """Every interface had every ifHC* counter when the 32-bit twins were last read: skip them."""
    rates: CounterRates[tuple[int, str]] = field(default_factory=CounterRates)


@dataclass(frozen=True, slots=True)
class _Device:
    """One cycle's view of the device: where it is and how to ask it."""

    client: SnmpClient
    host: str
    spec: SnmpCollectorSpec
    auth: SnmpAuth

    async def get(self, oids: list[str]) -> dict[str, SnmpValue]:
        spec = self.spec
        return await self.client.get(
            self.host,
            spec.port,
            self.auth,
            oids,
            timeout=spec.request_timeout,
            retries=spec.retries,
            allow_missing=True,
        )

    async def columns(self, wanted: Mapping[str, str]) -> dict[str, dict[int, SnmpValue]]:
        """Walk every column of `wanted` (name -> column OID) together -> {name: {ifIndex: value}}.
        Absent columns give {}."""
        spec = self.spec
        walked = await self.client.walk_columns(
            self.host,
            spec.port,
            self.auth,
            list(wanted.values()),
            timeout=spec.request_timeout,
            retries=spec.retries,
            max_repetitions=spec.max_repetitions,
        )
        return {name: _by_index(self.host, column, walked[column]) for name, column in wanted.items()}


def _by_index(host: str, column: str, rows: list[tuple[str, SnmpValue]]) -> dict[int, SnmpValue]:
    """Walked rows of one ifTable/ifXTable column -> {ifIndex: value}. Raises SnmpError("malformed")
    for an instance that is not a single ifIndex."""
    out: dict[int, SnmpValue] = {}
    for oid, value in rows:
        suffix = oid[len(column) + 1 :]
        if not suffix.isdigit():
            raise SnmpError(f"SNMP {host}: {oid} is not an ifIndex instance of {column}", cause="malformed")
        out[int(suffix)] = value
    return out


def _link_indexes(
    link_ends: tuple[LinkInterface, ...], interfaces: Mapping[int, Interface]
) -> tuple[dict[int, str], dict[int, int]]:
    """This device's link ends by ifIndex: ({ifIndex: link name}, {ifIndex: configured bandwidth}).
    An end's interface is an ifIndex when it is a decimal string, else an interface name (ifName,
    or ifDescr where the device has no ifName; the lowest ifIndex of that name). Ends whose
    interface the device does not have are left out."""
    if not link_ends:
        return {}, {}
    by_name: dict[str, int] = {}
    for index in sorted(interfaces):
        by_name.setdefault(interfaces[index].name, index)
    links: dict[int, str] = {}
    bandwidth: dict[int, int] = {}
    for interface, link, bandwidth_bps in link_ends:
        found = int(interface) if interface.isascii() and interface.isdigit() else by_name.get(interface)
        if found is None:
            continue
        links[found] = link
        if bandwidth_bps is not None:
            bandwidth[found] = bandwidth_bps
    return links, bandwidth


class SnmpCollector:
    """Collects SNMP targets through the shared client (see the module doc for the cycle).

    State (cycle count, last sysUpTime, cached interfaces, counter rates) is kept per target key,
    so one instance may serve several targets.
    """

    def __init__(self, *, clients: SnmpClientProvider, clock: Clock) -> None:
        self._clients = clients
        self._clock = clock
        self._states: dict[str, _TargetState] = {}

    async def collect(self, target: Target) -> list[Sample]:
        """One cycle's samples. Raises SnmpError (from the agent) or CollectError(cause="config")."""
        spec = target.spec
        if not isinstance(spec, SnmpCollectorSpec):
            raise CollectError(f"{target.key}: not an SNMP collector spec ({type(spec).__name__})", cause="config")
        unknown = sorted(set(spec.modules) - SUPPORTED_MODULES)
        if unknown:
            raise CollectError(f"SNMP modules not supported yet: {', '.join(unknown)}", cause="config")
        device = _Device(self._clients.client(), target.device.address, spec, snmp_auth(spec))
        state = self._states.setdefault(target.key, _TargetState())

        system_oids = [SYS_UPTIME, SYS_NAME, SYS_DESCR] if "system" in spec.modules else [SYS_UPTIME]
        system = await device.get(system_oids)
        uptime = system.get(SYS_UPTIME)
        ticks = uptime if isinstance(uptime, int) else None
        if ticks is not None and state.uptime_ticks is not None and ticks < state.uptime_ticks:
            state.interfaces = None  # rebooted: ifIndexes and speeds may have changed
        state.uptime_ticks = ticks

        counters = await self._read_interfaces(device, state) if "if_mib" in spec.modules else None
        elapsed_clock, ts = self._clock.monotonic(), self._clock.now()  # when the counters were read
        samples = system_samples(system, ts) if "system" in spec.modules else []
        samples.extend(await _host_samples(device, spec.modules, ts))
        if counters is not None:
            interfaces = state.interfaces or {}
            links, bandwidth = _link_indexes(spec.links, interfaces)
            samples.extend(
                interface_samples(
                    interfaces,
                    counters,
                    state.rates,
                    ts=ts,
                    elapsed_clock=elapsed_clock,
                    uptime=None if ticks is None else ticks / 100,
                    bandwidth_bps=bandwidth,
                    links=links,
                )
            )
        return samples

    @staticmethod
    async def _read_interfaces(device: _Device, state: _TargetState) -> dict[int, InterfaceCounters]:
        """This cycle's counters; refreshes the cached statics in `state` when they are due."""
        refresh_every = max(1, device.spec.static_refresh_cycles)
        refresh = state.interfaces is None or state.cycles % refresh_every == 0
        read_twins = refresh or not state.hc_complete
        dynamic = IF_DYNAMIC if read_twins else _IF_DYNAMIC_HC
        columns = await device.columns({**dynamic, **IF_STATIC} if refresh else dynamic)
        state.cycles += 1
        counters = counters_from_columns(columns)
        if read_twins:
            state.hc_complete = hc_complete({name: columns[name] for name in IF_DYNAMIC})
        if refresh:
            state.interfaces = interfaces_from_columns({name: columns[name] for name in IF_STATIC})
        elif state.interfaces is None or not counters.keys() <= state.interfaces.keys():
            # An interface appeared since the last static read: read the statics again now, and
            # its 32-bit twins next cycle in case it has no ifHC* counters.
            state.interfaces = interfaces_from_columns(await device.columns(IF_STATIC))
            state.hc_complete = False
        vanished = state.indexes - counters.keys()
        state.rates.forget((index, counter) for index in vanished for counter in _RATE_COUNTERS)
        state.indexes = frozenset(counters)
        return counters


async def _host_samples(device: _Device, modules: tuple[str, ...], ts: float) -> list[Sample]:
    """HOST-RESOURCES (processors, storage) and UCD-SNMP (load, memory) samples for the enabled
    modules. With both, memory comes from UCD (net-snmp's hrStorage counts cache as used)."""
    out: list[Sample] = []
    if "host_resources" in modules:
        columns = await device.columns({**HR_PROCESSOR, **HR_STORAGE})
        hr = host_resources_samples({k: columns[k] for k in HR_PROCESSOR}, {k: columns[k] for k in HR_STORAGE}, ts)
        if "ucd" in modules:
            hr = [sample for sample in hr if not sample.name.startswith("memory_")]
        out.extend(hr)
    if "ucd" in modules:
        out.extend(ucd_samples(await device.get([*UCD_LOAD.values(), *UCD_MEMORY.values()]), ts))
    return out


def create_snmp_collector(deps: CollectorDeps) -> SnmpCollector:
    """The registry factory: an `SnmpCollector` over the shared client provider of `deps`."""
    return SnmpCollector(clients=deps.snmp, clock=deps.clock)
