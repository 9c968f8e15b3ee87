"""Inventory types: sites, systems, devices, their collectors, and the targets built from them.

The config layer builds these from validated YAML; every other layer reads them. A *target* is one
collector kind on one device: `up{target="web-01", collector="host"}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from model.samples import Labels
from model.secrets import Secret

__all__ = [
    "TARGET_LABELS",
    "CollectorSpec",
    "Device",
    "HostCollectorSpec",
    "Inventory",
    "Link",
    "LinkEnd",
    "LinkInterface",
    "Site",
    "SnmpCollectorSpec",
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
class LinkEnd:
    """One end of a link: a device's interface, named by its ifName (`Gi0/1`) or by its ifIndex
    written as a decimal string (`"3"`). A decimal string always means the ifIndex."""

    device: str
    interface: str


@dataclass(frozen=True, slots=True)
class Link:
    """A configured (WAN) link between two device interfaces. `bandwidth_bps` (bit/s), when set, is
    what `interface_utilisation_ratio` of both ends is measured against instead of the reported
    speed; `group` names a redundancy group (links that back each other up)."""

    name: str
    a: LinkEnd
    b: LinkEnd
    bandwidth_bps: int | None = None
    group: str | None = None

    @property
    def ends(self) -> tuple[LinkEnd, LinkEnd]:
        return (self.a, self.b)


LinkInterface = tuple[str, str, int | None]
"""What an SNMP collector knows of one link end on its device: (interface, link name, bandwidth
in bit/s or None). `interface` is as in `LinkEnd`."""


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
class SnmpCollectorSpec(CollectorSpec):
    """SNMP polling of one device. `timeout` (the run's, from CollectorSpec) bounds a whole cycle;
    `request_timeout` and `retries` apply to each request. Credentials are resolved secrets:
    `community` for versions 1 and 2c; `user` with optional auth and priv for version 3.
    Protocol names are those of collectors/snmp_client.py (auth: md5, sha, sha224, sha256, sha384,
    sha512; priv: des, aes128, aes192, aes256, aes192-blumenthal, aes256-blumenthal)."""

    port: int = 161
    version: str = "2c"
    community: Secret | None = None
    user: str = ""
    auth_protocol: str = "none"
    auth_key: Secret | None = None
    priv_protocol: str = "none"
    priv_key: Secret | None = None
    modules: tuple[str, ...] = ("system", "if_mib")
    request_timeout: float = 1.0
    retries: int = 1
    static_refresh_cycles: int = 10
    max_repetitions: int = 25
    links: tuple[LinkInterface, ...] = ()
    """This device's link ends (filled by the config loader from `Inventory.links`)."""


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
    links: tuple[Link, ...] = ()

    def link_ends(self, device_name: str) -> tuple[tuple[str, Link], ...]:
        """(interface, link) for every link end on `device_name`, in link order (a before b)."""
        return tuple((end.interface, link) for link in self.links for end in link.ends if end.device == device_name)

    def targets(self) -> Iterator[Target]:
        """Every (device, collector) pair, in config order."""
        for device in self.devices:
            for spec in device.collectors:
                yield Target(device=device, spec=spec)
