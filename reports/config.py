"""The `availability:` config section: per business system its SLA target, service hours and
service tree (reports/service.py), as strict pydantic models.

    availability:
      timezone: Asia/Tokyo            # report periods (months, quarters, fiscal years) in this zone
      systems:
        - system: records             # an id of `systems:`
          target: 99.5                # SLA: availability % within service hours
          service_hours:              # reports/calendars.py; omitted: 24x7
            windows:
              - {days: [weekdays], start: "08:30", end: "21:00"}
              - {days: [everyday], start: "22:00", end: "02:00", on_holidays: true}   # night batch
          tree:
            all:
              - device: srv-records-01
              - k_of_n: {k: 1, of: [{link: east-west-1}, {link: east-west-2}]}

`AvailabilityConfig.problems(inventory)` lists what needs the inventory (config.checks reports it
with paths): systems, devices, links and probes the section names but the config does not define,
a system listed twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from alerts.maintenance import iana_zone
from reports.calendars import ServiceHours
from reports.service import AllNode, AnyNode, DeviceLeaf, KOfNNode, LinkLeaf, ProbeLeaf, TreeConfig

__all__ = ["AvailabilityConfig", "SystemSla"]

Loc = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemSla(_Strict):
    system: str = Field(min_length=1)
    target: float = Field(gt=0, le=100)
    """The SLA: availability in % within service hours (99.5 means at most 0.5 % down)."""
    service_hours: ServiceHours = Field(default_factory=ServiceHours)
    tree: TreeConfig


class AvailabilityConfig(_Strict):
    timezone: Annotated[str, AfterValidator(iana_zone)] = "Asia/Tokyo"
    systems: tuple[SystemSla, ...] = ()

    def sla(self, system: str) -> SystemSla:
        """The SLA of `system`; KeyError when it has none."""
        for sla in self.systems:
            if sla.system == system:
                return sla
        raise KeyError(system)

    def problems(
        self, systems: Collection[str] | None, devices: Collection[str] | None, links: Collection[str]
    ) -> list[tuple[Loc, str]]:
        """What names systems (when `systems` is known), devices (when `devices` is) or links the
        config does not define, and systems listed twice."""
        out: list[tuple[Loc, str]] = []
        seen: set[str] = set()
        for i, sla in enumerate(self.systems):
            here: Loc = ("systems", i)
            if systems is not None and sla.system not in systems:
                out.append(((*here, "system"), f"unknown system {sla.system!r} (not in systems:)"))
            if sla.system in seen:
                out.append(((*here, "system"), f"system {sla.system!r} is listed twice"))
            seen.add(sla.system)
            for loc, node in _walk(sla.tree, (*here, "tree")):
                if isinstance(node, DeviceLeaf) and devices is not None and node.device not in devices:
                    out.append(((*loc, "device"), f"unknown device {node.device!r}"))
                elif isinstance(node, LinkLeaf) and node.link not in links:
                    out.append(((*loc, "link"), f"unknown link {node.link!r}"))
                elif isinstance(node, ProbeLeaf) and devices is not None and node.probe.device not in devices:
                    out.append(((*loc, "probe", "device"), f"unknown device {node.probe.device!r}"))
        return out


def _walk(node: TreeConfig, loc: Loc) -> Iterator[tuple[Loc, TreeConfig]]:
    yield loc, node
    if isinstance(node, AllNode):
        for i, child in enumerate(node.all):
            yield from _walk(child, (*loc, "all", i))
    elif isinstance(node, AnyNode):
        for i, child in enumerate(node.any):
            yield from _walk(child, (*loc, "any", i))
    elif isinstance(node, KOfNNode):
        for i, child in enumerate(node.k_of_n.of):
            yield from _walk(child, (*loc, "k_of_n", "of", i))
