"""The scaled demo estate of the web benchmark (benchmarks/web.py): inventory, samples and alerts.

`scaled_inventory(base, copies)` replicates the demo inventory (config/demo.yaml as loaded): copy 0
keeps its names, copy k > 0 suffixes every site, device and link with `-x<k>` (parents and link
ends renamed with them, so each copy is a topology of its own); the four business systems are
shared. `batches(...)` gives the samples the pages query, one batch per scrape time: what the
collectors write for every device (`up` per collector, `target_unreachable`, `probe_*`), its
interfaces from demo/estate.py (`interface_oper_up`, `interface_{in,out}_bits_per_second`,
`interface_errors_per_second` per direction, `interface_utilisation_ratio`; `link` on link ends) and
host metrics where a host collector runs. `storm(...)` gives the 5,000 alerts of the mass-outage
scenario, `quiet(...)` those of a healthy estate (the dead device of each copy).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from alerts.model import Alert, AlertState
from demo.estate import DEAD_DEVICE, Estate
from model import Inventory, Labels, Link, LinkEnd, Sample, Site
from model.inventory import Device, HostCollectorSpec, ProbeSpec

__all__ = ["Interface", "batches", "interfaces", "quiet", "scaled_inventory", "series_count", "storm"]


def _rename(name: str, k: int) -> str:
    return name if k == 0 else f"{name}-x{k}"


def scaled_inventory(base: Inventory, copies: int) -> Inventory:
    """`copies` copies of `base`'s sites, devices and links (systems shared)."""
    sites, devices, links = [], [], []
    for k in range(copies):
        sites += [Site(_rename(s.id, k), s.name if k == 0 else f"{s.name} ({k})") for s in base.sites]
        devices += [
            dataclasses.replace(
                d, name=_rename(d.name, k), site=_rename(d.site, k), parents=tuple(_rename(p, k) for p in d.parents)
            )
            for d in base.devices
        ]
        links += [
            dataclasses.replace(
                link,
                name=_rename(link.name, k),
                a=LinkEnd(_rename(link.a.device, k), link.a.interface),
                b=LinkEnd(_rename(link.b.device, k), link.b.interface),
                group=None if link.group is None else _rename(link.group, k),
                parents=tuple(_rename(p, k) for p in link.parents),
            )
            for link in base.links
        ]
    return Inventory(sites=tuple(sites), systems=base.systems, devices=tuple(devices), links=tuple(links))


@dataclass(frozen=True, slots=True)
class Interface:
    device: Device
    labels: Labels
    """target, site, system, role, ifindex, ifname, ifalias and `link` on a link end."""
    in_bps: float
    out_bps: float
    capacity_bps: float


def _base_name(name: str) -> str:
    head, _, tail = name.rpartition("-x")
    return head if head and tail.isdigit() else name


def interfaces(inventory: Inventory, estate: Estate) -> list[Interface]:
    """Every interface of the scaled estate, rates and speeds from the demo estate's devices."""
    sim = {d.name: d for d in estate.devices}
    ends: dict[tuple[str, str], Link] = {(e.device, e.interface): k for k in inventory.links for e in k.ends}
    out = []
    for device in inventory.devices:
        base = sim.get(_base_name(device.name))
        for i in base.interfaces if base is not None else ():
            link = ends.get((device.name, i.name))
            labels = Labels(
                target=device.name,
                site=device.site,
                system=device.system,
                role=device.role,
                ifindex=str(i.index),
                ifname=i.name,
                ifalias=i.alias,
                link=link.name if link is not None else "",
            )
            capacity = float(link.bandwidth_bps) if link is not None and link.bandwidth_bps else i.speed_mbps * 1e6
            out.append(Interface(device, labels, i.in_rate * 8.0, i.out_rate * 8.0, capacity))
    return out


def _target(device: Device) -> Labels:
    return Labels(target=device.name, site=device.site, system=device.system, role=device.role)


def series_count(inventory: Inventory, ifaces: list[Interface]) -> int:
    """Series `batches` writes at each time."""
    per_device = sum(
        len(d.collectors) + 1 + 2 * sum(isinstance(c, ProbeSpec) for c in d.collectors) for d in inventory.devices
    )
    hosts = sum(3 for d in inventory.devices if any(isinstance(c, HostCollectorSpec) for c in d.collectors))
    return per_device + hosts + 6 * len(ifaces)


