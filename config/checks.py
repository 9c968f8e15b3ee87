"""Cross-field rules: what the schema of one field cannot see. All of them are in `check_references`.

The checks look at the parts of a document that passed schema validation (`Validated`), so a file
with schema errors still gets its reference problems reported in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config.durations import format_duration
from config.problems import Finding
from config.schema import ConfigDocument, DeviceSettings, LinkSettings, SiteSettings, SystemSettings

if TYPE_CHECKING:  # alerts/ imports config leaf modules: only the type here (see config.schema._alerting)
    from alerts.alertconfig import AlertingConfig
    from reports.config import AvailabilityConfig

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
    alerting: AlertingConfig | None = None
    """The `alerting:` section, None when absent or invalid."""
    availability: AvailabilityConfig | None = None
    """The `availability:` section, None when absent or invalid."""

    @classmethod
    def of(cls, document: ConfigDocument) -> Validated:
        """All of a valid document."""
        return cls(
            document.sites,
            document.systems,
            tuple(enumerate(document.devices)),
            links=tuple(enumerate(document.links)),
            alerting=document.alerting,
            availability=document.availability,
        )


def check_references(parts: Validated) -> list[Finding]:
    """Every cross-field problem: duplicate site, system and device ids; devices naming an undefined
    site, system or parent; parents (of devices and links) naming neither a device nor a link; link
    names that are device names; parent cycles; collector timeouts not shorter than their interval;
    SNMP credentials that do not fit the SNMP version; exporter settings that do not fit together
    (credentials, TLS certificate and key, relabel actions); duplicate link names; link ends on undefined
    devices, on devices whose interfaces are not read over SNMP, or on an interface another link
    end already uses; in `alerting`, receiver and time interval names defined twice, and receivers
    or time intervals that routes name but nobody defines (`AlertingConfig.problems`); in
    `availability`, systems, devices and links that nothing defines and systems listed twice
    (`AvailabilityConfig.problems`)."""
    return [
        *_duplicates("sites", "id", list(enumerate(site.id for site in parts.sites or ()))),
        *_duplicates("systems", "id", list(enumerate(system.id for system in parts.systems or ()))),
        *_duplicates("devices", "name", [(index, device.name) for index, device in parts.devices]),
        *_undefined(parts, "site", parts.sites),
        *_undefined(parts, "system", parts.systems),
        *_unknown_parents(parts),
        *_link_names_that_are_device_names(parts),
        *_cycles(parts),
        *_timeouts(parts.devices),
        *_snmp_credentials(parts.devices),
        *_exporter_settings(parts.devices),
        *_duplicates("links", "name", [(index, link.name) for index, link in parts.links]),
        *_link_devices(parts),
        *_link_interfaces(parts.links),
        *_alerting(parts.alerting),
        *_availability(parts),
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
    """Parents (of devices and of links) that name neither a device nor a link."""
    names = {device.name for _, device in parts.devices} | {link.name for _, link in parts.links}
    names |= parts.unchecked_names
    for section, index, parents in _parent_lists(parts):
        for position, parent in enumerate(parents):
            if parent not in names:
                yield Finding((section, index, "parents", position), f'"{parent}" is not a defined device or link')


def _link_names_that_are_device_names(parts: Validated) -> Iterator[Finding]:
    """A parent names a device or a link: the two must not share a name."""
    devices = {device.name for _, device in parts.devices}
    for index, link in parts.links:
        if link.name in devices:
            yield Finding(("links", index, "name"), f'"{link.name}" is also a device name (parents name either)')


def _parent_lists(parts: Validated) -> Iterator[tuple[str, int, tuple[str, ...]]]:
    """(section, index, parents) of every device, then every link."""
    for index, device in parts.devices:
        yield "devices", index, device.parents
    for index, link in parts.links:
        yield "links", index, link.parents


def _cycles(parts: Validated) -> Iterator[Finding]:
    """One finding per parent cycle (through devices and links) found, at the cycle's entry that
    comes first in the file (devices before links), the cycle written from it through its parents:
    `cycle web-01 -> sw-01 -> web-01`."""
    place: dict[str, tuple[str, int]] = {}
    parents: dict[str, tuple[str, ...]] = {}
    entries = [("devices", index, device.name, device.parents) for index, device in parts.devices]
    entries += [("links", index, link.name, link.parents) for index, link in parts.links]
    for section, index, name, entry_parents in entries:
        place.setdefault(name, (section, index))
        parents.setdefault(name, entry_parents)
    order = {name: (section == "links", index) for name, (section, index) in place.items()}
    reported: set[frozenset[str]] = set()
    for cycle in _find_cycles(parents):
        if frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        path = [*cycle[start:], *cycle[:start], cycle[start]]
        section, index = place[path[0]]
        yield Finding((section, index, "parents"), f"cycle {' -> '.join(path)}")


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
            margin = collector.timeout_margin
            if collector.timeout >= collector.interval or collector.timeout > collector.interval - margin:
                leave = f" by at least {format_duration(margin)}" if margin else ""
                yield Finding(
                    ("devices", index, "collectors", kind, "timeout"),
                    f"{format_duration(collector.timeout)} must be less than the interval "
                    f"{format_duration(collector.interval)}{leave}",
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


def _exporter_settings(devices: Sequence[tuple[int, DeviceSettings]]) -> Iterator[Finding]:
    """One kind of credentials; a client certificate needs its key (and the key its certificate);
    `replace` needs a `target_label`; `labeldrop` takes only a `regex` (as Prometheus)."""
    for index, device in devices:
        exporter = device.collectors.exporter
        if exporter is None:
            continue
        path = ("devices", index, "collectors", "exporter")
        if exporter.bearer_token is not None and exporter.basic_auth is not None:
            yield Finding((*path, "basic_auth"), "cannot be used together with bearer_token")
        tls = exporter.tls
        if (tls.cert_file is None) != (tls.key_file is None):
            missing, given = ("key_file", "cert_file") if tls.key_file is None else ("cert_file", "key_file")
            yield Finding((*path, "tls", given), f"needs {missing} as well")
        for position, rule in enumerate(exporter.metric_relabel_configs):
            where = (*path, "metric_relabel_configs", position)
            if rule.action == "replace" and rule.target_label is None:
                yield Finding((*where, "target_label"), "is required for action replace", missing=True)
            if rule.action == "labeldrop":
                for field in ("source_labels", "target_label"):
                    if getattr(rule, field):
                        yield Finding((*where, field), "is not used by action labeldrop (only regex is)")


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


def _availability(parts: Validated) -> Iterator[Finding]:
    if parts.availability is None:
        return
    systems = None if parts.systems is None else {system.id for system in parts.systems}
    devices = None if parts.unchecked_names else {device.name for _, device in parts.devices}
    links = {link.name for _, link in parts.links}
    for loc, message in parts.availability.problems(systems, devices, links):
        yield Finding(("availability", *loc), message)


def _alerting(alerting: AlertingConfig | None) -> Iterator[Finding]:
    for loc, message in alerting.problems() if alerting is not None else ():
        yield Finding(("alerting", *loc), message)
