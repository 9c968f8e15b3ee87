"""Inventory types: sites, systems, devices, their collectors, and the targets built from them.

The config layer builds these from validated YAML; every other layer reads them. A *target* is one
collector kind on one device: `up{target="web-01", collector="host"}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from model.samples import Labels

__all__ = [
    "TARGET_LABELS",
    "CollectorSpec",
    "Device",
    "HostCollectorSpec",
    "Inventory",
    "Site",
    "System",
    "Target",
]

TARGET_LABELS = ("target", "site", "system", "role")
"""Labels every sample of a target carries (plus the device's own labels)."""


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class System:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CollectorSpec:
    """What every collector kind has: its kind name, run interval and per-run timeout (seconds)."""

    kind: str
    interval: float
    timeout: float


@dataclass(frozen=True, slots=True)
class HostCollectorSpec(CollectorSpec):
    """The host collector (psutil) has no settings beyond interval and timeout."""


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    site: str
    system: str
    role: str
    address: str
    parents: tuple[str, ...] = ()
    labels: Labels = field(default_factory=Labels)
    collectors: tuple[CollectorSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """One collector on one device."""

    device: Device
    spec: CollectorSpec

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def key(self) -> str:
        """Unique per target: `device/collector`."""
        return f"{self.device.name}/{self.spec.kind}"

    @property
    def labels(self) -> Labels:
        """Labels added to every sample of this target: the device's labels, then identity labels."""
        d = self.device
        return d.labels.merge({"target": d.name, "site": d.site, "system": d.system, "role": d.role})


@dataclass(frozen=True, slots=True)
class Inventory:
    sites: tuple[Site, ...] = ()
    systems: tuple[System, ...] = ()
    devices: tuple[Device, ...] = ()

    def targets(self) -> Iterator[Target]:
        """Every (device, collector) pair, in config order."""
        for device in self.devices:
            for spec in device.collectors:
                yield Target(device=device, spec=spec)
