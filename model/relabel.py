"""Metric relabelling rules: the subset of Prometheus `metric_relabel_configs` the console applies.

A rule is data only; `collectors/relabel.py` applies it. `regex` is compiled at config load and
always matched against the whole value (`fullmatch`, as Prometheus anchors it with `^(?:...)$`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

__all__ = ["DEFAULT_RELABEL_REGEX", "RelabelAction", "RelabelRule"]

DEFAULT_RELABEL_REGEX = "(.*)"


class RelabelAction(enum.StrEnum):
    """What a rule does (Prometheus names)."""

    REPLACE = "replace"
    """Set `target_label` to `replacement` (`$1`, `${name}` expanded) when `regex` matches."""
    KEEP = "keep"
    """Drop the sample unless `regex` matches the joined `source_labels` values."""
    DROP = "drop"
    """Drop the sample when `regex` matches the joined `source_labels` values."""
    LABELDROP = "labeldrop"
    """Remove every label whose name matches `regex`."""


@dataclass(frozen=True, slots=True)
class RelabelRule:
    """One rule. The values of `source_labels` (`__name__` is the metric name; a missing label is
    the empty string) are joined with `separator` before matching."""

    action: RelabelAction = RelabelAction.REPLACE
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_RELABEL_REGEX, re.DOTALL))
    target_label: str = ""
    replacement: str = "$1"
