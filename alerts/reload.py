"""What a config reload changes, by section, and which of the changes apply without a restart.

    changed = changed_sections(running, loaded)     # ["devices", "rule_files", ...], in file order
    later = restart_needed(changed)                 # what the running console cannot take live

Sections are the top-level keys of the file (`config.schema.ConfigDocument`'s fields: console,
sites, systems, devices, links, rule_files, alerting, availability, security, and any added
later), compared by their validated values with defaults filled in, so `console: {}` and no
`console:` are the same. `alerting` is split in two: `alerting.maintenance_windows` and `alerting`
for the rest of the section (routes, receivers, inhibit rules, ...); an absent `alerting:` is the
empty one, as `alerts.service.Alerting.open` takes it.

Values are compared with `==`, never serialised: a `model.Secret` compares by its resolved value
(an `env:` or `file:` reference whose value changed is a change) and is never printed; the result
holds section names only. `rule_files` compares the globs as written; the rule files themselves
are read again by every reload and compared by `Alerting.replace_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from alerts.alertconfig import AlertingConfig
from alerts.maintenance import MaintenanceWindow

if TYPE_CHECKING:  # the types only: alerts/ reads config leaf modules, never the loader
    from config import Config
    from config.schema import ConfigDocument

__all__ = ["ALERTING", "LIVE", "MAINTENANCE_WINDOWS", "changed_sections", "restart_needed"]

ALERTING = "alerting"
"""The `alerting:` section but for its maintenance windows."""

MAINTENANCE_WINDOWS = "alerting.maintenance_windows"

LIVE = frozenset({"rule_files", MAINTENANCE_WINDOWS})
"""What a reload applies without a restart: the rule groups (`Alerting.replace_rules`) and the
config's maintenance windows (`Alerting.replace_windows`)."""


def changed_sections(old: Config, new: Config) -> list[str]:
    """The sections whose validated value differs between `old` and `new`, in file order
    (`alerting` before `alerting.maintenance_windows`). Raises ValueError if either config has no
    `document` (it was not made by `config.load`)."""
    before, after = _document(old), _document(new)
    changed: list[str] = []
    for name, spec in type(before).model_fields.items():
        section = spec.alias or name
        if name == ALERTING:
            rest_before, windows_before = _split_alerting(before.alerting)
            rest_after, windows_after = _split_alerting(after.alerting)
            if rest_before != rest_after:
                changed.append(ALERTING)
            if windows_before != windows_after:
                changed.append(MAINTENANCE_WINDOWS)
        elif getattr(before, name) != getattr(after, name):
            changed.append(section)
    return changed


def restart_needed(changed: Iterable[str]) -> list[str]:
    """The sections of `changed` a reload cannot apply (not in LIVE), in the order given."""
    return [section for section in changed if section not in LIVE]


def _document(loaded: Config) -> ConfigDocument:
    if loaded.document is None:
        raise ValueError(f"{loaded.source}: the config has no document to compare (load it with config.load)")
    return loaded.document


def _split_alerting(section: AlertingConfig | None) -> tuple[AlertingConfig, tuple[MaintenanceWindow, ...]]:
    """The section without its maintenance windows, and the windows."""
    whole = section if section is not None else AlertingConfig()
    return whole.model_copy(update={"maintenance_windows": ()}), whole.maintenance_windows
