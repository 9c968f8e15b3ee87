"""Inventory types: sites, systems, devices, their collectors, and the targets built from them.

The config layer builds these from validated YAML; every other layer reads them. A *target* is one
collector kind on one device: `up{target="web-01", collector="host"}`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from model.relabel import RelabelRule
from model.samples import Labels
from model.secrets import Secret

__all__ = [
    "TARGET_LABELS",
    "CollectorSpec",
    "Device",
    "ExporterCollectorSpec",
    "ExporterTls",
    "HostCollectorSpec",
    "HttpProbeSpec",
    "Inventory",
    "Link",
    "LinkEnd",
    "LinkInterface",
    "PingProbeSpec",
    "ProbeSpec",
    "Site",
    "SnmpCollectorSpec",
    "System",
    "Target",
    "TcpProbeSpec",
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
    parents: tuple[str, ...] = ()
    """What the link is reached through: names of devices or links (the near-end router, say)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSpec(CollectorSpec):
    """What every reachability probe has. `timeout` (the run's, from CollectorSpec) is the safety net
    of the scheduler; `probe_timeout` (seconds, shorter) is when the probe itself gives up and
    reports `probe_success 0` with reason `timeout`."""

    probe_timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class PingProbeSpec(ProbeSpec):
    """ICMP echo to the device's address: `packets` echo requests, `packet_interval` seconds apart."""

    packets: int = 3
    packet_interval: float = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpProbeSpec(ProbeSpec):
    """TCP connect to the device's address on `port`; then optionally TLS, `send` (text written as
    is) and `expect` (a regex searched in what the peer sends, UTF-8 decoded, errors replaced)."""

    port: int
    send: str | None = None
    expect: str | None = None
    tls: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProbeSpec(ProbeSpec):
    """An HTTP(S) request to `url` (its host as written). `valid_status_codes` empty means 2xx.
    `body_regex` must be found in the body, `body_regex_not` must not; only the first
    `body_size_limit` bytes are read. `ca_file` is an absolute path (None: the system's CAs)."""

    url: str
    method: str = "GET"
    valid_status_codes: tuple[int, ...] = ()
    body_regex: str | None = None
    body_regex_not: str | None = None
    follow_redirects: bool = True
    max_redirects: int = 10
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    body_size_limit: int = 1_048_576


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ExporterTls:
    """TLS settings of an exporter scrape. Files are absolute paths (None: the system's CAs, no
    client certificate). `server_name` is the name sent (SNI) and checked in the certificate
    instead of the URL's host."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False
    server_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExporterCollectorSpec(CollectorSpec):
    """A Prometheus exporter scraped over HTTP(S) at `url`. `scrape_timeout` (seconds) bounds the
    whole request; bodies over `body_size_limit` bytes (after gzip) are refused. Credentials are resolved
    secrets: `bearer_token`, or `basic_auth_username` with `basic_auth_password`.
    `metric_relabel_configs` apply in order to the exporter's own labels (and `__name__`), before
    the target's labels are attached with `honor_labels` semantics."""

    url: str
    scrape_timeout: float
    """Seconds the scrape may take before it gives up (cause `timeout`); `timeout`, the run's, is
    the scheduler's safety net and a little longer."""
    honor_labels: bool = False
    honor_timestamps: bool = True
    body_size_limit: int = 10 * 1024 * 1024
    tls: ExporterTls = field(default_factory=ExporterTls)
    bearer_token: Secret | None = None
    basic_auth_username: str | None = None
    basic_auth_password: Secret | None = None
    metric_relabel_configs: tuple[RelabelRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Device:
    """A monitored device. `parents` names what it is reached through (devices or links): when none
    of them is reachable and up, the device is unreachable rather than down."""

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
