"""Shared vocabulary: labels, samples, inventory, status enums, clocks. Imports nothing of ours."""

from model.clock import Clock, FakeClock, SystemClock
from model.inventory import (
    TARGET_LABELS,
    CollectorSpec,
    Device,
    ExporterCollectorSpec,
    ExporterTls,
    HostCollectorSpec,
    HttpProbeSpec,
    Inventory,
    Link,
    LinkEnd,
    LinkInterface,
    PingProbeSpec,
    ProbeSpec,
    Site,
    SnmpCollectorSpec,
    System,
    Target,
    TcpProbeSpec,
)
from model.relabel import DEFAULT_RELABEL_REGEX, RelabelAction, RelabelRule
from model.samples import Labels, Sample
from model.secrets import Secret
from model.status import TargetState

__all__ = [
    "DEFAULT_RELABEL_REGEX",
    "TARGET_LABELS",
    "Clock",
    "CollectorSpec",
    "Device",
    "ExporterCollectorSpec",
    "ExporterTls",
    "FakeClock",
    "HostCollectorSpec",
    "HttpProbeSpec",
    "Inventory",
    "Labels",
    "Link",
    "LinkEnd",
    "LinkInterface",
    "PingProbeSpec",
    "ProbeSpec",
    "RelabelAction",
    "RelabelRule",
    "Sample",
    "Secret",
    "Site",
    "SnmpCollectorSpec",
    "System",
    "SystemClock",
    "Target",
    "TargetState",
    "TcpProbeSpec",
]
