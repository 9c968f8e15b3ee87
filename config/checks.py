"""Cross-field rules: what the schema of one field cannot see. All of them are in `check_references`.

The checks look at the parts of a document that passed schema validation (`Validated`), so a file
with schema errors still gets its reference problems reported in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from config.durations import format_duration
from config.problems import Finding
from config.schema import ConfigDocument, DeviceSettings, LinkSettings, SiteSettings, SystemSettings

__all__ = ["Validated", "check_references"]


@dataclass(frozen=True, slots=True)
class Validated:
    """The parts of a document that passed schema validation.

    `sites` / `systems` are None when that section is invalid (checks against it are skipped).
    `devices` and `links` hold the valid devices and links with their index in the file.
    `unchecked_names` are the names of devices that failed validation: a parent or a link end may
    name them without being reported as unknown.
    """

    sites: tuple[SiteSettings, ...] | None
    systems: tuple[SystemSettings, ...] | None
    devices: tuple[tuple[int, DeviceSettings], ...]
    unchecked_names: frozenset[str] = frozenset()
    links: tuple[tuple[int, LinkSettings], ...] = ()

    @classmethod
    def of(cls, document: ConfigDocument) -> Validated:
        """All of a valid document."""
        return cls(
            document.sites, document.systems, tuple(enumerate(document.devices)), links=tuple(enumerate(document.links))
        )


def check_references(parts: Validated) -> list[Finding]:
    """Every cross-field problem: duplicate site, system and device ids; devices naming an undefined
    site, system or parent; parent cycles; collector timeouts not shorter than their interval;
    SNMP credentials that do not fit the SNMP version; duplicate link names; link ends on undefined
    devices, on devices whose interfaces are not read over SNMP, or on an interface another link
    end already uses."""
    return [
        *_duplicates("sites", "id", list(enumerate(site.id for site in parts.sites or ()))),
        *_duplicates("systems", "id", list(enumerate(system.id for system in parts.systems or ()))),
        *_duplicates("devices", "name", [(index, device.name) for index, device in parts.devices]),
        *_undefined(parts, "site", parts.sites),
        *_undefined(parts, "system", parts.systems),
        *_unknown_parents(parts),
        *_cycles(parts.devices),
        *_timeouts(parts.devices),
        *_snmp_credentials(parts.devices),
        *_duplicates("links", "name", [(index, link.name) for index, link in parts.links]),
        *_link_devices(parts),
        *_link_interfaces(parts.links),
    ]


def _duplicates(section: str, field: str, entries: Sequence[tuple[int, str]]) -> Iterator[Finding]:
    """`sites[1].id: "x" is already used by sites[0]`, from (index in the file, id) pairs."""
    first: dict[str, int] = {}
    for index, value in entries:
        if value in first:
            yield Finding((section, index, field), f'"{value}" is already used by {section}[{first[value]}]')
        else:
            first[value] = index


def _undefined(
    parts: Validated, field: str, defined: tuple[SiteSettings, ...] | tuple[SystemSettings, ...] | None
) -> Iterator[Finding]:
    """Devices whose `site` / `system` is not an id of that section."""
    if defined is None:
        return
    known = [entry.id for entry in defined]
    listing = f"known: {', '.join(known)}" if known else f"no {field}s are defined"
    for index, device in parts.devices:
        value = getattr(device, field)
        if value not in known:
            yield Finding(("devices", index, field), f'"{value}" is not a defined {field} ({listing})')


def _unknown_parents(parts: Validated) -> Iterator[Finding]:
    names = {device.name for _, device in parts.devices} | parts.unchecked_names
    for index, device in parts.devices:
        for position, parent in enumerate(device.parents):
            if parent not in names:
                yield Finding(("devices", index, "parents", position), f'"{parent}" is not a defined device')


def _cycles(devices: Sequence[tuple[int, DeviceSettings]]) -> Iterator[Finding]:
    """One finding per parent cycle found, at the cycle's device that comes first in the file, the
    cycle written from that device through its parents: `cycle web-01 -> sw-01 -> web-01`."""
    index_of: dict[str, int] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for index, device in devices:
        index_of.setdefault(device.name, index)
        parents.setdefault(device.name, device.parents)
    reported: set[frozenset[str]] = set()
    for cycle in _find_cycles(parents):
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        start = min(range(len(cycle)), key=lambda i: index_of[cycle[i]])
        path = [*cycle[start:], *cycle[:start], cycle[start]]
        yield Finding(("devices", index_of[path[0]], "parents"), f"cycle {' -> '.join(path)}")


def _find_cycles(parents: dict[str, tuple[str, ...]]) -> Iterator[list[str]]:
    """Cycles closed by back edges of a depth-first walk (iterative: chains may be thousands long).
    Each yielded list is the cycle's devices in child -> parent order, without repeating the first."""
    done: set[str] = set()
    for root, root_parents in parents.items():
        if root in done:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(root_parents))]
        on_path = {root: 0}
        while stack:
            name, pending = stack[-1]
            parent = next(pending, None)
            if parent is None:
                stack.pop()
                del on_path[name]
                done.add(name)
            elif parent in on_path:
                yield [entry for entry, _ in stack[on_path[parent] :]]
            elif parent in parents and parent not in done:
                on_path[parent] = len(stack)
                stack.append((parent, iter(parents[parent])))