def batches(
    inventory: Inventory, ifaces: list[Interface], start: float, end: float, step: float
) -> Iterator[list[Sample]]:
    """One batch per `step` seconds from `start` to `end`: every series at that time, values that
    wave a little (so sparklines and graphs have something to draw)."""
    dead = {d.name for d in inventory.devices if _base_name(d.name) == DEAD_DEVICE}
    for n in itertools.count():
        t = start + n * step
        if t > end:
            return
        wave = 1.0 + 0.2 * math.sin(t / 600.0)
        out: list[Sample] = []
        for d in inventory.devices:
            labels = _target(d)
            for c in d.collectors:
                failed = d.name in dead and not isinstance(c, ProbeSpec)
                out.append(Sample("up", labels.merge({"collector": c.kind}), 0.0 if failed else 1.0, t))
                if isinstance(c, ProbeSpec):
                    probe = labels.merge({"collector": c.kind})
                    out.append(Sample("probe_success", probe, 1.0, t))
                    out.append(Sample("probe_duration_seconds", probe, 0.002 * wave, t))
            out.append(Sample("target_unreachable", labels, 0.0, t))
            if any(isinstance(c, HostCollectorSpec) for c in d.collectors):
                out.append(Sample("cpu_utilisation_ratio", labels, 0.3 * wave, t))
                out.append(Sample("memory_utilisation_ratio", labels, 0.55, t))
                out.append(Sample("filesystem_utilisation_ratio", labels.merge({"mountpoint": "/"}), 0.42, t))
        for i in ifaces:
            up = 0.0 if i.device.name in dead else 1.0
            in_bps, out_bps = i.in_bps * wave * up, i.out_bps * wave * up
            out.append(Sample("interface_oper_up", i.labels, up, t))
            out.append(Sample("interface_in_bits_per_second", i.labels, in_bps, t))
            out.append(Sample("interface_out_bits_per_second", i.labels, out_bps, t))
            for direction in ("in", "out"):
                out.append(Sample("interface_errors_per_second", i.labels.merge({"direction": direction}), 0.0, t))
            out.append(Sample("interface_utilisation_ratio", i.labels, max(in_bps, out_bps) / i.capacity_bps, t))
        yield out


def _alert(name: str, severity: str, scope: str, labels: Labels, now: float, age: float, summary: str) -> Alert:
    return Alert(
        labels=labels.merge({"alertname": name, "severity": severity, "scope": scope}),
        annotations=Labels(summary=summary, summary_ja=f"{name}: {summary}"),
        state=AlertState.FIRING,
        active_at=now - age - 120,
        value=1.0,
        fired_at=now - age,
        last_evaluated=now,
    )


def quiet(inventory: Inventory, now: float) -> list[Alert]:
    """A healthy estate: only each copy's dead device is down."""
    return [
        _alert("DeviceDown", "critical", "device", _target(d), now, 3600.0, f"Device {d.name} is down")
        for d in inventory.devices
        if _base_name(d.name) == DEAD_DEVICE
    ]


def storm(inventory: Inventory, ifaces: list[Interface], count: int, now: float) -> list[Alert]:
    """`count` firing alerts of a mass outage, taken in this order until there are enough: every
    WAN link down, every router down (so topology suppression cuts what is behind them), every
    other device unreachable, then per interface errors and high utilisation, per device probe
    failing, CPU and memory high. Ages spread over an hour."""

    def candidates() -> Iterator[Alert]:
        n = itertools.count()
        for link in inventory.links:
            labels = Labels(link=link.name)
            yield _alert(
                "WanLinkDown", "critical", "link", labels, now, next(n) % 3600, f"WAN link {link.name} is down"
            )
        for d in inventory.devices:
            name, severity = ("DeviceDown", "critical") if d.role == "router" else ("DeviceUnreachable", "warning")
            yield _alert(name, severity, "device", _target(d), now, next(n) % 3600, f"{name} {d.name}")
        for i in ifaces:
            yield _alert("InterfaceErrors", "warning", "resource", i.labels, now, next(n) % 3600, "errors")
            yield _alert("InterfaceUtilisationHigh", "warning", "resource", i.labels, now, next(n) % 3600, "busy")
        for alertname in ("ProbeFailing", "CpuHigh", "MemoryHigh"):
            for d in inventory.devices:
                severity = "critical" if alertname == "ProbeFailing" else "warning"
                yield _alert(alertname, severity, "service", _target(d), now, next(n) % 3600, f"{alertname} {d.name}")

    alerts = list(itertools.islice(candidates(), count))
    if len(alerts) < count:
        raise ValueError(f"the scaled estate gives only {len(alerts)} distinct alerts, not {count}")
    return alerts
