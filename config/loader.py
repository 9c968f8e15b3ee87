"""Load a config: YAML text -> schema validation -> reference checks -> `Config` (inventory included).

Nothing is half-loaded: either every check passes and a `Config` is returned, or `ConfigError`
is raised with every problem found (YAML syntax problems stop the run, since nothing after them can
be trusted), sorted by line.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

import model
from config.checks import Validated, check_references
from config.lines import LineMap, duplicate_keys
from config.problems import ROOT_PATH, ConfigError, Finding, Problem, findings_from, format_path
from config.scaleout import NodeSettings, QuerySettings, RemoteWriteSettings, ScaleOutParts, check_scaleout
from config.schema import (
    ConfigDocument,
    ConsoleSettings,
    DeviceSettings,
    LinkSettings,
    SecuritySettings,
    ValidationContext,
)

if TYPE_CHECKING:  # alerts/ imports config leaf modules: only the type here (see config.schema._alerting)
    from alerts.alertconfig import AlertingConfig
    from reports.config import AvailabilityConfig

__all__ = ["Config", "load", "load_file", "node_inventory"]


@dataclass(frozen=True, slots=True)
class Config:
    """A valid config. `console.data_dir` and the `console.tls` files are absolute paths;
    `console.metrics_token` is resolved. `source` names where it came from (the path as given to
    `load_file`)."""

    console: ConsoleSettings
    inventory: model.Inventory
    source: str
    rule_files: tuple[str, ...] = ()
    """`rule_files:` as written: shell globs, relative to the directory of the file (`base_dir`)."""
    base_dir: Path = Path()
    """The directory relative paths in the file are relative to (absolute)."""
    alerting: AlertingConfig | None = None
    """The `alerting:` section (routes, receivers, inhibit rules, time intervals), secrets resolved."""
    availability: AvailabilityConfig | None = None
    """The `availability:` section (SLA targets, service hours and service trees per system)."""
    document: ConfigDocument | None = None
    """The whole validated file, defaults filled in (what `security.exports` shows, secrets hidden)."""
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    """The `security:` section (sessions, login lockout, TOTP, cookies); its defaults when absent."""
    remote_write: tuple[RemoteWriteSettings, ...] = ()
    """The `remote_write:` engines, in file order: names unique, secrets resolved."""
    query: QuerySettings = dataclasses.field(default_factory=QuerySettings)
    """The `query:` section; `backend` `embedded` when absent."""
    nodes: tuple[NodeSettings, ...] = ()
    """The `nodes:` section, in file order (empty: every node polls every site); see `node_inventory`."""


def load_file(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> Config:
    """Load the config file at `path` (UTF-8). Relative paths inside it (`data_dir`, `file:`
    secrets) are relative to its directory. Raises ConfigError, also when the file cannot be read."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([Problem(source, None, "<file>", f"cannot read: {reason}")]) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(source, line, "<file>", "cannot read: not valid UTF-8")]) from exc
    return load(text, source=source, base_dir=Path(path).parent, environ=environ)