def _timeouts(devices: Sequence[tuple[int, DeviceSettings]]) -> Iterator[Finding]:
    for index, device in devices:
        for kind, collector in device.collectors.entries():
            if collector.timeout >= collector.interval:
                yield Finding(
                    ("devices", index, "collectors", kind, "timeout"),
                    f"{format_duration(collector.timeout)} must be less than the interval "
                    f"{format_duration(collector.interval)}",
                )


def _snmp_credentials(devices: Sequence[tuple[int, DeviceSettings]]) -> Iterator[Finding]:
    """v1/v2c need a community and take no user; v3 needs a user; privacy needs authentication."""
    for index, device in devices:
        snmp = device.collectors.snmp
        if snmp is None:
            continue
        path = ("devices", index, "collectors", "snmp")
        if snmp.version in ("1", "2c"):
            if snmp.community is None:
                yield Finding((*path, "community"), f"is required for SNMP version {snmp.version}")
            for field in ("user", "auth", "priv"):
                if getattr(snmp, field) is not None:
                    yield Finding((*path, field), f"is for SNMP version 3 (this device uses {snmp.version})")
        else:
            if snmp.user is None:
                yield Finding((*path, "user"), "is required for SNMP version 3")
            if snmp.community is not None:
                yield Finding((*path, "community"), "is for SNMP versions 1 and 2c (this device uses 3)")
            if snmp.priv is not None and snmp.auth is None:
                yield Finding((*path, "priv"), "needs auth: SNMPv3 has no privacy without authentication")


def _link_devices(parts: Validated) -> Iterator[Finding]:
    """Link ends must be on a defined device that reads its interfaces over SNMP (`if_mib`)."""
    devices: dict[str, DeviceSettings] = {}
    for _, defined in parts.devices:
        devices.setdefault(defined.name, defined)
    for index, link in parts.links:
        for side, end in (("a", link.a), ("b", link.b)):
            loc = ("links", index, side, "device")
            device = devices.get(end.device)
            if device is None:
                if end.device not in parts.unchecked_names:
                    yield Finding(loc, f'"{end.device}" is not a defined device')
            elif device.collectors.snmp is None:
                yield Finding(loc, f'"{end.device}" has no snmp collector, so the link\'s interface cannot be read')
            elif "if_mib" not in device.collectors.snmp.modules:
                yield Finding(
                    loc, f'"{end.device}" does not poll the if_mib snmp module, so the link\'s interface cannot be read'
                )


def _link_interfaces(links: Sequence[tuple[int, LinkSettings]]) -> Iterator[Finding]:
    """A device interface belongs to one link end only. Interfaces are compared as written: an
    ifName and the same interface's ifIndex cannot be told apart without asking the device."""
    first: dict[tuple[str, str], str] = {}
    for index, link in links:
        for side, end in (("a", link.a), ("b", link.b)):
            where = f"links[{index}].{side}"
            used = first.setdefault((end.device, end.interface), where)
            if used != where:
                yield Finding(
                    ("links", index, side, "interface"),
                    f'"{end.interface}" of {end.device} is already used by {used}',
                )
