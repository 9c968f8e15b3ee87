"""Shared vocabulary: labels, samples, inventory, status enums, clocks. Imports nothing of ours."""

from model.clock import Clock, FakeClock, SystemClock
from model.inventory import (
    TARGET_LABELS,
    CollectorSpec,
    Device,
    HostCollectorSpec,
    Inventory,
    Link,
    LinkEnd,
    LinkInterface,
    Site,
    SnmpCollectorSpec,
    System,
    Target,
)
from model.samples import Labels, Sample
from model.secrets import Secret
from model.status import TargetState

__all__ = [
    "TARGET_LABELS",
    "Clock",
    "CollectorSpec",
    "Device",
    "FakeClock",
    "HostCollectorSpec",
    "Inventory",
    "Labels",
    "Link",
    "LinkEnd",
    "LinkInterface",
    "Sample",
    "Secret",
    "Site",
    "SnmpCollectorSpec",
    "System",
    "SystemClock",
    "Target",
    "TargetState",
]