def load(
    text: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Load config text. `source` names it in problems; `base_dir` (default: the current directory)
    is what relative paths are relative to; `environ` (default: `os.environ`) is where `env:`
    secrets are read. Raises ConfigError listing every problem found."""
    base = Path(os.path.abspath(base_dir if base_dir is not None else Path.cwd()))
    context = ValidationContext(base_dir=base, environ=os.environ if environ is None else environ)
    root, data, findings = _parse(text, source)
    document, parts = _validate(data, context, findings)
    findings.extend(check_references(parts))
    findings.extend(_check_scaleout(document, data, parts, [f.loc for f in findings], context))
    if findings or document is None:
        lines = LineMap(root)
        problems = [Problem(source, lines.line(f), format_path(f.loc), f.message) for f in findings]
        raise ConfigError(sorted(problems, key=lambda problem: problem.line or 0))
    data_dir = Path(os.path.abspath(base / document.console.data_dir))
    console = document.console.model_copy(update={"data_dir": data_dir})
    return Config(
        console=console,
        inventory=_inventory(document),
        source=source,
        rule_files=document.rule_files,
        base_dir=base,
        alerting=document.alerting,
        availability=document.availability,
        security=document.security,
        document=document,
        remote_write=document.remote_write,
        query=document.query,
        nodes=document.nodes,
    )


def node_inventory(config: Config, node_name: str) -> model.Inventory:
    """The inventory the node `node_name` polls: the sites it lists in `nodes:` (in `sites:` order),
    their devices, and the links whose `a` end is on one of those devices (a link belongs to the
    node of its a end; the b end's interface is still polled, and labelled with the link, by the
    node of its device). Systems are all kept. Parents on other nodes' sites stay as written.
    Without `nodes:` every node polls everything: the whole inventory. Raises ValueError, naming
    the known nodes, when `nodes:` does not name `node_name`."""
    inventory = config.inventory
    if not config.nodes:
        return inventory
    node = next((node for node in config.nodes if node.name == node_name), None)
    if node is None:
        known = ", ".join(node.name for node in config.nodes)
        raise ValueError(f'"{node_name}" is not a node of {config.source} (known: {known})')
    devices = tuple(device for device in inventory.devices if device.site in node.sites)
    names = {device.name for device in devices}
    return dataclasses.replace(
        inventory,
        sites=tuple(site for site in inventory.sites if site.id in node.sites),
        devices=devices,
        links=tuple(link for link in inventory.links if link.a.device in names),
    )


def _check_scaleout(
    document: ConfigDocument | None,
    data: object,
    parts: Validated,
    failed: list[tuple[str | int, ...]],
    context: ValidationContext,
) -> list[Finding]:
    """The cross-field problems of `remote_write`, `query` and `nodes` (`config.scaleout`), in the
    valid parts of the file when it has schema problems (`failed`)."""
    if document is not None:
        scaleout = ScaleOutParts.of(document.remote_write, document.query, document.nodes)
    elif isinstance(data, dict):
        scaleout = ScaleOutParts.valid(data, failed, context)
    else:
        return []
    sites = None if parts.sites is None else [site.id for site in parts.sites]
    return check_scaleout(scaleout, sites, [device.site for _, device in parts.devices])


def _parse(text: str, source: str) -> tuple[yaml.Node, object, list[Finding]]:
    """The composed document (for line numbers), the data loaded from it (YAML 1.1, safe) and its
    duplicate keys, found before loading expands merge keys (`<<`) into the nodes."""
    try:
        loader = yaml.SafeLoader(text)  # reads the whole text now: unprintable characters fail here
        try:
            root = loader.get_single_node()
            duplicates = [] if root is None else duplicate_keys(root)
            data = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text, source)]) from exc
    if root is None or data is None:
        raise ConfigError([Problem(source, None, ROOT_PATH, "is empty")])
    return root, data, duplicates


def _yaml_problem(exc: yaml.YAMLError, text: str, source: str) -> Problem:
    """The parser's own words for what is wrong, at the line where it found it."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        return Problem(source, line, "<yaml>", exc.problem or exc.context or "invalid YAML")
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Problem(source, line, "<yaml>", f"unacceptable character #x{exc.character:04x}: {exc.reason}")
    return Problem(source, None, "<yaml>", str(exc))


def _validate(
    data: object, context: ValidationContext, findings: list[Finding]
) -> tuple[ConfigDocument | None, Validated]:
    """The document if it is valid, and the parts of it that are; schema findings go to `findings`."""
    try:
        document = ConfigDocument.model_validate(data, context=context)
    except ValidationError as exc:
        schema_findings = findings_from(exc)
        findings.extend(schema_findings)
        return None, _valid_parts(data, [f.loc for f in schema_findings], context)
    return document, Validated.of(document)


def _valid_parts(data: object, failed: list[tuple[str | int, ...]], context: ValidationContext) -> Validated:
    """Re-validate, on their own, the sections and devices no schema finding points into."""
    if not isinstance(data, dict):
        return Validated(sites=None, systems=None, devices=())

    def clean(*prefix: str | int) -> bool:
        return not any(loc[: len(prefix)] == prefix for loc in failed)

    sections = {
        key: data[key] for key in ("sites", "systems", "alerting", "availability") if key in data and clean(key)
    }
    valid = ConfigDocument.model_validate({**sections, "devices": []}, context=context)
    devices: list[tuple[int, DeviceSettings]] = []
    unchecked: set[str] = set()
    raw_devices = data.get("devices")
    for index, raw in enumerate(raw_devices if isinstance(raw_devices, list) else []):
        if clean("devices", index):
            devices.append((index, DeviceSettings.model_validate(raw, context=context)))
        elif isinstance(raw, dict) and isinstance(raw.get("name"), str):
            unchecked.add(raw["name"])
    raw_links = data.get("links")
    links = tuple(
        (index, LinkSettings.model_validate(raw, context=context))
        for index, raw in enumerate(raw_links if isinstance(raw_links, list) else [])
        if clean("links", index)
    )
    return Validated(
        sites=valid.sites if clean("sites") else None,
        systems=valid.systems if clean("systems") else None,
        devices=tuple(devices),
        unchecked_names=frozenset(unchecked),
        links=links,
        alerting=valid.alerting if clean("alerting") else None,
        availability=valid.availability if clean("availability") else None,
    )


def _inventory(document: ConfigDocument) -> model.Inventory:
    linked = model.Inventory(links=tuple(link.link() for link in document.links))
    return dataclasses.replace(
        linked,
        sites=tuple(model.Site(id=site.id, name=site.name) for site in document.sites),
        systems=tuple(model.System(id=system.id, name=system.name) for system in document.systems),
        devices=tuple(_device(device, linked.link_ends(device.name)) for device in document.devices),
    )


def _device(device: DeviceSettings, link_ends: tuple[tuple[str, model.Link], ...]) -> model.Device:
    """The inventory's device; its SNMP collector gets the device's link ends."""
    specs = [settings.spec() for _, settings in device.collectors.entries()]
    interfaces = tuple((interface, link.name, link.bandwidth_bps) for interface, link in link_ends)
    return model.Device(
        name=device.name,
        site=device.site,
        system=device.system,
        role=device.role,
        address=device.address,
        parents=device.parents,
        labels=model.Labels(device.labels),
        collectors=tuple(
            dataclasses.replace(spec, links=interfaces) if isinstance(spec, model.SnmpCollectorSpec) else spec
            for spec in specs
        ),
    )
